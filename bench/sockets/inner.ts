/**
 * The measuring half of the socket benchmark. It must run inside the benchmark's
 * network namespace (`ip netns exec NS node dist/bench/sockets/inner.js <mode> '<json>'`):
 * /proc/net/tcp shows the sockets of the reader's namespace. Progress goes to
 * stderr; the last line on stdout is the JSON result.
 *
 * Modes:
 *   count    rows of /proc/net/tcp and tcp6, by state, and /proc/net/sockstat's `tw`
 *   static   interleaved rounds of: the floor (readSync into a reused buffer), the
 *            agent's sample inline and through
 *            WorkerSampler, and the netlink measures (netlink.ts: `ss` with and
 *            without text, `ss` piped and parsed here, nldump); then a
 *            read/parse/model breakdown of the sample
 *   si       interleaved rounds of systeminformation.networkConnections() and the
 *            agent's sample (inline and worker), so the speed-up compares like with like
 *   metrics  GET /metrics against a running daemon: at a steady rate, then back-to-back
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { endianness } from 'node:os';
import { performance } from 'node:perf_hooks';
import { networkConnections } from 'systeminformation';
import { computeHeadroom, type KernelSettings } from '../../agent/sockets/model/headroom.js';
import { SocketTableBuilder } from '../../agent/sockets/model/socketTable.js';
import { TcpTableStream } from '../../agent/sockets/parse/procNetTcp.js';
import { ProcBuffer } from '../../agent/sockets/read/procfs.js';
import { takeSocketSample, type SampleOptions } from '../../agent/sockets/sample.js';
import { type SocketSample } from '../../agent/sockets/model/types.js';
import { WorkerSampler } from '../../agent/sockets/sampler.js';
import { nldump, ssParsed, ssText, ssWalk, type NlDump, type SsParsed } from './netlink.js';
import { countRows, fmt, summarise, type Summary } from './stats.js';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'] as const;
/**
 * TIME_WAIT ages the sample counts per destination for NATs with timers under 60 s
 * (nat/model/): BENCH_NAT_THRESHOLDS_MS, comma-separated (`16000,30000` samples as a
 * daemon with a 16 s and a 30 s NAT does); none by default, as a host without a NAT.
 */
const NAT_THRESHOLDS_MS = (process.env['BENCH_NAT_THRESHOLDS_MS'] ?? '')
  .split(',')
  .filter((x) => x.trim() !== '')
  .map(Number);
const SAMPLE_OPTIONS: SampleOptions = {
  procRoot: '/proc',
  endianness: endianness(),
  rateWindowSeconds: 60,
  ...(NAT_THRESHOLDS_MS.length > 0 ? { timeWaitAgeThresholdsMs: NAT_THRESHOLDS_MS } : {}),
};

function log(msg: string): void {
  process.stderr.write(`    [inner] ${msg}\n`);
}

function memory(): { vmHwmKiB: number | null; vmRssKiB: number | null } {
  return procStatusMemory('self');
}

function procStatusMemory(pid: number | 'self'): { vmHwmKiB: number | null; vmRssKiB: number | null } {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return { vmHwmKiB: null, vmRssKiB: null };
  }
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m?.[1] === undefined ? null : Number(m[1]);
  };
  return { vmHwmKiB: field('VmHWM'), vmRssKiB: field('VmRSS') };
}

// --- the floor ------------------------------------------------------------------

/**
 * One preallocated buffer, reused by every floor read: the cheapest way to read the
 * tables. The kernel still answers each read() with at most one page of rows
 * (seq_file), whatever the buffer's size; floorReads counts the calls.
 */
let floorBuf = Buffer.allocUnsafe(64 << 20);
let floorReads = 0;

function readSyncInto(path: string): number {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === floorBuf.length) {
        const bigger = Buffer.allocUnsafe(floorBuf.length * 2);
        floorBuf.copy(bigger, 0, 0, length);
        floorBuf = bigger;
      }
      const n = readSync(fd, floorBuf, length, floorBuf.length - length, null);
      floorReads++;
      if (n === 0) return length;
      length += n;
    }
  } finally {
    closeSync(fd);
  }
}

function floorReadSync(): number {
  let bytes = 0;
  for (const t of TABLES) bytes += readSyncInto(t);
  return bytes;
}

// --- counting -------------------------------------------------------------------

interface TableCount {
  rows: number;
  bytes: number;
  byState: Record<string, number>;
}

/** `TCP: inuse 5 orphan 0 tw 113 alloc 10 mem 1` (net/ipv4/proc.c): the namespace's TIME_WAIT sockets. */
function sockstatTimeWait(): number | null {
  const m = /^TCP: .*\btw (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'latin1'));
  return m?.[1] === undefined ? null : Number(m[1]);
}

