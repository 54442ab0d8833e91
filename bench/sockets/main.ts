/**
 * `npm run bench` (as root): the socket-sampling benchmark.
 *
 * 1. Creates a private network namespace (always deleted at the end, also on error
 *    or SIGINT), brings lo up, sets ip_local_port_range to 10000–65535.
 * 2. Fills it with ≥ 100 000 TCP sockets: several holder processes (RLIMIT_NOFILE is
 *    capped per process), each listening on its own 127.0.0.x addresses and ports
 *    below the range and holding ~9 000 connections to itself, plus client-closed
 *    connections left in TIME_WAIT (refreshed before each phase; they last 60 s).
 * 3. Measures from inside the namespace (dist/bench/sockets/inner.js): the floor
 *    (reading /proc/net/tcp{,6}), the agent's sample inline and through its worker
 *    thread, systeminformation.networkConnections(), /metrics latency from the real
 *    daemon while it samples every 200 ms, and RSS.
 * 4. Prints a summary with PASS/FAIL per target, writes .bench/sockets-<time>.json,
 *    exits 1 if a target is missed (2 if not root).
 *
 * Knobs for quick experiments (defaults are the benchmark): BENCH_HOLDERS,
 * BENCH_CONNECTIONS (per holder), BENCH_TIME_WAIT (per holder per refresh),
 * BENCH_RUNS, BENCH_SI_RUNS, BENCH_METRICS_SECONDS, BENCH_NAT_THRESHOLDS_MS (the NAT timers the
 * sample counts TIME_WAIT under; two by default, empty for none).
 */
import { DAEMON_NODE_FLAGS } from '../../agent/nodeFlags.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fmt, type Summary } from './stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HOLDER_JS = fileURLToPath(new URL('./holder.js', import.meta.url));
const INNER_JS = fileURLToPath(new URL('./inner.js', import.meta.url));
const AGENT_JS = join(ROOT, 'dist/agent/main.js');

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

const CONFIG = {
  holders: envInt('BENCH_HOLDERS', 6),
  connectionsPerHolder: envInt('BENCH_CONNECTIONS', 9000),
  addressesPerHolder: 4,
  ports: [5001, 5002, 5003, 5004, 5005],
  timeWaitPerHolder: envInt('BENCH_TIME_WAIT', 2000),
  concurrency: 200,
  minSockets: 100_000,
  runs: envInt('BENCH_RUNS', 15),
  warmups: 2,
  siRuns: envInt('BENCH_SI_RUNS', 3),
  siWarmups: 1,
  metricsSeconds: envInt('BENCH_METRICS_SECONDS', 10),
  steadySeconds: 10,
  steadyRate: 20,
  daemonPort: 9842,
  sampleIntervalMs: 200,
  maxDestinations: 100,
  portRange: '10000 65535',
};

const TARGETS = {
  sampleOverFloorMax: 1.3,
  speedupOverSiMin: 4,
  metricsP99MsMax: 50,
  daemonRssMbMax: 150,
};

const NS = `npa-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
const t0 = Date.now();
function log(msg: string): void {
  console.log(`[${fmt((Date.now() - t0) / 1000)}s] ${msg}`);
}

// --- children and teardown ----------------------------------------------------------

const children = new Set<ChildProcess>();
let nsCreated = false;
let cleaned = false;

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

/** Synchronous, idempotent: safe from 'exit' and signal handlers. */
function cleanupSync(): void {
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

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    console.error(`\n[teardown] ${sig}: stopping children and deleting ${NS}`);
    cleanupSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

function waitExit(c: ChildProcess, ms: number): Promise<boolean> {
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

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal ?? '?'}: ${r.stderr.trim()}`);
  return r.stdout;
}

function inNs(args: string[]): string[] {
  return ['netns', 'exec', NS, ...args];
}

// --- holders -------------------------------------------------------------------------

interface HolderMsg {
  index: number;
  type: string;
  [k: string]: unknown;
}

class Holder {
  private readonly inbox: HolderMsg[] = [];
  private waiter: (() => void) | null = null;
  readonly child: ChildProcess;

