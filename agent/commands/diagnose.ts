/**
 * `agent diagnose`: one sample now, a report for the on-call human (or JSON), and
 * a monitoring-plugin exit code. Shares every reader, parser and model with the
 * daemon; the findings come from the same assess() (diagnosis/diagnosis.ts).
 */
import { endianness } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { durationMs, type Config } from '../config.js';
import { diagnoseSample } from '../diagnosis/diagnosis.js';
import type { HostFacts, Report } from '../diagnosis/report.js';
import { mergeRecent, type RecentSummary } from '../errorlog/model/recent.js';
import { expandErrorLogPatterns } from '../errorlog/read/paths.js';
import { readRecent } from '../errorlog/read/recent.js';
import { renderReport } from '../export/render/report.js';
import { EXIT_CODES } from '../hints/findings.js';
import { hostContext } from '../host/context.js';
import { readHostFacts } from '../host/facts.js';
import type { Clock } from '../io/clock.js';
import { describeReadFailure } from '../io/files.js';
import { nginxEvidence, nginxProblems } from '../nginxconf/model/evidence.js';
import { loadNginx } from '../nginxconf/read/snapshot.js';
import { computeNat, natTimeWaitThresholdsMs } from '../nat/model/nat.js';
import { withHostRateEvidence } from '../sockets/model/hostRates.js';
import { counterRate } from '../sockets/model/rates.js';
import { ProcBuffer } from '../sockets/read/procfs.js';
import { readActiveOpens } from '../sockets/collectors/snmp.js';
import { takeSocketSample } from '../sockets/sample.js';

export interface DiagnoseOptions {
  json: boolean;
  /** Wait this long and read Tcp ActiveOpens again to measure connect attempts per second; 0 skips it. */
  rateIntervalMs: number;
  /** Read host facts with systeminformation (off in golden tests). */
  hostFacts: boolean;
  clock: Clock;
}

/** Upper bound on bytes scanned backwards per file, so a huge window cannot read a huge file whole. */
const MAX_SCAN_BYTES = 512 * 1024 * 1024;

/** The --since window of every configured error log; null when none is configured or present. */
async function readErrorLogs(config: Config, nowMs: number): Promise<{ summary: RecentSummary; problems: string[] } | null> {
  const files = expandErrorLogPatterns(config.errorLogs);
  if (files.length === 0) return null;
  const sinceMs = nowMs - durationMs(config.since);
  const parts: RecentSummary[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      parts.push(await readRecent(file, sinceMs, { maxScanBytes: MAX_SCAN_BYTES }));
    } catch (err) {
      problems.push(
        (err as NodeJS.ErrnoException).code === 'ENOTREG'
          ? `${file}: ${(err as Error).message}, not a regular file: refused (nginx's official image links error.log to /dev/stderr)`
          : describeReadFailure(file, err).error,
      );
    }
  }
  return { summary: mergeRecent(sinceMs, parts), problems };
}

/** Connect attempts per second over rateIntervalMs from two Tcp ActiveOpens readings, or null. */
async function measureConnectRate(procRoot: string, first: number | null, startedMs: number, intervalMs: number, clock: Clock): Promise<number | null> {
  if (intervalMs <= 0 || first === null) return null;
  const wait = intervalMs - (clock.now() - startedMs);
  if (wait > 0) await sleep(wait);
  const again = readActiveOpens(procRoot);
  return counterRate({ value: first, atMs: startedMs }, again === null ? null : { value: again, atMs: clock.now() });
}

export interface DiagnoseResult {
  output: string;
  exitCode: number;
  report: Report;
}

export async function diagnose(config: Config, opts: DiagnoseOptions): Promise<DiagnoseResult> {
  const started = opts.clock.now();
  const hostPromise: Promise<HostFacts | null> = opts.hostFacts ? readHostFacts() : Promise.resolve(null);
  const nginxPromise = loadNginx(config);
  // The NATs' timers under 60 s: the sample counts each destination's TIME_WAIT younger than them.
  const thresholds = natTimeWaitThresholdsMs(config.nat);
  const taken = takeSocketSample(
    { procRoot: config.procRoot, endianness: endianness(), rateWindowSeconds: config.rateWindowSeconds, ...(thresholds.length > 0 ? { timeWaitAgeThresholdsMs: thresholds } : {}) },
    new ProcBuffer(),
    started,
  );
  const connectAttemptsPerSecond = await measureConnectRate(config.procRoot, taken.counters.activeOpens, started, opts.rateIntervalMs, opts.clock);
  // Where TIME_WAIT hides a destination's connect rate, the ActiveOpens rate just measured stands in for it.
  const sample = withHostRateEvidence(taken, connectAttemptsPerSecond);
  const levels = { warningHeadroomRatio: config.warningHeadroomRatio, criticalHeadroomRatio: config.criticalHeadroomRatio };
  const nat = config.nat.length > 0 && sample.headroom !== null ? computeNat(config.nat, sample.headroom, thresholds) : undefined;
  const errorLog = await readErrorLogs(config, started);
  const nginx = await nginxPromise;
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
      evidence: nginxEvidence(nginx, sample.headroom?.destinations.map((d) => d.destination) ?? [], started),
      configPath: nginx.configPath,
      files: nginx.read?.model.files ?? [],
      problems: nginxProblems(nginx),
      versionSource: nginx.versionSource,
    },
    ...(nat !== undefined ? { nat } : {}),
  });
  return {
    output: renderReport(report, opts.json ? 'json' : 'text', levels),
    exitCode: EXIT_CODES[report.status],
    report,
  };
}