function countTables(): { total: number; sockstatTw: number | null; tcp: TableCount; tcp6: TableCount } {
  const out: { tcp: TableCount; tcp6: TableCount } = {
    tcp: { rows: 0, bytes: 0, byState: {} },
    tcp6: { rows: 0, bytes: 0, byState: {} },
  };
  for (const [name, path] of [
    ['tcp', TABLES[0]],
    ['tcp6', TABLES[1]],
  ] as const) {
    const n = readSyncInto(path);
    const c = countRows(floorBuf, n);
    out[name] = { rows: c.rows, bytes: n, byState: c.byState };
  }
  return { total: out.tcp.rows + out.tcp6.rows, sockstatTw: sockstatTimeWait(), ...out };
}

// --- the agent's sample, and where its time goes ----------------------------------

const sampleBuffer = new ProcBuffer();

function sampleInline(): SocketSample {
  return takeSocketSample(SAMPLE_OPTIONS, sampleBuffer, Date.now());
}

interface Breakdown {
  readMs: number;
  parseMs: number;
  modelMs: number;
}

/**
 * The sample's socket-table work, timed per phase. The sample streams each table
 * through the parser chunk by chunk, so in the sample the phases interleave. Here
 * the read is timed alone (the same chunked reads, each chunk copied out), then the
 * parser is timed on those copies, in memory, so its figure holds no kernel time.
 * (Timing read + parse and subtracting the read put the kernel's run-to-run spread
 * into the parse figure: 0 to 380 ms at 250 k on a loaded machine.)
 */
function breakdown(settings: KernelSettings, buffer: ProcBuffer): Breakdown {
  let readMs = 0;
  let parseMs = 0;
  const builder = new SocketTableBuilder(settings.portRange, buffer.records);
  for (const [rel, family] of [
    ['net/tcp', 4],
    ['net/tcp6', 6],
  ] as const) {
    const chunks: Buffer[] = [];
    const t0 = performance.now();
    const r = buffer.stream('/proc', rel, (chunk, length) => {
      chunks.push(Buffer.from(chunk.subarray(0, length)));
    });
    const t1 = performance.now();
    if (!r.ok) throw new Error(r.error);
    const stream = new TcpTableStream(family, SAMPLE_OPTIONS.endianness, builder);
    for (const c of chunks) stream.push(c, c.length);
    stream.end();
    parseMs += performance.now() - t1;
    readMs += t1 - t0;
  }
  const t3 = performance.now();
  computeHeadroom(builder.build(), settings, { rateWindowSeconds: SAMPLE_OPTIONS.rateWindowSeconds, timeWaitAgeThresholdsMs: NAT_THRESHOLDS_MS });
  return { readMs, parseMs, modelMs: performance.now() - t3 };
}

function describeSample(s: SocketSample): Record<string, unknown> {
  return {
    sockets: s.headroom?.sockets ?? null,
    destinations: s.headroom?.destinations.length ?? null,
    socketsByState: s.headroom?.socketsByState ?? null,
    malformedLines: s.malformedLines,
    sources: s.sources.map((x) => `${x.source}:${x.state}`),
    problems: s.problems,
    minHeadroomRatio: s.headroom?.headroomRatioMin ?? null,
  };
}

// --- runners ----------------------------------------------------------------------

type Measure = () => unknown;

/**
 * `warmups` + `runs` rounds; every round runs each measurement once, starting at a
 * different one each round, so slow drift (TIME_WAIT expiry, other load) hits all alike.
 */
async function rounds(
  measures: Record<string, Measure>,
  warmups: number,
  runs: number,
): Promise<Record<string, number[]>> {
  const names = Object.keys(measures);
  const times: Record<string, number[]> = {};
  for (const n of names) times[n] = [];
  for (let r = 0; r < warmups + runs; r++) {
    const line: string[] = [];
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      const fn = measures[name]!;
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      if (r >= warmups) times[name]!.push(ms);
      line.push(`${name} ${fmt(ms)}`);
    }
    log(`${r < warmups ? 'warm-up' : 'run'} ${r < warmups ? r + 1 : r - warmups + 1}/${r < warmups ? warmups : runs} (ms): ${line.join(', ')}`);
  }
  return times;
}

function summariseAll(times: Record<string, number[]>): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  for (const [k, v] of Object.entries(times)) out[k] = summarise(v);
  return out;
}

interface StaticArgs {
  runs: number;
  warmups: number;
  breakdownRuns: number;
  /** nldump's path, or '' where no C compiler built it. */
  nldump: string;
}