  constructor(
    readonly index: number,
    readonly addresses: string[],
  ) {
    const cfg = { index, addresses, ports: CONFIG.ports, connections: CONFIG.connectionsPerHolder, concurrency: CONFIG.concurrency };
    this.child = spawn('ip', inNs([process.execPath, HOLDER_JS, JSON.stringify(cfg)]), { stdio: ['pipe', 'pipe', 'inherit'] });
    children.add(this.child);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.inbox.push(JSON.parse(line) as HolderMsg);
      } catch {
        this.inbox.push({ index, type: 'error', error: `unparsable line: ${line}` });
      }
      this.waiter?.();
    });
    this.child.on('exit', (code, signal) => {
      this.inbox.push({ index, type: 'exit', code, signal });
      this.waiter?.();
    });
  }

  async next(type: string, timeoutMs: number): Promise<HolderMsg> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type || m.type === 'error' || m.type === 'exit');
      if (i >= 0) {
        const m = this.inbox.splice(i, 1)[0]!;
        if (m.type !== type) throw new Error(`holder ${this.index}: ${JSON.stringify(m)}`);
        return m;
      }
      const left = until - Date.now();
      if (left <= 0) throw new Error(`holder ${this.index}: no '${type}' after ${timeoutMs} ms`);
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
}

/** TCP_TIMEWAIT_LEN: a TIME_WAIT socket lasts 60 s. */
const TIME_WAIT_LIFE_MS = 60_000;
let lastTimeWaitAt: number | null = null;

/**
 * Makes sure the next phase (expected to take `phaseBudgetMs`) sees one batch of
 * TIME_WAIT sockets throughout: keeps the current batch if it outlives the phase,
 * otherwise waits for it to expire and creates a fresh one, so batches never pile up.
 */
