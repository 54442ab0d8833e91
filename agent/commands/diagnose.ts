/**
 * `agent diagnose`: one sample now, a report for the on-call human (or JSON), and
 * a monitoring-plugin exit code. Shares every reader, parser and model with the
 * daemon; the findings come from the same assess() (diagnosis/diagnosis.ts).
 */
import { availableParallelism, endianness } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorLogReadThreadCount, errorLogWindow, errorLogZone, type Config } from '../config.js';
import { describeTimeZone } from '../core/timeZone.js';
import { diagnoseSample } from '../diagnosis/diagnosis.js';
import type { HostFacts, Report } from '../diagnosis/report.js';
import { mergeRecent, type RecentSummary } from '../errorlog/model/recent.js';
import { timelineBucketMs } from '../errorlog/model/timeline.js';
import { expandErrorLogPatterns } from '../errorlog/read/paths.js';
import { readInParts, readRecent, ScanThreads } from '../errorlog/read/recent.js';
import { discardPrestarted } from '../errorlog/read/scanWorker.js';
import { renderReport, type ReportFormat } from '../export/render/report.js';
import { EXIT_CODES, type Thresholds } from '../hints/findings.js';
import { hostContext } from '../host/context.js';
import { readHostFacts } from '../host/facts.js';
import type { Clock } from '../io/clock.js';
import { describeReadFailure } from '../io/files.js';
import { nginxEvidence, nginxProblems, withLogVersion } from '../nginxconf/model/evidence.js';
import { loadNginx } from '../nginxconf/read/snapshot.js';
import { computeNat, natTimeWaitThresholdsMs } from '../nat/model/nat.js';
import { withHostRateEvidence } from '../sockets/model/hostRates.js';
import { counterRate } from '../sockets/model/rates.js';
import { ProcBuffer } from '../sockets/read/procfs.js';
import { readActiveOpens } from '../sockets/collectors/snmp.js';
import { takeSocketSample } from '../sockets/sample.js';
import { agentVersion } from '../version.js';
import { logVersionSource } from './logVersion.js';

export interface DiagnoseOptions {
  format: ReportFormat;
  /** Wait this long and read Tcp ActiveOpens again to measure connect attempts per second; 0 skips it. */
  rateIntervalMs: number;
  /** Read host facts with systeminformation (off in golden tests). */
  hostFacts: boolean;
  clock: Clock;
}

/** Upper bound on bytes scanned backwards per file, so a huge window cannot read a huge file whole. */
const MAX_SCAN_BYTES = 512 * 1024 * 1024;

/**
 * Worker threads for the error logs, started now so that their start-up overlaps
 * the socket sample: only when a plain file is large enough to be read in parts
 * (read/recent.ts), as many as the threads asked for (this one stays free for
 * the sample, nginx's config and the host facts while they read). 0 asks for as
 * many as the machine has cores, at most four (errorLogReadThreadCount). They
 * compile their hot code at once (nodeFlags.ts, SCAN_V8_FLAGS): a one-shot
 * command has no event loop to keep responsive.
 */
function startScanThreads(config: Config, files: readonly string[]): ScanThreads | null {
  const threads = errorLogReadThreadCount(config, availableParallelism());
  if (threads >= 2 && files.some(readInParts)) return new ScanThreads(threads);
  // The entry's guess from the command line (main.ts) was wrong: its worker is not needed.
  discardPrestarted();
  return null;
}

/**
 * The window (--since, or --from/--until) of every configured error log; null
 * when none is configured or present. A window that ended before `nowMs` (the
 * socket sample's time) is marked past.
 */
async function readErrorLogs(config: Config, files: readonly string[], threads: ScanThreads | null, nowMs: number): Promise<{ summary: RecentSummary; problems: string[]; timeZone: string } | null> {
  if (files.length === 0) return null;
  const window = errorLogWindow(config, nowMs);
  const zone = errorLogZone(config);
  // Events by kind over the window, for the HTML report's chart: about 60 round buckets.
  const untilMs = Math.min(window.untilMs, nowMs);
  const timeline = { bucketMs: timelineBucketMs(Math.max(1, untilMs - window.sinceMs)), untilMs };
  const parts: RecentSummary[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      parts.push(await readRecent(file, window, { maxScanBytes: MAX_SCAN_BYTES, zone, timeline, ...(threads !== null ? { threads } : {}) }));
    } catch (err) {
      problems.push(
        (err as NodeJS.ErrnoException).code === 'ENOTREG'
          ? `${file}: ${(err as Error).message}, not a regular file: refused (nginx's official image links error.log to /dev/stderr)`
          : describeReadFailure(file, err).error,
      );
    }
  }
  return { summary: mergeRecent({ ...window, past: window.untilMs < nowMs }, parts), problems, timeZone: describeTimeZone(zone) };
}

