/**
 * A three-host nginx set-up in private network namespaces, for tests that put a
 * real nginx under real load and ask the agent what is wrong:
 *
 *     client ns                nginx ns                          upstream ns
 *   wrk ── 10.77.1.2 ═veth═ 10.77.1.1:8080  nginx  10.77.2.1 ═veth═ 10.77.2.2:9000 (+ 10.77.2.3)
 *                                          agent diagnose
 *
 * Three namespaces, not one, so the nginx namespace holds exactly what an nginx
 * host holds: wrk's own client sockets live in the client namespace (they would
 * otherwise take ports from the same range), and the upstream's side of every
 * connection lives in the upstream namespace, so a TIME_WAIT socket shows up on
 * the nginx host only when nginx closed first, as between real hosts. The
 * upstream addresses are not loopback, so `tcp_tw_reuse=2` (the default) does
 * not apply to them (tcp_twsk_unique() in net/ipv4/tcp_ipv4.c reuses only when
 * an address is loopback) and TIME_WAIT blocks for its full 60 s.
 *
 * The lab runs one nginx binary for the proxy under test and the fast upstream
 * (`nginxBin`, by default Debian 12's; test/support/nginxVersions.ts lists the
 * others), and gives the same one to `agent diagnose --nginx-bin`.
 *
 * Every process is started through `ip netns exec` (which execs the command, so
 * the child's pid is the command's) and tracked; `destroy()` kills them, kills
 * anything else left in the namespaces by pid, deletes the namespaces and, unless
 * told to keep them, the logs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Report } from '../../../agent/diagnosis/report.js';
import { AGENT_MAIN, HELPERS_DIR, Netns, type Helper } from './netns.js';

const execFileP = promisify(execFile);

/** Debian 12's nginx, the lab's unless told otherwise. */
export const NGINX_BIN = '/usr/sbin/nginx';

/** The addresses of the set-up (see the picture above). */
export const ADDR = {
  client: '10.77.1.2',
  front: '10.77.1.1',
  /** nginx's source address towards the upstreams (the route's preferred source on its upstream link). */
  nginxSource: '10.77.2.1',
  upstream: '10.77.2.2',
  /** A second address of the upstream host, for a second `server` line. */
  upstream2: '10.77.2.3',
} as const;
export const FRONT_PORT = 8080;
export const UPSTREAM_PORT = 9000;
export const FRONT_URL = `http://${ADDR.front}:${FRONT_PORT}/`;

/** What `wrk` printed when it stopped. */
export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Responses other than 2xx/3xx (nginx's 502 when connect() fails). */
  non2xx: number;
  output: string;
}

export interface Diagnosis {
  code: number | null;
  report: Report;
  stdout: string;
  stderr: string;
  /** When the agent was started, ms since the epoch. */
  atMs: number;
}

/** A `wrk` run in the client namespace; `stop()` sends SIGINT, after which wrk prints its summary. */
export class Wrk {
  private out = '';
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess, readonly startedAtMs: number) {
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => { resolve(code); }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops wrk (it catches SIGINT and prints what it did so far) and parses its summary. */
  async stop(): Promise<WrkResult> {
    if (this.running) this.child.kill('SIGINT');
    return this.finished(10_000);
  }

  /** Waits for wrk to end by itself (its -d elapsed) and parses its summary; kills it after `timeoutMs`. */
  async finished(timeoutMs: number): Promise<WrkResult> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    const m = /(\d+) requests in ([\d.]+)(ms|s|m|h),/.exec(this.out);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(this.out);
    if (code !== 0 || m === null || rps === null) throw new Error(`wrk exited ${code} without a summary: ${this.out}`);
    return {
      requests: Number(m[1]),
      seconds: Number(m[2]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[3]!]!,
      requestsPerSecond: Number(rps[1]),
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(this.out)?.[1] ?? 0),
      output: this.out,
    };
  }
}