async function ensureTimeWait(holders: Holder[], phaseBudgetMs: number): Promise<void> {
  if (CONFIG.timeWaitPerHolder === 0) return;
  if (lastTimeWaitAt !== null) {
    const age = Date.now() - lastTimeWaitAt;
    if (age + phaseBudgetMs < TIME_WAIT_LIFE_MS - 2000) {
      log(`  keeping the TIME_WAIT batch made ${fmt(age / 1000)} s ago (it outlives this phase)`);
      return;
    }
    const wait = TIME_WAIT_LIFE_MS + 1500 - age;
    if (wait > 0) {
      log(`  waiting ${fmt(wait / 1000)} s for the previous TIME_WAIT batch to expire before making a fresh one`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  const started = Date.now();
  for (const h of holders) h.send({ cmd: 'tw', count: CONFIG.timeWaitPerHolder });
  for (const h of holders) await h.next('tw-done', 120_000);
  lastTimeWaitAt = Date.now();
  log(`  created ${CONFIG.timeWaitPerHolder * holders.length} client-closed connections (TIME_WAIT) in ${Date.now() - started} ms`);
}

// --- inner --------------------------------------------------------------------------------

async function inner<T>(mode: string, args: Record<string, number>): Promise<T> {
  const child = spawn('ip', inNs([process.execPath, INNER_JS, mode, JSON.stringify(args)]), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => {
      resolve(c);
    });
  });
  children.delete(child);
  if (code !== 0) throw new Error(`inner ${mode} exited with ${code ?? 'a signal'}`);
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

interface TableCount {
  rows: number;
  bytes: number;
  byState: Record<string, number>;
}
interface Count {
  total: number;
  tcp: TableCount;
  tcp6: TableCount;
}
interface StaticResult {
  countBefore: Count;
  countAfter: Count;
  summary: Record<'floorReadSync' | 'floorReadFileSync' | 'floorCat' | 'sampleInline' | 'sampleWorker' | 'breakdown', Summary>;
  sampleSelfReportedMs: Summary;
  breakdown: { readMs: Summary; parseMs: Summary; modelMs: Summary };
  lastInlineSample: { sockets: number | null; destinations: number | null; problems: string[] };
  innerMemory: { vmHwmKiB: number | null; vmRssKiB: number | null };
}
interface SiResult {
  countBefore: Count;
  countAfter: Count;
  connections: number;
  summary: Record<'systeminformation' | 'sampleInline' | 'sampleWorker', Summary>;
  innerMemory: { vmHwmKiB: number | null; vmRssKiB: number | null };
}
interface Latency {
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}
interface MetricsResult {
  countBefore: Count;
  countAfter: Count;
  backToBack: Latency & { seconds: number; samplesLanded: number };
  steady: Latency & { seconds: number; ratePerSecond: number };
  errorCount: number;
  errors: string[];
  daemonSampleDurationMs: Summary & { distinctSamplesSeen: number };
  daemonView: Record<string, number | null>;
  daemonMemory: { vmHwmKiB: number | null; vmRssKiB: number | null };
  daemonMemoryAtReady: { vmHwmKiB: number | null; vmRssKiB: number | null };
  daemonMemoryAfterSteady: { vmHwmKiB: number | null; vmRssKiB: number | null };
  metricsBodyBytes: number;
  innerMemory: { vmHwmKiB: number | null; vmRssKiB: number | null };
}

const countLine = (c: Count): string =>
  `${c.total} rows (tcp ${c.tcp.rows}, tcp6 ${c.tcp6.rows}; states ${JSON.stringify(c.tcp.byState)}; ${fmt((c.tcp.bytes + c.tcp6.bytes) / 1e6)} MB of text)`;

// --- the benchmark -----------------------------------------------------------------------

/** Starts the real daemon in the namespace, loads /metrics from inside it, stops the daemon. */
async function daemonPhase(): Promise<MetricsResult> {
  const daemonArgs = [
    ...DAEMON_NODE_FLAGS,
    AGENT_JS, 'run',
    '--listen', `127.0.0.1:${CONFIG.daemonPort}`,
    '--sample-interval-ms', String(CONFIG.sampleIntervalMs),
    '--max-destinations', String(CONFIG.maxDestinations),
    '--log-level', 'warn',
  ];
  const daemon = spawn('ip', inNs([process.execPath, ...daemonArgs]), { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(daemon);
  let daemonLog = '';
  daemon.stderr.setEncoding('utf8');
  daemon.stderr.on('data', (s: string) => (daemonLog += s));
  log(`  daemon pid ${daemon.pid ?? '?'}: node ${daemonArgs.join(' ')}`);
  let metrics: MetricsResult;
  try {
    metrics = await inner<MetricsResult>('metrics', {
      port: CONFIG.daemonPort,
      daemonPid: daemon.pid ?? 0,
      seconds: CONFIG.metricsSeconds,
      steadySeconds: CONFIG.steadySeconds,
      steadyRate: CONFIG.steadyRate,
      readyTimeoutS: 60,
    });
  } catch (err) {
    if (daemonLog !== '') console.error(`daemon stderr:\n${daemonLog}`);
    throw err;
  }
  daemon.kill('SIGTERM');
  if (!(await waitExit(daemon, 10_000))) log('  daemon did not stop on SIGTERM within 10 s');
  else log(`  daemon stopped (exit ${daemon.exitCode ?? daemon.signalCode ?? '?'})`);
  if (daemonLog.trim() !== '') log(`  daemon logged warnings/errors:\n${daemonLog.trim()}`);
  return metrics;
}


async function bench(): Promise<number> {
  log(`node ${process.version}, kernel ${release()}, ${cpus().length} CPUs, ${fmt(totalmem() / 2 ** 30)} GiB RAM`);

  // 1. namespace
  log(`step 1: network namespace ${NS}`);
  run('ip', ['netns', 'add', NS]);
  nsCreated = true;
  run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  run('ip', inNs(['sysctl', '-q', '-w', `net.ipv4.ip_local_port_range=${CONFIG.portRange}`]));
  const twWanted = CONFIG.holders * CONFIG.timeWaitPerHolder * 4 + 10_000;
  const twMax = Number(run('ip', inNs(['sysctl', '-n', 'net.ipv4.tcp_max_tw_buckets'])).trim());
  if (twMax < twWanted) {
    run('ip', inNs(['sysctl', '-q', '-w', `net.ipv4.tcp_max_tw_buckets=${twWanted}`]));
    log(`  raised net.ipv4.tcp_max_tw_buckets from ${twMax} to ${twWanted}`);
  } else {
    log(`  net.ipv4.tcp_max_tw_buckets = ${twMax} (enough)`);
  }
  log(`  lo up, ip_local_port_range = ${run('ip', inNs(['sysctl', '-n', 'net.ipv4.ip_local_port_range'])).trim()}`);

  // Reference point for the RSS target: the same daemon under the same /metrics load,
  // in the same namespace before any socket exists.
  log(`step 1b: reference — the daemon with no sockets, same /metrics load (RSS baseline, not a target)`);
  const baseline = await daemonPhase();
  log(`  daemon VmHWM with no sockets: ${fmt(((baseline.daemonMemory.vmHwmKiB ?? Number.NaN) * 1024) / 1e6)} MB`);

  // 2. sockets
  log(
    `step 2: ${CONFIG.holders} holder processes × ${CONFIG.connectionsPerHolder} connections to themselves ` +
      `(${CONFIG.addressesPerHolder} addresses × ${CONFIG.ports.length} ports each)`,
  );
  const holders: Holder[] = [];
  for (let i = 0; i < CONFIG.holders; i++) {
    const addresses: string[] = [];
    for (let a = 0; a < CONFIG.addressesPerHolder; a++) addresses.push(`127.0.0.${10 + i * CONFIG.addressesPerHolder + a}`);
    holders.push(new Holder(i, addresses));
  }
  const connectStarted = Date.now();
  for (const h of holders) {
    const m = await h.next('ready', 300_000);
    log(`  holder ${h.index} (pid ${h.child.pid ?? '?'}, ${h.addresses[0] ?? ''}–${h.addresses[h.addresses.length - 1] ?? ''}): ${String(m['clients'])} clients, ${String(m['accepted'])} accepted`);
  }
  log(`  all connections up in ${fmt((Date.now() - connectStarted) / 1000)} s`);
  await ensureTimeWait(holders, 35_000);
  const count = await inner<Count>('count', {});
  log(`  /proc/net/tcp{,6} in the namespace: ${countLine(count)}`);
  if (count.total < CONFIG.minSockets) throw new Error(`only ${count.total} sockets, fewer than ${CONFIG.minSockets}`);

  // 3a/b. floor, inline and worker sample
  log(`step 3a/b: floor and the agent's sample, ${CONFIG.warmups} warm-ups + ${CONFIG.runs} interleaved rounds`);
  const stat = await inner<StaticResult>('static', { runs: CONFIG.runs, warmups: CONFIG.warmups });
  log(`  sockets during the phase: ${stat.countBefore.total} → ${stat.countAfter.total}`);

  // 3c. systeminformation
  log(`step 3c: systeminformation.networkConnections(), ${CONFIG.siWarmups} warm-up + ${CONFIG.siRuns} rounds (with the agent's sample interleaved)`);
  await ensureTimeWait(holders, 25_000);
  const si = await inner<SiResult>('si', { runs: CONFIG.siRuns, warmups: CONFIG.siWarmups });
  log(`  sockets during the phase: ${si.countBefore.total} → ${si.countAfter.total}; systeminformation saw ${si.connections}`);

  // 3d/e. the daemon
  log(`step 3d/e: the daemon sampling every ${CONFIG.sampleIntervalMs} ms; /metrics for ${CONFIG.steadySeconds} s at ${CONFIG.steadyRate}/s, then ${CONFIG.metricsSeconds} s back-to-back`);
  await ensureTimeWait(holders, 25_000);
  const metrics = await daemonPhase();
  log(`  sockets during the phase: ${metrics.countBefore.total} → ${metrics.countAfter.total}`);

  // 5. teardown of the holders (the namespace goes in cleanupSync)
  log('step 5: teardown');
  for (const h of holders) {
    h.send({ cmd: 'exit' });
    h.child.stdin!.end();
  }
  for (const h of holders) if (!(await waitExit(h.child, 10_000)) && h.child.pid !== undefined) process.kill(h.child.pid, 'SIGKILL');
  cleanupSync();

  // 4. summary
  return report(count, stat, si, metrics, baseline);
}

function report(count: Count, stat: StaticResult, si: SiResult, metrics: MetricsResult, baseline: MetricsResult): number {
  const s = stat.summary;
  const floor = s.floorReadSync.medianMs;
  const floorFile = s.floorReadFileSync.medianMs;
  const inline = s.sampleInline.medianMs;
  const worker = s.sampleWorker.medianMs;
  const siMs = si.summary.systeminformation.medianMs;
  const siInline = si.summary.sampleInline.medianMs;
  const siWorker = si.summary.sampleWorker.medianMs;
  // The target: peak RSS while sampling and being scraped at a steady rate. The
  // back-to-back flood that follows is a latency test; its peak is reported too.
  const hwmMb = (metrics.daemonMemoryAfterSteady.vmHwmKiB ?? Number.NaN) * 1024 / 1e6;
  const floodHwmMb = (metrics.daemonMemory.vmHwmKiB ?? Number.NaN) * 1024 / 1e6;
  const b2b = metrics.backToBack;
  const steady = metrics.steady;

  const checks = [
    { target: `sample(inline) ≤ ${TARGETS.sampleOverFloorMax}× floor(readSync)`, value: inline / floor, ok: inline / floor <= TARGETS.sampleOverFloorMax, shown: `${fmt(inline / floor, 2)}×` },
    { target: `sample(worker) ≤ ${TARGETS.sampleOverFloorMax}× floor(readSync)`, value: worker / floor, ok: worker / floor <= TARGETS.sampleOverFloorMax, shown: `${fmt(worker / floor, 2)}×` },
    { target: `systeminformation ≥ ${TARGETS.speedupOverSiMin}× slower than sample(inline)`, value: siMs / siInline, ok: siMs / siInline >= TARGETS.speedupOverSiMin, shown: `${fmt(siMs / siInline)}×` },
    { target: `systeminformation ≥ ${TARGETS.speedupOverSiMin}× slower than sample(worker)`, value: siMs / siWorker, ok: siMs / siWorker >= TARGETS.speedupOverSiMin, shown: `${fmt(siMs / siWorker)}×` },
    { target: `/metrics p99 < ${TARGETS.metricsP99MsMax} ms, back-to-back while sampling`, value: b2b.p99Ms, ok: b2b.p99Ms < TARGETS.metricsP99MsMax && metrics.errorCount === 0, shown: `${fmt(b2b.p99Ms, 2)} ms` },
    { target: `/metrics p99 < ${TARGETS.metricsP99MsMax} ms, ${steady.ratePerSecond}/s while sampling`, value: steady.p99Ms, ok: steady.p99Ms < TARGETS.metricsP99MsMax && metrics.errorCount === 0, shown: `${fmt(steady.p99Ms, 2)} ms` },
    { target: `daemon peak RSS (VmHWM) < ${TARGETS.daemonRssMbMax} MB, sampling + ${steady.ratePerSecond} scrapes/s`, value: hwmMb, ok: hwmMb < TARGETS.daemonRssMbMax, shown: `${fmt(hwmMb)} MB` },
  ];

  const row = (cells: string[], widths: number[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const w = [44, 10, 10, 12];
  const m = (x: Summary): string[] => [fmt(x.medianMs), fmt(x.p90Ms)];
  console.log('');
  console.log(`=== socket sampling benchmark — node ${process.version}, ${count.total} sockets in /proc/net/tcp{,6} (tcp ${count.tcp.rows}, tcp6 ${count.tcp6.rows}) ===`);
  console.log(row(['measurement (ms)', 'median', 'p90', 'runs'], w));
  const lines: [string, Summary][] = [
    ['floor: readSync loop, reused Buffer', s.floorReadSync],
    ['floor: fs.readFileSync', s.floorReadFileSync],
    ['floor: cat tcp tcp6 > /dev/null (spawn)', s.floorCat],
    ['sample: takeSocketSample inline', s.sampleInline],
    ['sample: WorkerSampler round trip', s.sampleWorker],
    ['  inline, self-reported durationMs', stat.sampleSelfReportedMs],
    ['  breakdown: read (ProcBuffer)', stat.breakdown.readMs],
    ['  breakdown: parse (scanProcNetTcp)', stat.breakdown.parseMs],
    ['  breakdown: model (build + computeHeadroom)', stat.breakdown.modelMs],
    ['systeminformation.networkConnections()', si.summary.systeminformation],
    ['  sample inline, same rounds', si.summary.sampleInline],
    ['  sample worker, same rounds', si.summary.sampleWorker],
    ['daemon nginx_port_sample_duration_seconds', metrics.daemonSampleDurationMs],
  ];
  for (const [name, x] of lines) console.log(row([name, ...m(x), String(x.runs)], w));
  console.log('');
  console.log(row(['/metrics latency (ms)', 'p50', 'p99', 'max', 'requests'], [44, 10, 10, 10, 10]));
  console.log(row([`back-to-back, ${b2b.seconds} s`, fmt(b2b.p50Ms, 2), fmt(b2b.p99Ms, 2), fmt(b2b.maxMs, 2), String(b2b.requests)], [44, 10, 10, 10, 10]));
  console.log(row([`steady ${steady.ratePerSecond}/s, ${steady.seconds} s`, fmt(steady.p50Ms, 2), fmt(steady.p99Ms, 2), fmt(steady.maxMs, 2), String(steady.requests)], [44, 10, 10, 10, 10]));
  console.log(
    `  samples landed during back-to-back: ${b2b.samplesLanded}; daemon saw ${String(metrics.daemonView['established'])} established, ` +
      `${String(metrics.daemonView['timeWait'])} time_wait, ${String(metrics.daemonView['destinations'])} destinations; errors ${metrics.errorCount}`,
  );
  console.log('');
  console.log('ratios');
  console.log(`  sample(inline)/floor(readSync)      ${fmt(inline / floor, 2)}`);
  console.log(`  sample(worker)/floor(readSync)      ${fmt(worker / floor, 2)}`);
  console.log(`  sample(inline)/floor(readFileSync)  ${fmt(inline / floorFile, 2)}`);
  console.log(`  sample(worker)/floor(readFileSync)  ${fmt(worker / floorFile, 2)}`);
  console.log(`  systeminformation/sample(inline)    ${fmt(siMs / siInline, 1)}  (speed-up)`);
  console.log(`  systeminformation/sample(worker)    ${fmt(siMs / siWorker, 1)}  (speed-up)`);
  const mb = (kib: number | null): string => fmt(((kib ?? Number.NaN) * 1024) / 1e6);
  console.log(
    `memory (MB = 10^6 bytes): daemon VmHWM ${mb(metrics.daemonMemoryAtReady.vmHwmKiB)} MB when first ready, ` +
      `${fmt(hwmMb)} MB after ${steady.seconds} s of sampling with ${steady.ratePerSecond} scrapes/s, ` +
      `${fmt(floodHwmMb)} MB after the back-to-back flood (${b2b.requests} requests in ${b2b.seconds} s); ` +
      `inner VmHWM: static ${mb(stat.innerMemory.vmHwmKiB)} MB, si ${mb(si.innerMemory.vmHwmKiB)} MB, metrics ${mb(metrics.innerMemory.vmHwmKiB)} MB`,
  );
  console.log(
    `  reference: the daemon with no sockets under the same load peaked at ${mb(baseline.daemonMemory.vmHwmKiB)} MB ` +
      `(${mb(baseline.daemonMemoryAtReady.vmHwmKiB)} MB when first ready; /metrics p99 ${fmt(baseline.backToBack.p99Ms, 2)} ms), ` +
      `so ${fmt(floodHwmMb - ((baseline.daemonMemory.vmHwmKiB ?? Number.NaN) * 1024) / 1e6)} MB of the flood peak comes with the sockets`,
  );
  console.log(
    `sockets per phase (start → end): static ${stat.countBefore.total} → ${stat.countAfter.total}, ` +
      `si ${si.countBefore.total} → ${si.countAfter.total}, metrics ${metrics.countBefore.total} → ${metrics.countAfter.total}; ` +
      `/metrics body ${fmt(metrics.metricsBodyBytes / 1000)} kB`,
  );
  console.log('');
  console.log('targets');
  for (const c of checks) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.target.padEnd(58)} ${c.shown}`);
  const pass = checks.every((c) => c.ok);

  const dir = join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sockets-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        node: process.version,
        kernel: release(),
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? null,
        namespace: NS,
        config: CONFIG,
        targets: TARGETS,
        socketCount: count,
        ratios: {
          sampleInlineOverFloorReadSync: inline / floor,
          sampleWorkerOverFloorReadSync: worker / floor,
          sampleInlineOverFloorReadFileSync: inline / floorFile,
          sampleWorkerOverFloorReadFileSync: worker / floorFile,
          systeminformationOverSampleInline: siMs / siInline,
          systeminformationOverSampleWorker: siMs / siWorker,
        },
        metricsP99Ms: { backToBack: b2b.p99Ms, steady: steady.p99Ms },
        daemonVmHwmMb: hwmMb,
        daemonVmHwmMbAfterFlood: floodHwmMb,
        daemonVmHwmMbWithoutSockets: ((baseline.daemonMemory.vmHwmKiB ?? Number.NaN) * 1024) / 1e6,
        checks,
        pass,
        phases: { baseline, static: stat, si, metrics },
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults written to ${file}`);
  console.log(pass ? 'ALL TARGETS MET' : 'SOME TARGETS MISSED');
  return pass ? 0 : 1;
}

if (process.getuid?.() !== 0) {
  console.error('npm run bench must run as root: it creates a network namespace (ip netns) and sets sysctls in it.');
  process.exit(2);
}

bench().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    cleanupSync();
    process.exitCode = 1;
  },
);
