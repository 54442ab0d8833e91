/**
 * The benchmark's private network namespace and every process started in it: one
 * registry of children, one idempotent teardown (kill the children, delete the
 * namespace) run on normal exit, on error, on SIGINT/SIGTERM/SIGHUP and by the
 * deadline. Nothing here touches the host's own namespace settings: every sysctl is
 * written through `ip netns exec` inside the benchmark's namespace.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fmt } from './stats.js';

export const NS = `npa-bench-${process.pid}-${randomBytes(3).toString('hex')}`;

const t0 = Date.now();
export function log(msg: string): void {
  console.log(`[${fmt((Date.now() - t0) / 1000)}s] ${msg}`);
}
export function elapsedSeconds(): number {
  return (Date.now() - t0) / 1000;
}

const children = new Set<ChildProcess>();
let nsCreated = false;
let cleaned = false;

export function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

/** Synchronous and idempotent: safe from 'exit' and signal handlers. */
export function cleanupSync(): void {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    if (alive(c) && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  if (nsCreated) {
    const r = spawnSync('ip', ['netns', 'del', NS], { encoding: 'utf8' });
    if (r.status === 0) console.log(`[teardown] network namespace ${NS} deleted`);
    else console.error(`[teardown] could not delete network namespace ${NS}: ${r.stderr}`);
    nsCreated = false;
  }
}

/** Installs the teardown on exit and on signals, and a deadline for the whole run. */
export function installTeardown(deadlineSeconds: number): void {
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\n[teardown] ${sig}: stopping children and deleting ${NS}`);
      cleanupSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  setTimeout(() => {
    console.error(`\n[teardown] the run passed its deadline of ${deadlineSeconds} s (BENCH_DEADLINE_SECONDS): stopping`);
    cleanupSync();
    process.exit(1);
  }, deadlineSeconds * 1000).unref();
}

export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal ?? '?'}: ${r.stderr.trim()}`);
  return r.stdout;
}

export function inNs(args: string[]): string[] {
  return ['netns', 'exec', NS, ...args];
}

export function createNamespace(): void {
  run('ip', ['netns', 'add', NS]);
  nsCreated = true;
  run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
}

export function sysctlInNs(name: string, value?: string): string {
  if (value !== undefined) run('ip', inNs(['sysctl', '-q', '-w', `${name}=${value}`]));
  return run('ip', inNs(['sysctl', '-n', name])).trim();
}

/** Starts `argv` inside the namespace (`ip netns exec` execs it: the pid is the program's) and registers it for teardown. */
export function spawnInNs(argv: string[], options: SpawnOptions): ChildProcess {
  const child = spawn('ip', inNs(argv), options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function waitExit(c: ChildProcess, ms: number): Promise<boolean> {
  if (!alive(c)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, ms);
    c.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface LineMsg {
  index: number;
  type: string;
  [k: string]: unknown;
}

/** A child in the namespace that takes JSON-line commands on stdin and answers JSON lines on stdout. */
export class LineChild {
  private readonly inbox: LineMsg[] = [];
  private waiter: (() => void) | null = null;
  readonly child: ChildProcess;

  constructor(
    readonly name: string,
    script: string,
    config: Record<string, unknown>,
  ) {
    this.child = spawnInNs([process.execPath, script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.inbox.push(JSON.parse(line) as LineMsg);
      } catch {
        this.inbox.push({ index: -1, type: 'error', error: `unparsable line: ${line}` });
      }
      this.waiter?.();
    });
    this.child.on('exit', (code, signal) => {
      this.inbox.push({ index: -1, type: 'exit', code, signal });
      this.waiter?.();
    });
  }

  async next(type: string, timeoutMs: number): Promise<LineMsg> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type || m.type === 'error' || m.type === 'exit');
      if (i >= 0) {
        const m = this.inbox.splice(i, 1)[0]!;
        if (m.type !== type) throw new Error(`${this.name}: ${JSON.stringify(m)}`);
        return m;
      }
      const left = until - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no '${type}' after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  async stop(): Promise<void> {
    if (!alive(this.child)) return;
    this.send({ cmd: 'exit' });
    this.child.stdin!.end();
    if (!(await waitExit(this.child, 10_000)) && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }
}