/** Connect attempts per second over rateIntervalMs from two Tcp ActiveOpens readings, or null. */
async function measureConnectRate(procRoot: string, first: number | null, startedMs: number, intervalMs: number, clock: Clock): Promise<number | null> {
  if (intervalMs <= 0 || first === null) return null;
  const wait = intervalMs - (clock.now() - startedMs);
  if (wait > 0) await sleep(wait);
  const again = readActiveOpens(procRoot);
  return counterRate({ value: first, atMs: startedMs }, again === null ? null : { value: again, atMs: clock.now() });
}

/** The sample's destinations, then those only the error log names. */
function destinationsToMap(fromSockets: readonly string[], log: RecentSummary | undefined): string[] {
  return [...new Set([...fromSockets, ...Object.keys(log?.byDestination ?? {})])];
}

export interface DiagnoseResult {
  output: string;
  exitCode: number;
  report: Report;
}

/** Text and JSON never load the HTML renderer. */
async function render(report: Report, format: ReportFormat, levels: Thresholds): Promise<string> {
  if (format !== 'html') return renderReport(report, format, levels);
  const { renderReportPage } = await import('../export/render/html/page.js');
  return renderReportPage(report, levels, agentVersion());
}

export async function diagnose(config: Config, opts: DiagnoseOptions): Promise<DiagnoseResult> {
  const started = opts.clock.now();
  const logFiles = expandErrorLogPatterns(config.errorLogs);
  const scanThreads = startScanThreads(config, logFiles);
  try {
    return await diagnoseWith(config, opts, started, logFiles, scanThreads);
  } finally {
    await scanThreads?.close();
  }
}

async function diagnoseWith(config: Config, opts: DiagnoseOptions, started: number, logFiles: readonly string[], scanThreads: ScanThreads | null): Promise<DiagnoseResult> {
  const hostPromise: Promise<HostFacts | null> = opts.hostFacts ? readHostFacts() : Promise.resolve(null);
  const nginxPromise = loadNginx(config, opts.clock);
  // The NATs' timers under 60 s: the sample counts each destination's TIME_WAIT younger than them.
  const thresholds = natTimeWaitThresholdsMs(config.nat);
  const taken = takeSocketSample(
    { procRoot: config.procRoot, endianness: endianness(), rateWindowSeconds: config.rateWindowSeconds, ...(thresholds.length > 0 ? { timeWaitAgeThresholdsMs: thresholds } : {}) },
    new ProcBuffer(),
    started,
  );
  // The error logs are read while the connect-rate wait runs, not after it: the
  // second ActiveOpens reading is stamped when it is taken, so a scan that keeps
  // this thread busy past the interval only lengthens the span the rate is over.
  const rate = measureConnectRate(config.procRoot, taken.counters.activeOpens, started, opts.rateIntervalMs, opts.clock);
  const errorLogRead = readErrorLogs(config, logFiles, scanThreads, started);
  // Awaited below; until then a failure must not count as unhandled.
  errorLogRead.catch(() => undefined);
  const connectAttemptsPerSecond = await rate;
  // Where TIME_WAIT hides a destination's connect rate, the ActiveOpens rate just measured stands in for it.
  const sample = withHostRateEvidence(taken, connectAttemptsPerSecond);
  const levels = { warningHeadroomRatio: config.warningHeadroomRatio, criticalHeadroomRatio: config.criticalHeadroomRatio };
  const nat = config.nat.length > 0 && sample.headroom !== null ? computeNat(config.nat, sample.headroom, thresholds) : undefined;
  const errorLog = await errorLogRead;
  // nginx's start-up line in the window is a version source too, below the ones loadNginx tried.
  const nginx = withLogVersion(
    await nginxPromise,
    errorLog === null ? null : logVersionSource(errorLog.summary.nginxVersion, errorLog.summary.files, errorLog.summary.sinceMs),
  );
  const report = diagnoseSample({
    sample,
    thresholds: levels,
    top: config.reportTop,
    host: await hostPromise,
    connectAttemptsPerSecond,
    generatedAtMs: started,
    context: hostContext(started),
    ...(errorLog !== null ? { errorLog } : {}),
    nginx: {
      // The error log's destinations too: one with no socket now (exhaustion that has passed) still belongs to its upstream group.
      evidence: nginxEvidence(nginx, destinationsToMap(sample.headroom?.destinations.map((d) => d.destination) ?? [], errorLog?.summary), started),
      configPath: nginx.configPath,
      files: nginx.read?.model.files ?? [],
      problems: nginxProblems(nginx),
      versionSource: nginx.versionSource,
      versionFrom: nginx.versionFrom ?? null,
      load: nginx.configLoad ?? null,
    },
    ...(nat !== undefined ? { nat } : {}),
  });
  return {
    output: await render(report, opts.format, levels),
    exitCode: EXIT_CODES[report.status],
    report,
  };
}
