/**
 * The measuring phases, each run in a fresh process inside the namespace
 * (inner.ts), and the real daemon for the /metrics phase. Every phase is wrapped in
 * `measured()`, which records the TIME_WAIT count the churners saw from its start to
 * its end (the kernel's own count, at every churner tick) and the load average.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../../agent/nodeFlags.js';
import { CONFIG } from './config.js';
import { log, spawnInNs, waitExit } from './namespace.js';
import type { Population } from './population.js';
import type { Summary } from './stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INNER_JS = fileURLToPath(new URL('./inner.js', import.meta.url));
export const AGENT_JS = join(ROOT, 'dist/agent/main.js');

export async function inner<T>(mode: string, args: Record<string, unknown>): Promise<T> {
  const child = spawnInNs([process.execPath, INNER_JS, mode, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => {
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`inner ${mode} exited with ${code ?? 'a signal'}`);
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

export interface TableCount {
  rows: number;
  bytes: number;
  byState: Record<string, number>;
}
export interface Count {
  total: number;
  sockstatTw: number | null;
  tcp: TableCount;
  tcp6: TableCount;
}
export interface Memory {
  vmHwmKiB: number | null;
  vmRssKiB: number | null;
}
export interface StaticResult {
  countBefore: Count;
  countAfter: Count;
  floorBytes: number;
  floorReads: number;
  summary: Record<string, Summary | undefined>;
  sampleSelfReportedMs: Summary;
  breakdown: { readMs: Summary; parseMs: Summary; modelMs: Summary };
  ssParsed: { rows: number; byState: Record<string, number>; destinations: number; outbound: number } | null;
  nldump: { records: number; bytes: number; recvs: number; byState: Record<string, number> } | null;
  innerMemory: Memory;
}
export interface SiResult {
  countBefore: Count;
  countAfter: Count;
  connections: number;
  summary: Record<'systeminformation' | 'sampleInline' | 'sampleWorker', Summary>;
  innerMemory: Memory;
}
export interface Latency {
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}
export interface MetricsResult {
  countBefore: Count;
  countAfter: Count;
  backToBack: Latency & { seconds: number; samplesLanded: number };
  steady: Latency & { seconds: number; ratePerSecond: number; slowest: { atS: number; ms: number }[] };
  errorCount: number;
  errors: string[];
  daemonSampleDurationMs: Summary & { distinctSamplesSeen: number };
  daemonView: Record<string, number | null>;
  daemonMemory: Memory;
  daemonMemoryAtReady: Memory;
  daemonMemoryAfterSteady: Memory;
  metricsBodyBytes: number;
  innerMemory: Memory;
}

/** The TIME_WAIT count over one phase: the kernel's count at its start and end, and its extremes at every churner tick in between. */
export interface PhaseTimeWait {
  target: number;
  start: number;
  end: number;
  min: number;
  max: number;
  /** Seconds into the phase of the lowest count, and the churn connections on their way then (handshakes, closes). */
  minAtS: number;
  minConnecting: number;
  minClosing: number;
  /** The longest a churner went between two ticks (50 ms apart when it has the CPU). */
  churnTickGapMaxMs: number;
  seconds: number;
  churned: number;
  churnFailed: number;
  /** How long a churn connection took from connect() to its client end in TIME_WAIT (the server end closed), mean and worst, in the phase. */
  churnLifeMeanMs: number;
  churnLifeMaxMs: number;
  churnCpuMs: number;
}

export interface Measured<T> {
  result: T;
  timeWait: PhaseTimeWait;
  load1: { start: number; end: number };
  seconds: number;
}

export async function measured<T>(pop: Population, name: string, fn: () => Promise<T>): Promise<Measured<T>> {
  const start = await pop.timeWaitStats(); // also opens a new window
  const load0 = loadavg()[0]!;
  const t0 = Date.now();
  const result = await fn();
  const seconds = (Date.now() - t0) / 1000;
  const end = await pop.timeWaitStats();
  const timeWait: PhaseTimeWait = {
    target: pop.timeWaitTarget,
    start: start.tw,
    end: end.tw,
    min: end.twMin,
    max: end.twMax,
    minAtS: end.twMinAtS,
    minConnecting: end.twMinConnecting,
    minClosing: end.twMinClosing,
    churnTickGapMaxMs: end.tickGapMaxMs,
    seconds: end.seconds,
    churned: end.made,
    churnFailed: end.failed - start.failed,
    churnLifeMeanMs: end.lifeMeanMs,
    churnLifeMaxMs: end.lifeMaxMs,
    churnCpuMs: end.cpuMs,
  };
  log(
    `  ${name}: ${seconds.toFixed(1)} s; TIME_WAIT ${timeWait.start} → ${timeWait.end} (min ${timeWait.min} at ${timeWait.minAtS.toFixed(1)} s with ${timeWait.minConnecting} + ${timeWait.minClosing} on their way, max ${timeWait.max}, target ${timeWait.target}); ` +
      `churned ${timeWait.churned} connections (each ${timeWait.churnLifeMeanMs.toFixed(1)} ms mean, ${timeWait.churnLifeMaxMs.toFixed(0)} ms worst; ` +
      `${timeWait.churnFailed} failed${end.lastFailure === '' ? '' : `: ${end.lastFailure}`}, ${end.lost - start.lost} lost) using ${(timeWait.churnCpuMs / 1000).toFixed(1)} s CPU, ticks up to ${timeWait.churnTickGapMaxMs.toFixed(0)} ms apart; load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
  );
  return { result, timeWait, load1: { start: load0, end: loadavg()[0]! }, seconds };
}

/** Starts the real daemon in the namespace, loads /metrics from inside it, stops the daemon. */
export async function daemonPhase(): Promise<MetricsResult> {
  const daemonArgs = [
    ...DAEMON_NODE_FLAGS,
    AGENT_JS,
    'run',
    '--listen',
    `127.0.0.1:${CONFIG.daemonPort}`,
    '--sample-interval-ms',
    String(CONFIG.sampleIntervalMs),
    '--max-destinations',
    String(CONFIG.maxDestinations),
    '--log-level',
    'warn',
  ];
  const daemon = spawnInNs([process.execPath, ...daemonArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let daemonLog = '';
  daemon.stderr!.setEncoding('utf8');
  daemon.stderr!.on('data', (s: string) => (daemonLog += s));
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
  } finally {
    daemon.kill('SIGTERM');
  }
  if (!(await waitExit(daemon, 10_000))) log('  daemon did not stop on SIGTERM within 10 s');
  if (daemonLog.trim() !== '') log(`  daemon logged warnings/errors:\n${daemonLog.trim()}`);
  return metrics;
}
