/**
 * The socket benchmark's results: PASS/FAIL per target and size, the growth curve
 * and the netlink comparison as Markdown tables (the ones in bench/README.md), and
 * everything as JSON under .bench/. Rendering returns strings; main.ts prints them.
 */
import { CONFIG, TARGETS } from './config.js';
import type { Count, Measured, MetricsResult, PhaseTimeWait, SiResult, StaticResult } from './phases.js';
import { fmt, type Summary } from './stats.js';

export interface SizeResult {
  size: number;
  timeWaitTarget: number;
  connections: number;
  settleSeconds: number;
  count: Count;
  static: Measured<StaticResult>;
  si: Measured<SiResult> | null;
  metrics: Measured<MetricsResult>;
}

export interface Check {
  size: number;
  target: string;
  ok: boolean;
  shown: string;
}

const median = (s: Summary | undefined): number => s?.medianMs ?? Number.NaN;
const mb = (kib: number | null): number => ((kib ?? Number.NaN) * 1024) / 1e6;
const ms = (v: number): string => (v >= 100 ? fmt(v, 0) : fmt(v, 1));
const us = (msValue: number, sockets: number): string => fmt((msValue * 1000) / sockets, 2);
const kilo = (n: number): string => `${fmt(n / 1000, 0)} k`;

function byState(c: Count, st: string): number {
  return (c.tcp.byState[st] ?? 0) + (c.tcp6.byState[st] ?? 0);
}

/** The TIME_WAIT count's worst distance from its target during a phase, as a share of the target. */
export function drift(tw: PhaseTimeWait): number {
  if (tw.target === 0) return 0;
  return Math.max(Math.abs(tw.min - tw.target), Math.abs(tw.max - tw.target)) / tw.target;
}

function phases(r: SizeResult): Measured<unknown>[] {
  return [r.static, ...(r.si === null ? [] : [r.si]), r.metrics];
}

export function checks(results: SizeResult[]): Check[] {
  const out: Check[] = [];
  for (const r of results) {
    const s = r.static.result.summary;
    const floor = median(s['floorReadSync']);
    const add = (target: string, ok: boolean, shown: string): void => {
      out.push({ size: r.size, target, ok, shown });
    };
    for (const k of ['sampleInline', 'sampleWorker'] as const) {
      const ratio = median(s[k]) / floor;
      add(`${k === 'sampleInline' ? 'sample (inline)' : 'sample (worker)'} ≤ ${TARGETS.sampleOverFloorMax}× the /proc floor`, ratio <= TARGETS.sampleOverFloorMax, `${fmt(ratio, 2)}×`);
    }
    if (r.si !== null) {
      const x = r.si.result.summary;
      const speedup = Math.min(x.systeminformation.medianMs / x.sampleInline.medianMs, x.systeminformation.medianMs / x.sampleWorker.medianMs);
      add(`systeminformation ≥ ${TARGETS.speedupOverSiMin}× slower than the sample`, speedup >= TARGETS.speedupOverSiMin, `${fmt(speedup, 1)}×`);
    }
    const m = r.metrics.result;
    add(`/metrics p99 < ${TARGETS.metricsP99MsMax} ms, ${m.steady.ratePerSecond}/s while sampling`, m.steady.p99Ms < TARGETS.metricsP99MsMax && m.errorCount === 0, `${fmt(m.steady.p99Ms, 1)} ms`);
    add(`/metrics p99 < ${TARGETS.metricsP99MsMax} ms, back-to-back while sampling`, m.backToBack.p99Ms < TARGETS.metricsP99MsMax && m.errorCount === 0, `${fmt(m.backToBack.p99Ms, 1)} ms`);
    const rss = mb(m.daemonMemoryAfterSteady.vmHwmKiB);
    add(`daemon peak RSS < ${TARGETS.daemonRssMbMax(r.size)} MB`, rss < TARGETS.daemonRssMbMax(r.size), `${fmt(rss, 0)} MB`);
    const worst = Math.max(...phases(r).map((p) => drift(p.timeWait)));
    add(`TIME_WAIT within ${TARGETS.timeWaitDriftMax * 100}% of its target in every phase`, worst <= TARGETS.timeWaitDriftMax, `${fmt(worst * 100, 1)}%`);
  }
  return out;
}

