/**
 * The daemon's copy of nginx's side, re-read every nginxConfReloadMs (nginx
 * reloads change upstreams; DNS answers change), at once on SIGHUP, and at once
 * when nginx itself reloads: where its master is visible, its workers are looked
 * at every LOAD_CHECK_MS (a few small /proc reads), and new ones mean a new
 * config. Problems are logged when they change, not on every read.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../io/clock.js';
import { readNginxLoadOfMaster } from './read/process.js';
import { nginxEvidence, nginxProblems, withLogVersion, type NginxEvidence, type NginxSnapshot, type RouteCache } from './model/evidence.js';
import type { VersionAttempt, VersionFinding } from './model/versionSource.js';
import { loadNginx, type NginxSettings } from './read/snapshot.js';

/** How often nginx's workers are looked at for a reload. */
const LOAD_CHECK_MS = 1000;
/** Workers this much newer than the last load seen mean a new one (the age read from /proc is to 10 ms). */
const NEW_LOAD_MS = 500;

export class NginxWatcher {
  private loadTimer: NodeJS.Timeout | null = null;
  private checking = false;
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
    private readonly clock: Clock = systemClock,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      void this.reloadNow();
    }, this.settings.nginxConfReloadMs);
    this.timer.unref();
    this.loadTimer = setInterval(() => {
      void this.checkLoad();
    }, LOAD_CHECK_MS);
    this.loadTimer.unref();
  }

  /** Re-reads everything when nginx's master has started workers since the last read, or is gone. */
  private async checkLoad(): Promise<void> {
    const known = this.snapshot?.configLoad;
    if (this.checking || this.reading !== null || known == null || known.masterPid === null) return;
    this.checking = true;
    try {
      const load = readNginxLoadOfMaster(this.settings.procRoot, known.masterPid, this.clock.now());
      if (load !== null && load.atMs - known.atMs < NEW_LOAD_MS) return;
      this.logger.info({ masterPid: known.masterPid, load: load?.detail ?? null }, load === null ? 'nginx master gone: re-reading the nginx config' : 'nginx reloaded: re-reading its config');
      await this.reloadNow();
      if (load === null && this.snapshot?.configLoad?.masterPid === known.masterPid) {
        // The master is there but its children list is not (a kernel without CONFIG_PROC_CHILDREN): the periodic re-read stands in.
        this.logger.info({ masterPid: known.masterPid }, `nginx reloads are seen at the next config re-read (every ${this.settings.nginxConfReloadMs} ms): /proc has no children list here`);
        if (this.loadTimer !== null) clearInterval(this.loadTimer);
        this.loadTimer = null;
      }
    } finally {
      this.checking = false;
    }
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
    if (this.loadTimer !== null) clearInterval(this.loadTimer);
    await this.reading;
  }

  private async refresh(): Promise<void> {
    const snapshot = await loadNginx(this.settings, this.clock);
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
