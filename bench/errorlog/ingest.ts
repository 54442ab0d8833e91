/**
 * The agent's side of the error-log benchmark, run as a child process so its peak
 * RSS is the agent's alone:
 *
 *   node dist/bench/errorlog/ingest.js <error.log> [threads]
 *
 * Does what the daemon does with an error log when it starts with
 * --error-log-backfill: the real ErrorLogPipeline (agent/errorlog/pipeline.ts),
 * its Tailer reading the file from its start, a backlog of 32 MiB or more read in
 * parts by worker threads (agent/errorlog/backlog.ts), every line classified
 * into ErrorLogCounts and the findings window. `threads` is
 * --error-log-read-threads (default 0: the daemon's default, one per core up to
 * four; 1: one thread, line by line, as the daemon reads what nginx writes while
 * it runs). The daemon's clock is set one second after the file's last line, so
 * its last five minutes go through the window as they would on a host where the
 * log was being written up to the start. No watcher: the benchmark drives the
 * stat-based passes until the whole file is read. Prints one JSON line: lines,
 * seconds, lines per second, VmHWM, and the counts by kind and destination.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { errorLogReadThreadCount, resolveConfig } from '../../agent/config.js';
import { BACKLOG_MIN_BYTES, ErrorLogPipeline } from '../../agent/errorlog/pipeline.js';

export interface IngestResult {
  /** The threads that read the backlog (1: line by line in the main thread). */
  threads: number;
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

/** The time of the file's last line nginx wrote ("YYYY/MM/DD HH:MM:SS", read as UTC), in ms. */
function lastLineMs(path: string, size: number): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const stamps = [...buf.toString('latin1').matchAll(/^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) /gm)];
    const m = stamps.at(-1);
    if (m === undefined) throw new Error(`${path}: no nginx time stamp in its last 64 KiB`);
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: ingest.js <error.log> [threads]');
  const size = statSync(path).size;
  const resolved = await resolveConfig({
    env: {},
    flags: { errorLogs: [path], errorLogBackfill: true, errorLogTimezone: 'UTC', errorLogReadThreads: Number(process.argv[3] ?? 0) },
  });
  if (!resolved.ok) throw new Error(resolved.problems.join('; '));
  const config = resolved.config;
  const nowMs = lastLineMs(path, size) + 1000;
  const pipeline = new ErrorLogPipeline(config, pino({ level: 'silent' }), { now: () => nowMs });
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await pipeline.start();
  // The passes after the first run on their own (each queues the next while there is more); wait for the last byte.
  for (;;) {
    const st = pipeline.status()[0];
    if (st === undefined) throw new Error(`the pipeline does not tail ${path}`);
    if (st.state !== 'tailing') throw new Error(`${path}: ${st.state} ${st.detail ?? ''}`);
    if (st.bytes >= size) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const st = pipeline.status()[0]!;
  await pipeline.stop();
  const counts = pipeline.counts;
  const threads = errorLogReadThreadCount(config, availableParallelism());
  const result: IngestResult = {
    threads: threads >= 2 && size >= BACKLOG_MIN_BYTES ? threads : 1,
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
