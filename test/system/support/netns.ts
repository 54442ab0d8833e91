/**
 * A private network namespace for one real-system test case: its own port range,
 * reserved ports, tcp_tw_reuse and socket tables, so the kernel can be asked how
 * many connect() calls it accepts without touching the host's namespace.
 *
 * Every namespace and helper process is tracked; `destroy()` (call it from
 * afterEach/afterAll) kills the helpers and deletes the namespace even when the
 * test failed half-way, and `destroyAll()` sweeps whatever a crashed case left.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const HELPERS_DIR = fileURLToPath(new URL('../helpers/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const AGENT_MAIN = `${REPO_ROOT}dist/agent/main.js`;

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

let counter = 0;
const live = new Set<Netns>();

/** A long-lived process inside the namespace that talks in JSON lines on stdout. */
export class Helper {
  private readonly lines: string[] = [];
  private readonly waiters: ((line: string | null) => void)[] = [];
  private ended = false;
  private stderrText = '';
  readonly exited: Promise<number | null>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const w = this.waiters.shift();
      if (w !== undefined) w(line);
      else this.lines.push(line);
    });
    rl.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderrText += d.toString();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => { resolve(code); }));
  }

  /** The next JSON line it prints; rejects if it exits first or prints {"event":"error"}. */
  async next<T = Record<string, unknown>>(timeoutMs = 30_000): Promise<T> {
    const line = this.lines.shift() ?? (this.ended ? null : await this.waitLine(timeoutMs));
    if (line === null) throw new Error(`${this.name} ended without output; stderr: ${this.stderrText}`);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed['event'] === 'error') throw new Error(`${this.name}: ${String(parsed['message'])}; stderr: ${this.stderrText}`);
    return parsed as T;
  }

  /** Reads lines until one has this `event`. */
  async until<T = Record<string, unknown>>(event: string, timeoutMs = 30_000): Promise<T> {
    for (;;) {
      const msg = await this.next(timeoutMs);
      if (msg['event'] === event) return msg as T;
    }
  }

  /** Sends one JSON command line and returns the reply line. */
  async command<T = Record<string, unknown>>(cmd: unknown, timeoutMs = 30_000): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return this.next<T>(timeoutMs);
  }

  private waitLine(timeoutMs: number): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`${this.name}: no output within ${timeoutMs} ms; stderr: ${this.stderrText}`));
      }, timeoutMs);
      const done = (line: string | null): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(done);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

export class Netns {
  private readonly helpers: Helper[] = [];
  private destroyed = false;

  private constructor(readonly name: string) {}

  /** A fresh namespace named npa-t-<pid>-<n> with lo up. */
  static async create(): Promise<Netns> {
    const ns = new Netns(`npa-t-${process.pid}-${++counter}`);
    await execFileP('ip', ['netns', 'add', ns.name]);
    live.add(ns);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace; resolves with its output and exit code, whatever the code. */
  exec(cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      execFile(
        'ip',
        ['netns', 'exec', this.name, cmd, ...args],
        { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, cwd: REPO_ROOT },
        (err, stdout, stderr) => {
          if (err !== null && typeof err.code !== 'number') {
            reject(new Error(`${cmd} ${args.join(' ')} in ${this.name}: ${err.message}; stderr: ${stderr}`));
            return;
          }
          resolve({ stdout, stderr, code: err === null ? 0 : (err.code as number) });
        },
      );
    });
  }

  /** Like exec, but a non-zero exit code is an error. */
  async run(cmd: string, args: readonly string[]): Promise<string> {
    const r = await this.exec(cmd, args);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${this.name} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** `sysctl -w key=value` inside the namespace, then reads it back to be sure it took. */
  async sysctl(key: string, value: string): Promise<void> {
    await this.run('sysctl', ['-q', '-w', `${key}=${value}`]);
    const now = (await this.run('sysctl', ['-n', key])).trim().replace(/\s+/g, ' ');
    if (now !== value.replace(/\s+/g, ' ')) throw new Error(`sysctl ${key}: wrote "${value}", reads "${now}"`);
  }

  async readSysctl(key: string): Promise<string> {
    return (await this.run('sysctl', ['-n', key])).trim();
  }

  /** Starts `node <helpers>/<script> <spec>` inside the namespace with the running Node binary. */
  spawnHelper(script: string, spec: unknown): Helper {
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, `${HELPERS_DIR}${script}`, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: REPO_ROOT,
    });
    const helper = new Helper(`${script} in ${this.name}`, child);
    this.helpers.push(helper);
    return helper;
  }

  /** Runs a one-shot helper (e.g. the probe) and parses the JSON line it prints. */
  async runHelper<T>(script: string, spec: unknown): Promise<T> {
    const r = await this.exec(process.execPath, [`${HELPERS_DIR}${script}`, JSON.stringify(spec)]);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0) throw new Error(`${script} ${JSON.stringify(spec)} in ${this.name} exited ${r.code}: ${line} ${r.stderr}`);
    return JSON.parse(line) as T;
  }

  /** Counts sockets by `ss` state filter and destination, the kernel's own view. */
  async countSockets(state: 'time-wait' | 'established' | 'fin-wait-2', dst: string): Promise<number> {
    const out = await this.run('ss', ['-Htan', 'state', state, 'dst', dst]);
    return out.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** Polls `ss` until exactly `count` sockets to `dst` are in `state` (e.g. a delayed ACK still on its way). */
  async waitForSockets(state: 'time-wait' | 'established' | 'fin-wait-2', dst: string, count: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = await this.countSockets(state, dst);
    while (seen !== count) {
      if (Date.now() > deadline) throw new Error(`${this.name}: ${seen} sockets in ${state} to ${dst}, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = await this.countSockets(state, dst);
    }
  }

  /** Kills the helpers and deletes the namespace. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.helpers.map((h) => h.stop()));
    try {
      await execFileP('ip', ['netns', 'del', this.name]);
    } finally {
      live.delete(this);
    }
  }
}

/**
 * Deletes npa-t-<pid>-<n> namespaces left by a test process that no longer runs
 * (killed before its afterAll). Namespaces of live processes are left alone.
 */
export async function sweepStale(): Promise<string[]> {
  const { stdout } = await execFileP('ip', ['netns', 'list']);
  const swept: string[] = [];
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^npa-t-(\d+)-\d+$/.exec(name);
    if (m === null) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // its process is alive: not ours to delete
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    await execFileP('ip', ['netns', 'del', name]);
    swept.push(name);
  }
  return swept;
}

/** Destroys every namespace this process created and has not destroyed yet. */
export async function destroyAll(): Promise<void> {
  await Promise.all([...live].map((ns) => ns.destroy()));
}