async function modeStatic(args: StaticArgs): Promise<unknown> {
  const before = countTables();
  log(`sockets at start: ${before.total} rows (tcp ${before.tcp.rows}, tcp6 ${before.tcp6.rows}), sockstat tw ${String(before.sockstatTw)}`);
  const first = sampleInline();
  if (first.settings === null) throw new Error(`the sample has no kernel settings: ${JSON.stringify(first.sources)}`);
  const settings = first.settings;
  const { low, high } = settings.portRange;
  const sampler = new WorkerSampler(SAMPLE_OPTIONS, 120_000);
  let innerDurations: number[] = [];
  let lastInline = first;
  const last: { worker: SocketSample | null; ss: SsParsed | null; nl: NlDump | null } = { worker: null, ss: null, nl: null };
  let bytes = 0;
  let readsPerFloor = 0;
  const measures: Record<string, Measure> = {
    floorReadSync: () => {
      const r0 = floorReads;
      bytes = floorReadSync();
      readsPerFloor = floorReads - r0;
    },
    sampleInline: () => {
      lastInline = sampleInline();
      innerDurations.push(lastInline.durationMs);
    },
    sampleWorker: async () => {
      last.worker = await sampler.sample(Date.now());
    },
    ssText: ssText,
    ssWalk: ssWalk,
    ssParsed: async () => {
      last.ss = await ssParsed(low, high);
    },
  };
  if (args.nldump !== '') {
    measures['nldump'] = () => {
      last.nl = nldump(args.nldump);
    };
  }
  const times = await rounds(measures, args.warmups, args.runs);
  await sampler.close();
  innerDurations = innerDurations.slice(args.warmups);
  const breakdownBuffer = new ProcBuffer();
  const kept: Breakdown[] = [];
  for (let i = 0; i < args.breakdownRuns; i++) kept.push(breakdown(settings, breakdownBuffer));
  const after = countTables();
  log(`sockets at end: ${after.total} rows, sockstat tw ${String(after.sockstatTw)}`);
  return {
    countBefore: before,
    countAfter: after,
    floorBytes: bytes,
    floorReads: readsPerFloor,
    summary: summariseAll(times),
    times,
    sampleSelfReportedMs: summarise(innerDurations),
    breakdown: {
      readMs: summarise(kept.map((b) => b.readMs)),
      parseMs: summarise(kept.map((b) => b.parseMs)),
      modelMs: summarise(kept.map((b) => b.modelMs)),
    },
    lastInlineSample: describeSample(lastInline),
    lastWorkerSample: last.worker === null ? null : describeSample(last.worker),
    ssParsed: last.ss,
    nldump: last.nl,
    innerMemory: memory(),
  };
}

async function modeSi(args: { runs: number; warmups: number }): Promise<unknown> {
  const before = countTables();
  log(`sockets at start: ${before.total} rows`);
  const sampler = new WorkerSampler(SAMPLE_OPTIONS, 120_000);
  let connections = 0;
  const times = await rounds(
    {
      systeminformation: async () => {
        connections = (await networkConnections()).length;
      },
      sampleInline: sampleInline,
      sampleWorker: () => sampler.sample(Date.now()),
    },
    args.warmups,
    args.runs,
  );
  await sampler.close();
  const after = countTables();
  log(`systeminformation returned ${connections} connections; sockets at end: ${after.total} rows`);
  return { countBefore: before, countAfter: after, connections, summary: summariseAll(times), times, innerMemory: memory() };
}

// --- /metrics ---------------------------------------------------------------------------

interface Scrape {
  ms: number;
  status: number;
  body: string;
}

