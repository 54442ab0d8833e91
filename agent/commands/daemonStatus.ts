/**
 * What the daemon knows after each sample: the report `agent diagnose` would
 * print (built by the same diagnoseSample(), so its findings come from the same
 * assess()), the findings view of /api/findings, and the hour of history the
 * status page draws. The error-log section is the daemon's rolling window,
 * not a scan back to --since, and says so.
 */
import type { Config } from '../config.js';
import { diagnoseSample } from '../diagnosis/diagnosis.js';
import { SampleHistory } from '../diagnosis/history.js';
import type { HostFacts, NginxReportInput, Report } from '../diagnosis/report.js';
import type { StatusView } from '../diagnosis/status.js';
import { FINDINGS_WINDOW_MS, type ErrorLogPipeline } from '../errorlog/pipeline.js';
import type { FindingsView } from '../export/server.js';
import type { Thresholds } from '../hints/findings.js';
import { hostContext } from '../host/context.js';
import { readHostFacts } from '../host/facts.js';
import type { Clock } from '../io/clock.js';
import { nginxProblems } from '../nginxconf/model/evidence.js';
import type { NginxWatcher } from '../nginxconf/watch.js';
import type { NatModel } from '../nat/model/nat.js';
import type { SocketSample } from '../sockets/model/types.js';

/** Destinations mapped to nginx upstreams per sample, least headroom first. */
const MAX_MAPPED_DESTINATIONS = 1000;
/** The same for each NAT, largest share first. */
const MAX_MAPPED_NAT_DESTINATIONS = 100;

/** What the report's error-log section says about the daemon's window. */
export const DAEMON_ERROR_LOG_WINDOW = `the daemon's rolling window: the last ${FINDINGS_WINDOW_MS / 60_000} minutes, in 10 s buckets (per destination only eaddrnotavail is kept)`;

export interface DaemonStatusDeps {
  config: Config;
  thresholds: Thresholds;
  version: string;
  clock: Clock;
  errorLogs: ErrorLogPipeline;
  nginx: NginxWatcher;
  /** Read the host's facts once for the report header, as diagnose does. */
  hostFacts: boolean;
}

export class DaemonStatus {
  private report: Report | null = null;
  private readonly history: SampleHistory;
  private host: HostFacts | null = null;

  constructor(private readonly deps: DaemonStatusDeps) {
    this.history = new SampleHistory(deps.config.sampleIntervalMs);
    if (deps.hostFacts) {
      void readHostFacts().then((h) => {
        this.host = h;
      });
    }
  }

  /** nginx's side of the report, as diagnose builds it, from the watcher's last read. */
  private nginxReport(destinations: string[], nowMs: number): NginxReportInput | undefined {
    const snapshot = this.deps.nginx.current();
    const evidence = this.deps.nginx.evidence(destinations, nowMs);
    if (snapshot === null || evidence === undefined) return undefined;
    return { evidence, configPath: snapshot.configPath, files: snapshot.read?.model.files ?? [], problems: nginxProblems(snapshot), versionSource: snapshot.versionSource, versionFrom: snapshot.versionFrom ?? null, load: snapshot.configLoad ?? null };
  }

  /** Builds the sample's report; null (the last report kept) when the sample has no headroom model. */
  onSample(sample: SocketSample, connectAttemptsPerSecond: number | null, nat: readonly NatModel[] = []): Report | null {
    if (sample.headroom === null || sample.settings === null) return null; // source_up says why
    const { config, errorLogs, clock } = this.deps;
    const errorLog = errorLogs.enabled ? errorLogs.summary(clock.now()) : undefined;
    // Only the destinations a rule may look at need mapping to upstream groups: the worst ones come first, then
    // those only the error log names (exhaustion that has passed still belongs to its group).
    // The NATs' worst destinations too: a NAT runs short where the kernel has plenty.
    const mapped = [
      ...sample.headroom.destinations.slice(0, MAX_MAPPED_DESTINATIONS).map((d) => d.destination),
      ...nat.flatMap((n) => n.destinations.slice(0, MAX_MAPPED_NAT_DESTINATIONS).map((d) => d.destination)),
    ];
    const nginxInput = this.nginxReport([...new Set([...mapped, ...Object.keys(errorLog?.byDestination ?? {})])], sample.takenAtMs);
    const report = diagnoseSample({
      sample,
      thresholds: this.deps.thresholds,
      top: config.reportTop,
      host: this.host,
      connectAttemptsPerSecond,
      generatedAtMs: sample.takenAtMs,
      context: hostContext(sample.takenAtMs),
      ...(errorLog !== undefined ? { errorLog: { summary: errorLog, problems: [], window: DAEMON_ERROR_LOG_WINDOW } } : {}),
      ...(nginxInput !== undefined ? { nginx: nginxInput } : {}),
      ...(nat.length > 0 ? { nat } : {}),
    });
    this.report = report;
    this.history.record(report, sample.takenAtMs, errorLogs.enabled ? errorLogs.kindTotals() : null);
    return report;
  }

  /** /api/findings: the last report's findings, or null before the first. */
  findings(): FindingsView | null {
    const r = this.report;
    return r === null ? null : { generatedAt: r.generatedAt, status: r.status, findings: r.findings };
  }

  /** /api/status and the page: the last report and the hour behind it, or null before the first. */
  view(): StatusView | null {
    if (this.report === null) return null;
    return {
      report: this.report,
      history: this.history.snapshot(this.deps.clock.now()),
      thresholds: this.deps.thresholds,
      sampleIntervalMs: this.deps.config.sampleIntervalMs,
      version: this.deps.version,
      agentSources: [...this.deps.errorLogs.sources(), ...this.deps.nginx.sources()],
    };
  }
}