/** The decision rule for a netlink path, judged at the largest size measured. */
export function netlinkVerdict(results: SizeResult[]): string {
  const r = results[results.length - 1];
  if (r === undefined) return 'no size measured';
  const s = r.static.result.summary;
  const floor = median(s['floorReadSync']);
  const nl = median(s['nldump']);
  const walk = median(s['ssWalk']);
  const text = median(s['ssText']);
  const parsed = median(s['ssParsed']);
  const best = Number.isFinite(nl) ? nl : walk;
  const speedup = floor / best;
  const wins = speedup >= TARGETS.netlinkSpeedupMin;
  return (
    `at ${kilo(r.count.total)} sockets the /proc floor is ${ms(floor)} ms; ` +
    (Number.isFinite(nl) ? `a binary netlink dump (nldump) ${ms(nl)} ms (${fmt(floor / nl, 1)}× faster), ` : 'nldump not built (no C compiler), ') +
    `the walk alone (ss with a filter matching nothing) ${ms(walk)} ms (${fmt(floor / walk, 1)}×), ` +
    `ss -tan with its text ${ms(text)} ms (${fmt(floor / text, 1)}×), ss piped and parsed in JS ${ms(parsed)} ms (${fmt(floor / parsed, 1)}×, ` +
    `against the agent's whole sample ${ms(median(s['sampleInline']))} ms). Decision rule (≥ ${TARGETS.netlinkSpeedupMin}× the floor with a binary path): ` +
    (wins ? `met (${fmt(speedup, 1)}×) by a native netlink reader; spawning ss does not meet it` : `not met (${fmt(speedup, 1)}×)`)
  );
}

function timeWaitCell(r: SizeResult): string {
  const worst = Math.max(...phases(r).map((p) => drift(p.timeWait)));
  return `${fmt(worst * 100, 1)}%`;
}

function loadCell(r: SizeResult): string {
  const loads = phases(r).flatMap((p) => [p.load1.start, p.load1.end]);
  return `${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}`;
}

export function growthTable(results: SizeResult[]): string {
  const lines = [
    '| sockets (ESTAB + TW) | /proc floor | µs/socket | sample inline (× floor) | µs/socket | sample via thread (× floor) | of which parse / model | systeminformation (× slower) | `/metrics` p99 at 20/s / back-to-back | daemon peak RSS | TIME_WAIT off target | load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const s = r.static.result.summary;
    const n = r.count.total;
    const floor = median(s['floorReadSync']);
    const inline = median(s['sampleInline']);
    const worker = median(s['sampleWorker']);
    const b = r.static.result.breakdown;
    const si = r.si?.result.summary;
    const siCell = si === undefined ? 'not run' : `${ms(si.systeminformation.medianMs)} ms (${fmt(si.systeminformation.medianMs / si.sampleInline.medianMs, 0)}×)`;
    const m = r.metrics.result;
    lines.push(
      `| ${kilo(n)} (${kilo(byState(r.count, '01'))} + ${kilo(byState(r.count, '06'))}) | ${ms(floor)} ms | ${us(floor, n)} | ${ms(inline)} ms (**${fmt(inline / floor, 2)}×**) | ${us(inline, n)} | ` +
        `${ms(worker)} ms (**${fmt(worker / floor, 2)}×**) | ${ms(b.parseMs.medianMs)} / ${ms(b.modelMs.medianMs)} ms | ${siCell} | ` +
        `${fmt(m.steady.p99Ms, 1)} / ${fmt(m.backToBack.p99Ms, 1)} ms | ${fmt(mb(m.daemonMemoryAfterSteady.vmHwmKiB), 0)} MB | ${timeWaitCell(r)} | ${loadCell(r)} |`,
    );
  }
  return lines.join('\n');
}

export function netlinkTable(results: SizeResult[]): string {
  const lines = [
    '| sockets | /proc floor: read tcp + tcp6 (text) | `ss -tan` (netlink + text) | `ss` walk only (filter matches none) | `ss -tanH` piped, parsed in JS | binary dump, no text (nldump) | floor ÷ binary dump | floor ÷ walk |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const s = r.static.result.summary;
    const floor = median(s['floorReadSync']);
    const nl = median(s['nldump']);
    const walk = median(s['ssWalk']);
    lines.push(
      `| ${kilo(r.count.total)} | ${ms(floor)} ms | ${ms(median(s['ssText']))} ms | ${ms(walk)} ms | ` +
        `${ms(median(s['ssParsed']))} ms | ${Number.isFinite(nl) ? `${ms(nl)} ms` : 'not built'} | ${Number.isFinite(nl) ? `**${fmt(floor / nl, 1)}×**` : '–'} | ${fmt(floor / walk, 1)}× |`,
    );
  }
  return lines.join('\n');
}

