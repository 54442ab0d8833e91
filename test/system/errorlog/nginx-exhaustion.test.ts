/**
 * The error-log pipeline end to end, against a real nginx running out of ports.
 *
 * Each case gets a private network namespace with a 100-port ephemeral range and
 * tcp_tw_reuse=0 (as in the captured incident, test/fixtures/real-tw-exhaustion):
 * nginx on 127.0.0.1:8080 proxies to 127.0.0.2:9000 (a second server block of the
 * same nginx) with HTTP/1.1 and no upstream keepalive, so nginx closes every
 * upstream connection itself and each one leaves a client-side TIME_WAIT socket
 * for 60 s. Under `wrk -c20` the 100 ports are gone within milliseconds and
 * nearly every request fails with `connect() to 127.0.0.2:9000 failed (99: Cannot
 * assign requested address)`: tens of thousands of lines per second.
 *
 * The agent daemon runs inside the namespace with `--error-log <dir>/error.log
 * --error-log-backfill` (it starts after nginx, so it reads the log from its
 * start); rotated copies are never named, the tailer follows rotation itself. While
 * wrk runs the test rotates the log by rename + `nginx -s reopen` and by
 * copytruncate (cp + truncate -s 0), then stops the load, waits for the agent's
 * line counter to stand still, and compares the agent's eaddrnotavail count with
 * `grep -c` over error.log and every rotated copy.
 *
 * A second `error_log` directive writes every entry to reference.log as well
 * (ngx_log_error_core writes the same buffer to each log in the chain), and that
 * file is never rotated: its count is what nginx really wrote. It matters for
 * copytruncate, which loses lines in two ways:
 *   - the tailer's loss: lines appended after the tailer's last read and before
 *     the truncate went into the copy, whose name the tailer does not know
 *     (documented in agent/errorlog/model/rotation.ts, COPYTRUNCATE LOSS WINDOW);
 *   - the copy's loss: lines appended between the end of `cp` and the truncate are
 *     in NO file, so grep over all files misses them too. The agent may well have
 *     read them (it reads within milliseconds of a write), so `agent ≤ grep` can
 *     be off by these lines without any duplicate. The exact no-duplicates check
 *     is `agent ≤ reference`; `agent ≤ grep + (reference − grep)` says the same.
 *
 * Expected, per case:
 *   - renames only, under load: agent = grep = reference, exactly;
 *   - copytruncate (and renames) under load: agent ≤ reference, and
 *     agent ≥ grep − bound, where the bound follows from the read cadence: a
 *     stat-based pass reads every file to its end at least every
 *     RECONCILE_INTERVAL_MS (the watcher only makes passes come sooner), so what
 *     one truncate can take is at most the lines nginx wrote in one interval plus
 *     a pass's own duration (PASS_SLACK_MS), at the peak rate seen in
 *     reference.log, per truncate under load;
 *   - a copytruncate while the load is paused and the agent has caught up:
 *     nothing unread to lose, agent = grep = reference, exactly.
 * And in every case: the rotation counters match what was done, every
 * eaddrnotavail event is labelled destination="127.0.0.2:9000", the source is up.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachNginx } from '../../support/nginxVersions.js';
import { AGENT_MAIN, destroyAll, Netns, sweepStale, type Helper } from '../support/netns.js';

const execFileP = promisify(execFile);

const RANGE = '40000 40099';
const UPSTREAM = '127.0.0.2:9000';
const FRONT = '127.0.0.1:8080';
const AGENT_LISTEN = '127.0.0.1:9842';
const EADDRNOTAVAIL_TEXT = '(99: Cannot assign requested address)';
/** What agent/errorlog/pipeline.ts gives the tailer: the longest a pass can be away. */
const RECONCILE_INTERVAL_MS = 500;
/** A pass's own duration on top of the interval (it reads a few MB per pass here). */
const PASS_SLACK_MS = 250;
/** The agent's line counter unchanged this long (three timer passes) means it has read everything. */
const SETTLE_QUIET_MS = 1500;
const MIN_EVENTS = 2000;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (no HELP/TYPE). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

