/**
 * Daemon wiring for the error logs: tailer → classifier → counts. The metrics read
 * the counts and the tailer's per-file status at scrape time.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { errorLogReadThreadCount, errorLogZone, type Config } from '../config.js';
import type { Clock } from '../io/clock.js';
import { ErrorLogCounts } from './model/counts.js';
import type { RecentSummary } from './model/recent.js';
import { RollingErrorWindow } from './model/rolling.js';
import { ThreadedBacklogReader, type PartResult } from './backlog.js';
import { classifyInto, ERROR_KINDS, escapeUntrusted, newLineFields, TimeMemo, type LineFields } from './parse/classify.js';
import { startupVersion } from './parse/startupVersion.js';
import type { StartupVersionSeen } from './model/recent.js';
import { onlyDefault } from './read/paths.js';
import { ROTATION_TYPES, type RotationType } from './model/rotation.js';
import { Tailer, type TailedFileStatus } from './tail/tailer.js';

export interface ErrorLogTotals {
  tooLong: number;
  rotations: Record<RotationType, number>;
}

/** How far back the daemon's findings look into the error logs. */
export const FINDINGS_WINDOW_MS = 5 * 60_000;

/** A backlog at least this large (a backfilled file) is read in parts by worker threads (backlog.ts); a smaller one here, line by line. */
export const BACKLOG_MIN_BYTES = 32 * 1024 * 1024;

export class ErrorLogPipeline {
  readonly counts: ErrorLogCounts;
  /** The last FINDINGS_WINDOW_MS of events, for the hint engine. */
  readonly recent: RollingErrorWindow;
  private readonly tailer: Tailer | null;
  /** The newest start-up line nginx wrote in a tailed log (its version), kept for as long as the daemon runs. */
  private version: StartupVersionSeen | null = null;

  /** The line record take() fills: the window and the counts read its fields and keep none of it. */
  private readonly fields: LineFields = newLineFields();
  private readonly memo: TimeMemo;
  private applyFailed = false;

  constructor(
    config: Config,
    logger: Logger,
    private readonly clock: Clock,
  ) {
    this.counts = new ErrorLogCounts(config.maxDestinations);
    this.recent = new RollingErrorWindow(FINDINGS_WINDOW_MS, this.counts);
    // nginx stamps its lines in its own zone, which in a sidecar may not be the agent's (--error-log-timezone).
    const zone = errorLogZone(config);
    this.memo = new TimeMemo(zone);
    const log = logger.child({ component: 'errorlog' });
    // An empty list (`"errorLogs": []` in a file, NGINX_PORT_AGENT_ERROR_LOGS="") says
    // there is none to tail, as `agent diagnose` reads it; the tailer needs a path.
    if (config.errorLogs.length === 0) {
      log.info('no error log to tail: none configured');
      this.tailer = null;
      return;
    }
    if (onlyDefault(config.errorLogs) && !existsSync(config.errorLogs[0]!)) {
      log.info(`no error log to tail: ${config.errorLogs[0]!} does not exist (set --error-log)`);
      this.tailer = null;
      return;
    }
    // With backfill, a large file is read in parts by worker threads; one thread (errorLogReadThreads 1) reads it here.
    const threads = errorLogReadThreadCount(config, availableParallelism());
    const backlog =
      config.errorLogBackfill && threads >= 2
        ? new ThreadedBacklogReader({
            threads,
            minBytes: BACKLOG_MIN_BYTES,
            maxLineBytes: config.maxLineBytes,
            zone,
            windowMs: FINDINGS_WINDOW_MS,
            now: () => clock.now(),
            apply: (part) => {
              this.takePart(part);
            },
            // As the tailer does for a line handler that throws: said once, and the lines keep coming.
            onApplyError: (err) => {
              if (!this.applyFailed) log.error({ err }, 'taking a part of an error-log backlog failed; lines keep coming');
              this.applyFailed = true;
            },
          })
        : null;
    this.tailer = new Tailer({
      patterns: [...config.errorLogs],
      fromStart: config.errorLogBackfill,
      maxLineBytes: config.maxLineBytes,
      reconcileIntervalMs: 500,
      now: () => clock.now(),
      logger, // the tailer names itself (component "errorlog-tailer")
      onLine: (_path, line) => {
        this.take(line);
      },
      ...(backlog !== null ? { backlog } : {}),
    });
  }

  /** One line read from a log: into the window, the counts and the version seen. */
  private take(line: string): void {
    const fields = this.fields;
    if (classifyInto(line, fields, this.memo)) {
      this.recent.add(fields, line, this.clock.now()); // first: it may copy the totals before this event
      this.counts.add(fields);
      const v = startupVersion(fields);
      if (v !== null && (this.version === null || fields.timeMs >= this.version.timeMs)) this.version = { ...v, timeMs: fields.timeMs, line: escapeUntrusted(line, 300) };
    } else {
      this.recent.addUnparsed(this.clock.now());
      this.counts.addUnparsed();
    }
  }

  /** One part of a backlog read by the worker threads (backlog.ts), in file order: what take() would have done with its lines. */
  takePart(part: PartResult): void {
    const kinds = ERROR_KINDS.length;
    // The destinations first, in the order the lines named them: the counts' label limit admits them so.
    for (const d of part.destinations) this.counts.labelFor(d);
    part.destinations.forEach((d, i) => {
      for (let k = 0; k < kinds; k++) {
        const n = part.counts[i * kinds + k]!;
        if (n === 0) continue;
        this.recent.addOlder(ERROR_KINDS[k]!, d, n); // first, as add() before counts.add()
        this.counts.addMany(d, k, n, part.lastMs[k]!);
      }
    });
    for (const r of part.replay) {
      if (typeof r === 'string') this.take(r);
      else {
        for (let i = 0; i < r; i++) {
          this.recent.addUnparsed(this.clock.now());
          this.counts.addUnparsed();
        }
      }
    }
  }

  /** The version nginx announced in the newest start-up line the daemon has read, or null. */
  startupVersion(): StartupVersionSeen | null {
    return this.version;
  }

  /** Whether any error log is configured (and so whether its evidence means anything). */
  get enabled(): boolean {
    return this.tailer !== null;
  }

  async start(): Promise<void> {
    await this.tailer?.start();
  }

  async stop(): Promise<void> {
    await this.tailer?.stop();
  }

  status(): TailedFileStatus[] {
    return this.tailer?.status() ?? [];
  }

  totals(): ErrorLogTotals {
    const rotations = Object.fromEntries(ROTATION_TYPES.map((t) => [t, 0])) as Record<RotationType, number>;
    let tooLong = 0;
    for (const s of this.status()) {
      tooLong += s.discarded.too_long;
      for (const t of ROTATION_TYPES) rotations[t] += s.rotations[t];
    }
    return { tooLong, rotations };
  }

  /** The recent window as the report shows it, for the files being tailed. */
  summary(nowMs: number): RecentSummary {
    return this.recent.summary(nowMs, this.status().map((s) => s.path));
  }

  /** Events read since the start, by kind (every destination). */
  kindTotals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.counts.series()) out[s.kind] = (out[s.kind] ?? 0) + s.count;
    return out;
  }

  /** One source per tailed file: up while it is being tailed. */
  sources(): { source: string; up: boolean }[] {
    return this.status().map((s) => ({ source: `error_log:${s.path}`, up: s.state === 'tailing' }));
  }
}