function get(agent: Agent, port: number, path: string): Promise<Scrape> {
  return new Promise<Scrape>((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function metricValue(body: string, name: string, labels = ''): number | null {
  const esc = (name + labels).replace(/[{}"=]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec(body);
  return m?.[1] === undefined ? null : Number(m[1]);
}

function latencySummary(ms: readonly number[]): Record<string, number> {
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
  return { requests: sorted.length, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: sorted[sorted.length - 1] ?? Number.NaN };
}

async function modeMetrics(args: {
  port: number;
  daemonPid: number;
  seconds: number;
  steadySeconds: number;
  steadyRate: number;
  readyTimeoutS: number;
}): Promise<unknown> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const readyBy = Date.now() + args.readyTimeoutS * 1000;
  let waited = 0;
  for (;;) {
    try {
      const r = await get(agent, args.port, '/readyz');
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > readyBy) throw new Error(`daemon not ready after ${args.readyTimeoutS} s`);
    await new Promise((r) => setTimeout(r, 100));
    waited += 100;
  }
  const readyAt = performance.now();
  const daemonMemoryAtReady = procStatusMemory(args.daemonPid);
  log(`daemon ready after ~${waited} ms of polling; VmHWM so far ${fmt((daemonMemoryAtReady.vmHwmKiB ?? Number.NaN) / 1024)} MiB`);
  const before = countTables();
  for (let i = 0; i < 20; i++) await get(agent, args.port, '/metrics'); // warm-up

  const durations = new Map<number, number>(); // last-sample timestamp → duration
  const record = (body: string): void => {
    const at = metricValue(body, 'nginx_port_last_sample_timestamp_seconds');
    const d = metricValue(body, 'nginx_port_sample_duration_seconds');
    if (at !== null && d !== null) durations.set(at, d * 1000);
  };
  const okSamples = (body: string): number => metricValue(body, 'nginx_port_samples_total', '{result="ok"}') ?? Number.NaN;

  // Steady rate first: requests leave on a fixed schedule whatever the answers do.
  // The daemon's peak RSS after this phase is the memory figure that counts (the
  // agent sampling 100 000+ sockets and being scraped); the back-to-back flood
  // after it is a latency test, and its RSS is reported separately.
  const first = await get(agent, args.port, '/metrics');
  const errors: string[] = [];
  let last = first;
  const steady: number[] = [];
  /** When each steady request left, in seconds after the daemon was ready: where the slow ones fall. */
  const steadyAt: { atS: number; ms: number }[] = [];
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(args.steadySeconds * args.steadyRate);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / args.steadyRate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const atS = (performance.now() - readyAt) / 1000;
    inflight.push(
      get(agent, args.port, '/metrics').then((r) => {
        if (r.status !== 200) errors.push(`status ${r.status}`);
        steady.push(r.ms);
        steadyAt.push({ atS, ms: r.ms });
        record(r.body);
        last = r;
      }),
    );
  }
  await Promise.all(inflight);
  const daemonMemoryAfterSteady = procStatusMemory(args.daemonPid);

  // Back-to-back: the next request leaves as soon as the previous answer is in.
  const samplesAtStart = okSamples(last.body);
  const b2b: number[] = [];
  const until = performance.now() + args.seconds * 1000;
  while (performance.now() < until) {
    const r = await get(agent, args.port, '/metrics');
    if (r.status !== 200) errors.push(`status ${r.status}`);
    b2b.push(r.ms);
    record(r.body);
    last = r;
  }
  const samplesB2b = okSamples(last.body) - samplesAtStart;
  log(`back-to-back: ${b2b.length} requests in ${args.seconds} s, ${samplesB2b} samples landed meanwhile`);

  agent.destroy();
  const after = countTables();
  const sampleDurations = [...durations.values()];
  return {
    countBefore: before,
    countAfter: after,
    backToBack: { seconds: args.seconds, ...latencySummary(b2b), samplesLanded: samplesB2b },
    steady: {
      seconds: args.steadySeconds,
      ratePerSecond: args.steadyRate,
      ...latencySummary(steady),
      slowest: steadyAt.sort((a, b) => b.ms - a.ms).slice(0, 5),
    },
    errors: errors.slice(0, 10),
    errorCount: errors.length,
    daemonSampleDurationMs: { distinctSamplesSeen: sampleDurations.length, ...summarise(sampleDurations) },
    daemonView: {
      established: metricValue(last.body, 'nginx_port_sockets', '{state="established"}'),
      timeWait: metricValue(last.body, 'nginx_port_sockets', '{state="time_wait"}'),
      destinations: metricValue(last.body, 'nginx_port_destinations'),
      eventLoopLagP99Ms: (metricValue(last.body, 'nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000,
      eventLoopLagMaxMs: (metricValue(last.body, 'nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000,
      residentMemoryBytes: metricValue(last.body, 'process_resident_memory_bytes'),
      samplesFailed: (metricValue(last.body, 'nginx_port_samples_total', '{result="error"}') ?? 0) +
        (metricValue(last.body, 'nginx_port_samples_total', '{result="timeout"}') ?? 0),
    },
    metricsBodyBytes: Buffer.byteLength(last.body),
    daemonMemoryAtReady,
    daemonMemoryAfterSteady,
    daemonMemory: procStatusMemory(args.daemonPid),
    innerMemory: memory(),
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const args = JSON.parse(process.argv[3] ?? '{}') as Record<string, unknown>;
  let result: unknown;
  if (mode === 'count') result = countTables();
  else if (mode === 'static') result = await modeStatic(args as unknown as StaticArgs);
  else if (mode === 'si') result = await modeSi(args as unknown as { runs: number; warmups: number });
  else if (mode === 'metrics') result = await modeMetrics(args as unknown as Parameters<typeof modeMetrics>[0]);
  else throw new Error(`unknown mode ${String(mode)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`inner: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