class Metrics {
  constructor(readonly samples: Sample[]) {}

  sum(name: string, match: Record<string, string> = {}): number {
    return this.of(name, match).reduce((a, s) => a + s.value, 0);
  }

  of(name: string, match: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  }
}

/** What a case owns from its first step on, so the clean-up works from any point of the set-up. */
interface Owned {
  ns: Netns;
  dir: string;
  /** Every process started in the namespace (nginx master, agent, wrk). */
  children: Set<ChildProcess>;
  nginx?: ChildProcess;
  agent?: ChildProcess;
}

interface Scene extends Owned {
  conf: string;
  log: string;
  reference: string;
  fetcher: Helper;
  agent: ChildProcess;
  agentStderr: string[];
  nextSuffix: number;
  renames: number;
  copytruncates: number;
}

interface Counts {
  agent: number;
  grep: number;
  reference: number;
  /** Lines per nginx timestamp second in reference.log, the highest. */
  peakPerSecond: number;
  lines: number;
  rotations: { rename: number; copytruncate: number; recreate: number };
  destinations: string[];
  sourceUp: number;
  discarded: number;
}

function nginxConf(dir: string): string {
  const tmp = (name: string) => `${name}_temp_path ${dir}/tmp/${name};`;
  return `# nginx-exhaustion.test.ts: nginx out of ports towards ${UPSTREAM}
daemon off;
master_process on;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
error_log ${dir}/reference.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(tmp).join('\n  ')}
  upstream backend { server ${UPSTREAM}; }
  server { listen ${UPSTREAM}; keepalive_requests 1000000; location / { return 200 "ok\\n"; } }
  server {
    listen ${FRONT};
    keepalive_requests 1000000;
    # No upstream keepalive: nginx closes each upstream connection itself, and
    # its side keeps the 4-tuple in TIME_WAIT for 60 s.
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;
}

// On nginx 1.22 only for now: the configuration relies on an upstream block
// without `keepalive` closing every connection, and nginx 1.29.7 turned
// upstream keepalive on by default.
describeEachNginx('error log of a real nginx out of ports: agent vs grep through rotations', (binary) => {
  let owned: Owned | undefined;

  beforeAll(async () => {
    const swept = await sweepStale();
    if (swept.length > 0) console.info(`[nginx-exhaustion] deleted namespaces left by dead test runs: ${swept.join(' ')}`);
  });
  afterEach(async () => {
    const o = owned;
    owned = undefined;
    if (o !== undefined) await teardown(o);
  });
  afterAll(destroyAll);

  function spawnIn(o: Owned, cmd: string, args: readonly string[]): ChildProcess {
    // `ip netns exec` execs the command: the child's pid is the command's.
    const child = spawn('ip', ['netns', 'exec', o.ns.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    o.children.add(child);
    child.once('exit', () => o.children.delete(child));
    return child;
  }

  function exited(child: ChildProcess): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => child.once('exit', (code) => { resolve(code); }));
  }

  async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited(child);
    clearTimeout(timer);
  }

  /** Kills what the case started, deletes its namespace and its files; each step runs even if one before failed. */
  async function teardown(o: Owned): Promise<void> {
    const problems: unknown[] = [];
    const attempt = async (fn: () => Promise<void> | void) => {
      try {
        await fn();
      } catch (err) {
        problems.push(err);
      }
    };
    // wrk first, then the agent (SIGTERM: its clean shutdown), then nginx (SIGQUIT:
    // graceful, the workers go with the master).
    for (const c of [...o.children]) if (c !== o.agent && c !== o.nginx) await attempt(() => stopChild(c, 'SIGKILL'));
    if (o.agent !== undefined) await attempt(() => stopChild(o.agent!, 'SIGTERM'));
    if (o.nginx !== undefined) await attempt(() => stopChild(o.nginx!, 'SIGQUIT'));
    // Anything still inside the namespace was started by this case (say, nginx
    // workers whose master was killed): kill it by pid before the namespace goes.
    await attempt(async () => {
      const { stdout } = await execFileP('ip', ['netns', 'pids', o.ns.name]);
      for (const pid of stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    await attempt(() => o.ns.destroy());
    await attempt(() => {
      rmSync(o.dir, { recursive: true, force: true });
    });
    if (problems.length > 0) throw new AggregateError(problems, 'clean-up failed');
  }

  async function scrape(s: Scene): Promise<Metrics> {
    const r = await s.fetcher.command<{ status: number; body: string }>({ url: `http://${AGENT_LISTEN}/metrics` }, 10_000);
    expect(r.status, r.body).toBe(200);
    return new Metrics(parseMetrics(r.body));
  }

  async function waitFor<T>(what: string | (() => string), timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
      await sleep(50);
    }
  }

  async function setUp(): Promise<Scene> {
    const ns = await Netns.create();
    const dir = mkdtempSync(join(tmpdir(), 'npa-nginx-exhaustion-'));
    const o: Owned = { ns, dir, children: new Set() };
    owned = o;
    // nginx workers run unprivileged and reopen the logs by path on `nginx -s reopen`.
    chmodSync(dir, 0o755);
    await ns.sysctl('net.ipv4.ip_local_port_range', RANGE);
    await ns.sysctl('net.ipv4.tcp_tw_reuse', '0');
    mkdirSync(join(dir, 'tmp'));
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConf(dir));
    const log = join(dir, 'error.log');

    const nginx = spawnIn(o, binary.bin, ['-c', conf, '-p', `${dir}/`]);
    o.nginx = nginx;
    let nginxErr = '';
    nginx.stderr!.on('data', (d: Buffer) => (nginxErr += d.toString()));
    await waitFor(() => `nginx to start (stderr: ${nginxErr})`, 10_000, () => {
      if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${nginxErr}`);
      return Promise.resolve(existsSync(join(dir, 'nginx.pid')) && existsSync(log) ? true : undefined);
    });

    const fetcher = ns.spawnHelper('fetch.mjs', {});
    await fetcher.until('ready');
    // nginx answers; the one upstream connection this costs is 1 port of 100.
    await waitFor('nginx to answer on 8080', 10_000, async () => {
      const r = await fetcher.command<{ status?: number; body?: string }>({ url: `http://${FRONT}/` }).catch(() => undefined);
      return r?.status === 200 && r.body === 'ok\n' ? true : undefined;
    });

    const agent = spawnIn(o, process.execPath, [
      AGENT_MAIN, 'run',
      '--listen', AGENT_LISTEN,
      '--error-log', log,
      '--error-log-backfill',
      '--sample-interval-ms', '500',
    ]);
    o.agent = agent;
    const agentStderr: string[] = [];
    agent.stderr!.on('data', (d: Buffer) => {
      agentStderr.push(d.toString());
      if (agentStderr.length > 2000) agentStderr.splice(0, 1000);
    });
    const s: Scene = { ...o, conf, log, reference: join(dir, 'reference.log'), fetcher, agent, agentStderr, nextSuffix: 1, renames: 0, copytruncates: 0 };
    await waitFor(() => `the agent to listen (stderr: ${agentStderr.join('')})`, 15_000, () => {
      if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}: ${agentStderr.join('')}`);
      return Promise.resolve(agentStderr.join('').includes('listening on http://') ? true : undefined);
    });
    await waitFor('the agent to tail error.log', 10_000, async () => {
      const m = await scrape(s);
      return m.sum('nginx_port_source_up', { source: `error_log:${log}` }) === 1 ? true : undefined;
    });
    return s;
  }

  async function load(s: Scene, seconds: number): Promise<void> {
    const wrk = spawnIn(s, 'wrk', ['-c20', '-t2', `-d${seconds}s`, '--timeout', '2s', `http://${FRONT}/`]);
    let out = '';
    wrk.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    wrk.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await exited(wrk);
    expect(code, `wrk: ${out}`).toBe(0);
  }

  async function renameRotation(s: Scene): Promise<void> {
    const to = `${s.log}.${s.nextSuffix++}`;
    renameSync(s.log, to);
    await s.ns.run(binary.bin, ['-c', s.conf, '-p', `${s.dir}/`, '-s', 'reopen']);
    s.renames++;
    // The master creates the new file; the workers reopen right after it.
    await waitFor('nginx to reopen error.log', 5000, () => Promise.resolve(existsSync(s.log) ? true : undefined));
  }

  async function copytruncate(s: Scene): Promise<void> {
    const to = `${s.log}.${s.nextSuffix++}`;
    // As logrotate's copytruncate does it: copy first, then truncate in place.
    await execFileP('sh', ['-c', 'cp "$1" "$2" && truncate -s 0 "$1"', 'sh', s.log, to]);
    s.copytruncates++;
  }

  function rotatedFiles(s: Scene): string[] {
    return readdirSync(s.dir)
      .filter((n) => n === 'error.log' || /^error\.log\.\d+$/.test(n))
      .map((n) => join(s.dir, n));
  }

  async function grepCount(files: readonly string[]): Promise<number> {
    try {
      const { stdout } = await execFileP('grep', ['-c', '-h', '-F', EADDRNOTAVAIL_TEXT, ...files], { maxBuffer: 1 << 20 });
      return stdout.split('\n').filter((l) => l !== '').reduce((a, l) => a + Number(l), 0);
    } catch (err) {
      // grep exits 1 when no file has a match: that is a count of 0.
      if ((err as { code?: unknown }).code === 1) return 0;
      throw err;
    }
  }

  /** The most EADDRNOTAVAIL lines nginx wrote within one of its timestamp seconds. */
  function peakPerSecond(file: string): number {
    const perSecond = new Map<string, number>();
    for (const line of readFileSync(file, 'latin1').split('\n')) {
      if (!line.includes(EADDRNOTAVAIL_TEXT)) continue;
      const second = line.slice(0, 19);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    return Math.max(0, ...perSecond.values());
  }

  /** Waits for the agent's line counter to stand still, then counts both sides. */
  async function settle(s: Scene): Promise<Counts> {
    let last = -1;
    let quietSince = Date.now();
    const m = await waitFor('the agent to stop reading', 30_000, async () => {
      const now = await scrape(s);
      const lines = now.sum('nginx_port_error_log_lines_total');
      if (lines !== last) {
        last = lines;
        quietSince = Date.now();
        return undefined;
      }
      return Date.now() - quietSince >= SETTLE_QUIET_MS ? now : undefined;
    });
    const events = m.of('nginx_port_error_log_events_total', { kind: 'eaddrnotavail' });
    return {
      agent: m.sum('nginx_port_error_log_events_total', { kind: 'eaddrnotavail' }),
      grep: await grepCount(rotatedFiles(s)),
      reference: await grepCount([s.reference]),
      peakPerSecond: peakPerSecond(s.reference),
      lines: last,
      rotations: {
        rename: m.sum('nginx_port_error_log_rotations_total', { type: 'rename' }),
        copytruncate: m.sum('nginx_port_error_log_rotations_total', { type: 'copytruncate' }),
        recreate: m.sum('nginx_port_error_log_rotations_total', { type: 'recreate' }),
      },
      destinations: events.filter((e) => e.value > 0).map((e) => e.labels['destination'] ?? '?'),
      sourceUp: m.sum('nginx_port_source_up', { source: `error_log:${s.log}` }),
      discarded: m.sum('nginx_port_error_log_discarded_lines_total'),
    };
  }

  /** Runs `seconds` of load and the rotations at their offsets (ms from the start of the load). */
  async function loadWithRotations(s: Scene, seconds: number, plan: readonly [number, 'rename' | 'copytruncate'][]): Promise<void> {
    const started = Date.now();
    const running = load(s, seconds);
    // A failed rotation must not leave the load promise unobserved.
    running.catch(() => undefined);
    for (const [atMs, type] of plan) {
      await sleep(Math.max(0, started + atMs - Date.now()));
      if (type === 'rename') await renameRotation(s);
      else await copytruncate(s);
    }
    await running;
  }

  function commonChecks(s: Scene, c: Counts): void {
    expect(c.agent, 'the load produced too few EADDRNOTAVAIL lines to mean anything').toBeGreaterThanOrEqual(MIN_EVENTS);
    expect(c.destinations).toEqual([UPSTREAM]);
    expect(c.rotations).toEqual({ rename: s.renames, copytruncate: s.copytruncates, recreate: 0 });
    expect(c.sourceUp).toBe(1);
    expect(c.discarded).toBe(0);
  }

  function report(name: string, c: Counts, extra = ''): void {
    console.info(
      `[nginx-exhaustion] ${name}: agent ${c.agent}, grep ${c.grep}, reference ${c.reference}, ` +
        `lines ${c.lines}, peak ${c.peakPerSecond}/s, rotations ${JSON.stringify(c.rotations)}${extra}`,
    );
  }

  it('renames under load: agent = grep over every rotated file, exactly', { timeout: 60_000 }, async () => {
    const s = await setUp();
    await loadWithRotations(s, 6, [
      [1000, 'rename'],
      [2200, 'rename'],
      [3400, 'rename'],
      [4600, 'rename'],
    ]);
    const c = await settle(s);
    report('renames under load', c);
    commonChecks(s, c);
    expect(s.renames).toBe(4);
    expect(c.grep).toBe(c.reference); // nothing can be lost by a rename: grep sees every line
    expect(c.agent).toBe(c.grep);
  });

  it('copytruncate under load: never more than nginx wrote, at most one read interval lost per truncate', { timeout: 60_000 }, async () => {
    const s = await setUp();
    await loadWithRotations(s, 6, [
      [1000, 'rename'],
      [2200, 'copytruncate'],
      [3400, 'rename'],
      [4600, 'copytruncate'],
    ]);
    const c = await settle(s);
    const bound = s.copytruncates * Math.ceil((c.peakPerSecond * (RECONCILE_INTERVAL_MS + PASS_SLACK_MS)) / 1000);
    const inNoFile = c.reference - c.grep;
    report('copytruncate under load', c, `; lost by the agent ${c.reference - c.agent}, in no file (cp→truncate) ${inNoFile}, grep − agent ${c.grep - c.agent}, bound ${bound}`);
    commonChecks(s, c);
    expect(s.copytruncates).toBe(2);
    expect(inNoFile).toBeGreaterThanOrEqual(0);
    // No duplicates: never more than nginx wrote…
    expect(c.agent).toBeLessThanOrEqual(c.reference);
    // …which against grep reads: at most the lines no file kept.
    expect(c.agent).toBeLessThanOrEqual(c.grep + inNoFile);
    // Loss bounded by the read cadence.
    expect(c.agent).toBeGreaterThanOrEqual(c.grep - bound);
    expect(c.reference - c.agent).toBeLessThanOrEqual(bound);
  });

  it('copytruncate while the load is paused and the agent has caught up: agent = grep, exactly', { timeout: 60_000 }, async () => {
    const s = await setUp();
    await load(s, 2);
    const before = await settle(s);
    expect(before.agent).toBe(before.grep);
    await copytruncate(s);
    await load(s, 2);
    const c = await settle(s);
    report('copytruncate while paused', c, `; before it agent ${before.agent} = grep ${before.grep}`);
    commonChecks(s, c);
    expect(c.agent).toBeGreaterThan(before.agent); // lines after the truncate were read from offset 0
    expect(c.grep).toBe(c.reference);
    expect(c.agent).toBe(c.grep);
  });
}, { requires: ['netns', 'built', 'command:wrk', 'command:grep'], versions: ['1.22'] });