export interface NginxLabOptions {
  /** A name for the temp dir (the scenario). */
  name: string;
  /** net.ipv4.ip_local_port_range in the nginx namespace, e.g. "40000 40999". */
  portRange: string;
  /** The nginx executable (called like nginx: -p, -c, -t, -s reload); default NGINX_BIN. */
  nginxBin?: string;
}

export class NginxLab {
  /** nginx.conf of the proxy under test (rewritten in place for a reload: `nginx -s reload` re-reads the master's own -c file). */
  readonly conf: string;
  readonly errorLog: string;
  /** Set when the test failed: destroy() keeps the logs and prints where they are. */
  keepLogs = false;
  private readonly children = new Set<ChildProcess>();
  private readonly helpers: Helper[] = [];
  private nginx: ChildProcess | undefined;
  private nginxStderr = '';
  private upstreamNginx: ChildProcess | undefined;
  private diagnoses = 0;

  private constructor(
    readonly nginxNs: Netns,
    readonly clientNs: Netns,
    readonly upstreamNs: Netns,
    readonly dir: string,
    readonly nginxBin: string,
  ) {
    this.conf = join(dir, 'nginx.conf');
    this.errorLog = join(dir, 'error.log');
  }

  static async create(opts: NginxLabOptions): Promise<NginxLab> {
    const dir = mkdtempSync(join(tmpdir(), `npa-hints-${opts.name}-`));
    // nginx workers run as nobody and open the temp paths below this directory.
    chmodSync(dir, 0o755);
    for (const sub of ['front', 'upstream', 'front/tmp', 'upstream/tmp']) mkdirSync(join(dir, sub));
    const made: Netns[] = [];
    try {
      for (let i = 0; i < 3; i++) made.push(await Netns.create());
      const [n, c, u] = made as [Netns, Netns, Netns];
      // veth pairs created straight inside the namespaces: no interface ever appears in the host's namespace.
      await execFileP('ip', ['link', 'add', 'cli0', 'netns', n.name, 'type', 'veth', 'peer', 'name', 'cli1', 'netns', c.name]);
      await execFileP('ip', ['link', 'add', 'up0', 'netns', n.name, 'type', 'veth', 'peer', 'name', 'up1', 'netns', u.name]);
      await n.run('ip', ['addr', 'add', `${ADDR.front}/24`, 'dev', 'cli0']);
      await c.run('ip', ['addr', 'add', `${ADDR.client}/24`, 'dev', 'cli1']);
      await n.run('ip', ['addr', 'add', `${ADDR.nginxSource}/24`, 'dev', 'up0']);
      await u.run('ip', ['addr', 'add', `${ADDR.upstream}/24`, 'dev', 'up1']);
      await u.run('ip', ['addr', 'add', `${ADDR.upstream2}/24`, 'dev', 'up1']);
      for (const [ns, dev] of [[n, 'cli0'], [n, 'up0'], [c, 'cli1'], [u, 'up1']] as const) await ns.run('ip', ['link', 'set', dev, 'up']);
      await n.sysctl('net.ipv4.ip_local_port_range', opts.portRange);
      // The kernel default, set explicitly: it must not apply to these non-loopback destinations.
      await n.sysctl('net.ipv4.tcp_tw_reuse', '2');
      await n.sysctl('net.ipv4.tcp_timestamps', '1');
      return new NginxLab(n, c, u, dir, opts.nginxBin ?? NGINX_BIN);
    } catch (err) {
      await Promise.allSettled(made.map((ns) => ns.destroy()));
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private spawnIn(ns: Netns, cmd: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** The upstream for fast responses: a second nginx, in the upstream namespace, answering 200 "ok". */
  async startFastUpstream(): Promise<void> {
    const d = join(this.dir, 'upstream');
    const conf = join(d, 'nginx.conf');
    writeFileSync(
      conf,
      `# the upstream host: answers every request at once
daemon off;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${tempPaths(d)}
  # Never the first to close a connection nginx keeps alive: nginx's own
  # keepalive_requests and keepalive_timeout decide, as the tests intend.
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen ${ADDR.upstream}:${UPSTREAM_PORT} backlog=4096;
    location / { return 200 "ok\\n"; }
  }
}
`,
    );
    const child = this.spawnIn(this.upstreamNs, this.nginxBin, ['-p', `${d}/`, '-c', conf]);
    this.upstreamNginx = child;
    await this.waitNginx(child, join(d, 'nginx.pid'), () => '');
  }

  /** The slow upstream (helpers/slow-upstream.mjs, which explains the modes) on both upstream addresses. */
  async startSlowUpstream(holdMs: number, mode: 'keepalive' | 'close'): Promise<Helper> {
    const h = this.upstreamNs.spawnHelper('slow-upstream.mjs', {
      listen: [ADDR.upstream, ADDR.upstream2].map((address) => ({ address, port: UPSTREAM_PORT })),
      holdMs,
      mode,
    });
    this.helpers.push(h);
    await h.until('ready', 15_000);
    return h;
  }

  /** Writes nginx.conf and starts nginx (master + workers, `daemon off`) in the nginx namespace. */
  async startNginx(confText: string): Promise<void> {
    writeFileSync(this.conf, confText);
    const child = this.spawnIn(this.nginxNs, this.nginxBin, ['-p', `${this.dir}/front/`, '-c', this.conf]);
    this.nginx = child;
    child.stderr!.on('data', (d: Buffer) => (this.nginxStderr += d.toString()));
    await this.waitNginx(child, this.pidFile, () => this.nginxStderr);
  }

  get pidFile(): string {
    return join(this.dir, 'front', 'nginx.pid');
  }

  /** The http {} temp paths, inside the lab's directory (the default prefix may not be writable). */
  frontTempPaths(): string {
    return tempPaths(join(this.dir, 'front'));
  }

  private async waitNginx(child: ChildProcess, pidFile: string, stderr: () => string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(existsSync(pidFile) && workersOf(Number(readFileSync(pidFile, 'utf8'))).length > 0)) {
      if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr()}`);
      if (Date.now() > deadline) throw new Error(`nginx did not start within 10 s: ${stderr()}`);
      await sleep(50);
    }
  }

  /**
   * Writes the new nginx.conf in place, checks it (`nginx -t`), reloads, and waits
   * until the master has started workers with the new configuration. Returns when
   * the reload was signalled, ms since the epoch.
   */
  async reload(confText: string): Promise<number> {
    const master = Number(readFileSync(this.pidFile, 'utf8'));
    const before = new Set(workersOf(master));
    writeFileSync(this.conf, confText);
    const t = await this.nginxNs.exec(this.nginxBin, ['-t', '-q', '-p', `${this.dir}/front/`, '-c', this.conf]);
    if (t.code !== 0) throw new Error(`nginx -t rejected the fixed configuration: ${t.stderr}\n${confText}`);
    const at = Date.now();
    await this.nginxNs.run(this.nginxBin, ['-s', 'reload', '-p', `${this.dir}/front/`, '-c', this.conf]);
    const deadline = Date.now() + 10_000;
    while (!workersOf(master).some((p) => !before.has(p))) {
      if (Date.now() > deadline) throw new Error(`nginx started no new workers within 10 s of the reload: ${this.nginxStderr}`);
      await sleep(20);
    }
    return at;
  }

  /**
   * Starts wrk in the client namespace against nginx; it runs until stop() or
   * `maxSeconds`. `backoff`: pause after an error answer (helpers/backoff.lua)
   * instead of retrying at once.
   */
  wrk(opts: { connections: number; threads?: number; maxSeconds: number; timeoutSeconds?: number; backoff?: boolean }): Wrk {
    const child = this.spawnIn(this.clientNs, 'wrk', [
      ...(opts.backoff === true ? ['-s', `${HELPERS_DIR}backoff.lua`] : []),
      `-t${opts.threads ?? 1}`,
      `-c${opts.connections}`,
      `-d${opts.maxSeconds}s`,
      '--timeout',
      `${opts.timeoutSeconds ?? 5}s`,
      FRONT_URL,
    ]);
    return new Wrk(child, Date.now());
  }

  /**
   * `agent diagnose --json` inside the nginx namespace, as an operator runs it
   * there, with nginx's config, binary and error log. Its output is kept in the
   * lab's directory.
   */
  async diagnose(extra: readonly string[] = []): Promise<Diagnosis> {
    const atMs = Date.now();
    const args = [
      AGENT_MAIN,
      'diagnose',
      '--json',
      '--proc-root', '/proc',
      '--nginx-conf', this.conf,
      '--nginx-bin', this.nginxBin,
      '--error-log', this.errorLog,
      '--since', '5m',
      '--report-top', '1000',
      ...extra,
    ];
    const r = await this.nginxNs.exec(process.execPath, args, { timeoutMs: 30_000 });
    const n = ++this.diagnoses;
    writeFileSync(join(this.dir, `diagnose-${String(n).padStart(3, '0')}.json`), r.stdout);
    if (r.stderr !== '') writeFileSync(join(this.dir, `diagnose-${String(n).padStart(3, '0')}.stderr`), r.stderr);
    let report: Report;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      throw new Error(`agent diagnose exited ${r.code} without a JSON report: ${r.stderr}`);
    }
    return { code: r.code, report, stdout: r.stdout, stderr: r.stderr, atMs };
  }

  /** Sets net.ipv4.ip_local_port_range in the nginx namespace (connect() uses the new range from the next call on). */
  async setPortRange(range: string): Promise<void> {
    await this.nginxNs.sysctl('net.ipv4.ip_local_port_range', range);
  }

  /**
   * Sockets in the nginx namespace to `dst` in `state` whose local port lies in
   * the current ip_local_port_range (the ones that take ports from it), counted by
   * `ss`: the kernel's own view.
   */
  async sockets(state: 'time-wait' | 'established', dst: string): Promise<number> {
    const [low, high] = (await this.nginxNs.readSysctl('net.ipv4.ip_local_port_range')).split(/\s+/);
    const out = await this.nginxNs.run('ss', ['-Htan', 'state', state, `dst ${dst} and sport >= :${low} and sport <= :${high}`]);
    return out.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** Kills everything the lab started, deletes its namespaces, and its files unless keepLogs. Each step runs even if one before failed. */
  async destroy(): Promise<void> {
    const problems: unknown[] = [];
    const attempt = async (fn: () => Promise<void> | void): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        problems.push(err);
      }
    };
    // wrk and other short-lived children first, then the upstreams, then nginx (SIGQUIT: graceful; workers go with the master).
    for (const c of [...this.children]) if (c !== this.nginx && c !== this.upstreamNginx) await attempt(() => stopChild(c, 'SIGKILL'));
    for (const h of this.helpers) await attempt(() => h.stop());
    for (const c of [this.upstreamNginx, this.nginx]) if (c !== undefined) await attempt(() => stopChild(c, 'SIGQUIT'));
    for (const ns of [this.clientNs, this.nginxNs, this.upstreamNs]) {
      // Anything left inside a namespace (say, nginx workers of a killed master) was started here: kill it by pid.
      await attempt(async () => {
        const { stdout } = await execFileP('ip', ['netns', 'pids', ns.name]);
        for (const pid of stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      });
      await attempt(() => ns.destroy());
    }
    if (this.keepLogs) console.info(`[nginx-hints] logs, configs and agent reports kept in ${this.dir}`);
    else await attempt(() => { rmSync(this.dir, { recursive: true, force: true }); });
    if (problems.length > 0) throw new AggregateError(problems, 'lab clean-up failed');
  }
}

function tempPaths(prefix: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `${n}_temp_path ${prefix}/tmp/${n};`).join('\n  ');
}

/** The worker pids of an nginx master (its children), from procfs. */
function workersOf(master: number): number[] {
  try {
    return readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

