/**
 * The agent's side of the error-log benchmark, run as a child process so its peak
 * RSS is the agent's alone:
 *
 *   node dist/bench/errorlog/ingest.js <error.log>
 *
 * Does what the daemon does with an error log (agent/errorlog/pipeline.ts): the
 * real Tailer reads the file from its start (backfill), every line goes through
 * classifyInto (classifyLine's fields in one reused record) into ErrorLogCounts.
 * No watcher and no timer: the benchmark drives the stat-based passes itself until
 * the whole file is read. Prints one JSON line:
 * lines, seconds, lines per second, VmHWM, and the counts by kind and destination.
 */
import { readFileSync, statSync } from 'node:fs';
import { pino } from 'pino';
import { DEFAULTS } from '../../agent/config.js';
import { ErrorLogCounts } from '../../agent/errorlog/model/counts.js';
import { RollingErrorWindow } from '../../agent/errorlog/model/rolling.js';
import { FINDINGS_WINDOW_MS } from '../../agent/errorlog/pipeline.js';
import { classifyInto, newLineFields, TimeMemo } from '../../agent/errorlog/parse/classify.js';
import { Tailer } from '../../agent/errorlog/tail/tailer.js';

export interface IngestResult {
  lines: number;
  unparsed: number;
  tooLong: number;
  bytes: number;
  seconds: number;
  /** CPU time (user + system) of this process over the same span: less sensitive than wall time to other load on the machine. */
  cpuSeconds: number;
  linesPerSecond: number;
  /** Peak resident set of this process, from /proc/self/status. */
  vmHwmKiB: number | null;
  series: { kind: string; destination: string; count: number }[];
}

function vmHwmKiB(): number | null {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : null;
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: ingest.js <error.log>');
  const size = statSync(path).size;
  const counts = new ErrorLogCounts(DEFAULTS.maxDestinations);
  const recent = new RollingErrorWindow(FINDINGS_WINDOW_MS, counts);
  const memo = new TimeMemo();
  const fields = newLineFields();
  const tailer = new Tailer({
    patterns: [path],
    fromStart: true,
    maxLineBytes: DEFAULTS.maxLineBytes,
    reconcileIntervalMs: 0,
    watch: false,
    logger: pino({ level: 'silent' }),
    // As ErrorLogPipeline wires it. The daemon passes the wall clock as "now"; here each
    // event is taken as current, so every one goes through the findings window's buckets
    // (the generated log's times may lie far in the past, which the window would skip).
    onLine: (_path, line) => {
      if (classifyInto(line, fields, memo)) {
        recent.add(fields, line, fields.timeMs);
        counts.add(fields);
      } else counts.addUnparsed();
    },
  });
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await tailer.start();
  // Each pass reads at most its budget per file and queues the next one; a pass
  // that follows ours finds nothing left once bytes reach the size.
  for (;;) {
    const st = tailer.status()[0];
    if (st === undefined) throw new Error(`the tailer does not track ${path}`);
    if (st.state !== 'tailing') throw new Error(`${path}: ${st.state} ${st.detail ?? ''}`);
    if (st.bytes >= size) break;
    await tailer.reconcile();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const st = tailer.status()[0]!;
  await tailer.stop();
  const result: IngestResult = {
    lines: counts.lines,
    unparsed: counts.unparsed,
    tooLong: st.discarded.too_long,
    bytes: st.bytes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    linesPerSecond: counts.lines / seconds,
    vmHwmKiB: vmHwmKiB(),
    series: counts.series().filter((s) => s.count > 0),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
