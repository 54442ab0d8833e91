/**
 * The daemon's copy of nginx's side, re-read every nginxConfReloadMs (nginx
 * reloads change upstreams; DNS answers change) and at once on SIGHUP. Problems
 * are logged when they change, not on every read.
 */
import type { Logger } from 'pino';
import { nginxEvidence, nginxProblems, withLogVersion, type NginxEvidence, type NginxSnapshot, type RouteCache } from './model/evidence.js';
import type { VersionAttempt, VersionFinding } from './model/versionSource.js';
import { loadNginx, type NginxSettings } from './read/snapshot.js';

export class NginxWatcher {
  private snapshot: NginxSnapshot | null = null;
  /** Routes mapped from the current snapshot; a new snapshot starts a new cache. */
  private routes: RouteCache = new Map();
  private timer: NodeJS.Timeout | null = null;
  private lastProblems = '';
  private reading: Promise<void> | null = null;
  /** The effective version last logged, so a change (the error log's start-up line arriving) is logged once. */
  private loggedVersion: string | null | undefined = undefined;

  /**
   * `logVersion`: the version nginx announced at start-up in an error log the
   * daemon tails, if any; it counts when no stronger source gave one.
   */
  constructor(
    private readonly settings: NginxSettings & { nginxConfReloadMs: number },
    private readonly logger: Logger,
    private readonly logVersion: () => VersionFinding | VersionAttempt | null = () => null,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      void this.reloadNow();
    }, this.settings.nginxConfReloadMs);
    this.timer.unref();
  }

  /** Re-reads the config now (SIGHUP), unless a read is already under way. */
  reloadNow(): Promise<void> {
    this.reading ??= this.refresh().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.reading;
  }

  private async refresh(): Promise<void> {
    const snapshot = await loadNginx(this.settings);
    // Without a usable main file, the note says it all (it quotes the read error).
    const problems = snapshot.configNote !== null ? [snapshot.configNote] : nginxProblems(snapshot);
    const key = problems.join('\n');
    if (key !== this.lastProblems) {
      if (problems.length > 0) this.logger.warn({ problems }, `nginx config: ${problems.length} problem(s); using what could be read`);
      else if (snapshot.read !== null) {
        this.logger.info(
          { files: snapshot.read.model.files.length, upstreams: snapshot.read.model.upstreams.length, version: snapshot.version },
          `nginx config read: ${snapshot.read.model.files.length} file(s), ${snapshot.read.model.upstreams.length} upstream group(s)`,
        );
      }
      this.lastProblems = key;
    }
    this.snapshot = snapshot;
    this.routes = new Map();
  }

  /** The last snapshot read, with the error log's start-up version taken into account; null before the first read. */
  current(): NginxSnapshot | null {
    return this.snapshot === null ? null : withLogVersion(this.snapshot, this.logVersion());
  }

  evidence(destinations: readonly string[], nowMs: number): NginxEvidence | undefined {
    const snapshot = this.current();
    if (snapshot === null) return undefined;
    if (snapshot.version !== this.loggedVersion) {
      this.logger.info({ version: snapshot.version, versionFrom: snapshot.versionFrom ?? null }, `nginx version: ${snapshot.version ?? 'unknown'} (${snapshot.versionSource})`);
      this.loggedVersion = snapshot.version;
    }
    return nginxEvidence(snapshot, destinations, nowMs, this.routes);
  }

  /**
   * nginx_port_source_up{source="nginx_config"}: up while the main file reads. Absent
   * when no config is in play (none given, or the default path does not exist): the
   * last read says which, so a scrape does no file system call.
   */
  sources(): { source: string; up: boolean }[] {
    if (this.snapshot?.read == null) return [];
    return [{ source: 'nginx_config', up: this.snapshot.configNote === null }];
  }
}