/** The console summary: per size, every measure's median and p90. */
export function details(r: SizeResult): string {
  const s = r.static.result.summary;
  const rows: [string, Summary | undefined][] = [
    ['floor: readSync of tcp + tcp6, reused buffer', s['floorReadSync']],
    ['sample: takeSocketSample inline', s['sampleInline']],
    ['sample: WorkerSampler round trip', s['sampleWorker']],
    ['  breakdown: read', r.static.result.breakdown.readMs],
    ['  breakdown: parse', r.static.result.breakdown.parseMs],
    ['  breakdown: model', r.static.result.breakdown.modelMs],
    ['netlink: ss -tanH > /dev/null', s['ssText']],
    [`netlink: ss -tanH '<matches none>' (walk)`, s['ssWalk']],
    ['netlink: ss -tanH | parse in JS', s['ssParsed']],
    ['netlink: nldump (binary, no text)', s['nldump']],
    ['systeminformation.networkConnections()', r.si?.result.summary.systeminformation],
    ['  sample inline, same rounds', r.si?.result.summary.sampleInline],
    ['daemon nginx_port_sample_duration_seconds', r.metrics.result.daemonSampleDurationMs],
  ];
  const out = [`--- ${r.count.total} sockets (${byState(r.count, '01')} ESTABLISHED, ${byState(r.count, '06')} TIME_WAIT; sockstat tw ${String(r.count.sockstatTw)}) ---`];
  out.push(`${'measurement (ms)'.padEnd(46)}${'median'.padStart(10)}${'p90'.padStart(10)}${'runs'.padStart(6)}`);
  for (const [name, x] of rows) {
    if (x === undefined) continue;
    out.push(`${name.padEnd(46)}${fmt(x.medianMs).padStart(10)}${fmt(x.p90Ms).padStart(10)}${String(x.runs).padStart(6)}`);
  }
  const m = r.metrics.result;
  out.push(
    `/metrics: steady ${m.steady.ratePerSecond}/s p50 ${fmt(m.steady.p50Ms, 2)} p99 ${fmt(m.steady.p99Ms, 2)} max ${fmt(m.steady.maxMs, 2)} ms (${m.steady.requests} requests); ` +
      `back-to-back p50 ${fmt(m.backToBack.p50Ms, 2)} p99 ${fmt(m.backToBack.p99Ms, 2)} ms (${m.backToBack.requests} requests); errors ${m.errorCount}`,
  );
  out.push(`/metrics: slowest steady requests ${m.steady.slowest.map((x) => `${fmt(x.ms, 1)} ms at ${fmt(x.atS, 1)} s`).join(', ')} (seconds after the daemon was ready)`);
  out.push(
    `daemon VmHWM: ${fmt(mb(m.daemonMemoryAtReady.vmHwmKiB), 0)} MB when ready, ${fmt(mb(m.daemonMemoryAfterSteady.vmHwmKiB), 0)} MB after ${m.steady.seconds} s at ${m.steady.ratePerSecond}/s, ` +
      `${fmt(mb(m.daemonMemory.vmHwmKiB), 0)} MB after the flood; daemon saw ${String(m.daemonView['established'])} established, ${String(m.daemonView['timeWait'])} time_wait`,
  );
  out.push(`floor: ${fmt(r.static.result.floorBytes / 1e6, 1)} MB of text in ${r.static.result.floorReads} read() calls`);
  for (const [name, p] of [['static', r.static], ['systeminformation', r.si], ['daemon', r.metrics]] as const) {
    if (p === null) continue;
    const tw = p.timeWait;
    out.push(
      `TIME_WAIT during ${name} (${fmt(p.seconds, 0)} s): ${tw.start} → ${tw.end}, min ${tw.min}, max ${tw.max}, target ${tw.target} ` +
        `(worst ${fmt(drift(tw) * 100, 1)}% off); churned ${tw.churned} (${fmt(tw.churned / Math.max(1, tw.seconds), 0)}/s, ${fmt(tw.churnCpuMs / 1000 / Math.max(1, tw.seconds), 2)} CPU); ` +
        `load ${fmt(p.load1.start, 2)} → ${fmt(p.load1.end, 2)}`,
    );
  }
  return out.join('\n');
}

export function renderChecks(all: Check[]): string {
  return all.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${kilo(c.size).padStart(6)}  ${c.target.padEnd(62)} ${c.shown}`).join('\n');
}

export const configSummary = (): string =>
  `sizes ${CONFIG.sizes.join(', ')}; ${CONFIG.timeWaitShare * 100}% TIME_WAIT; ${CONFIG.runs} rounds + ${CONFIG.warmups} warm-up; ` +
  `systeminformation up to ${CONFIG.siMaxSockets} sockets`;
