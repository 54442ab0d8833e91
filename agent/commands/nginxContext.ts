/**
 * nginx's side of the evidence, shared by `agent diagnose` and the daemon: the
 * configuration (read-only, never executed), the version (from --nginx-version,
 * or `nginx -v` run without a shell only when --nginx-bin is given), and how
 * each destination maps to an upstream group.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { DEFAULT_NGINX_CONF, type Config } from '../config.js';
import type { DestinationRoute, NginxEvidence } from '../nginxconf/model/evidence.js';
import { mapDestinations } from '../nginxconf/model/destinations.js';
import { readNginxConfig, type NginxConfigRead } from '../nginxconf/read/config.js';
import { readNginxVersion } from '../nginxconf/read/version.js';

/** Time limit for `nginx -v`. */
const VERSION_TIMEOUT_MS = 5000;

export interface NginxSnapshot {
  /** The configuration read, or null when none was (configNote says why). */
  read: NginxConfigRead | null;
  /** The path given, or null when none. */
  configPath: string | null;
  configNote: string | null;
  version: string | null;
  /** Where the version came from, or why it is unknown. */
  versionSource: string;
  /** Newest modification time of the config's files (Unix ms), or null. */
  configChangedAtMs: number | null;
}

/** The newest mtime among the files read: when the settings nginx was given last changed. */
function newestMtimeMs(files: readonly string[]): number | null {
  let newest: number | null = null;
  for (const f of files) {
    try {
      const m = statSync(f).mtimeMs;
      if (newest === null || m > newest) newest = m;
    } catch {
      // Gone since it was read: the next read reports it.
    }
  }
  return newest;
}

async function loadVersion(config: Config): Promise<{ version: string | null; versionSource: string }> {
  if (config.nginxVersion !== '') return { version: config.nginxVersion, versionSource: '--nginx-version' };
  if (config.nginxBin === '') return { version: null, versionSource: 'unknown: give --nginx-version or --nginx-bin' };
  const v = await readNginxVersion(config.nginxBin, VERSION_TIMEOUT_MS);
  return v.ok ? { version: v.version, versionSource: `${config.nginxBin} -v (${v.product})` } : { version: null, versionSource: `unknown: ${v.error}` };
}

export async function loadNginx(config: Config): Promise<NginxSnapshot> {
  const versionPromise = loadVersion(config);
  const path = config.nginxConf;
  let read: NginxConfigRead | null = null;
  let configNote: string | null = null;
  if (path === '') configNote = 'nginx config not read (--nginx-conf is empty)';
  else if (path === DEFAULT_NGINX_CONF && !existsSync(path)) configNote = `nginx config not read: ${path} does not exist (give --nginx-conf)`;
  else {
    read = await readNginxConfig(path, { dnsTimeoutMs: config.dnsTimeoutMs });
    if (read.model.files.length === 0) {
      configNote = `nginx config not read: ${read.model.problems[0]?.message ?? `${path} could not be read`}`;
    }
  }
  const { version, versionSource } = await versionPromise;
  const configChangedAtMs = read === null ? null : newestMtimeMs(read.source === 'dump' ? [read.path] : read.model.files);
  return { read, configPath: path === '' ? null : path, configNote, version, versionSource, configChangedAtMs };
}

/** "file:line: message" for every problem met reading the config, and every host name that did not resolve. */
export function nginxProblems(s: NginxSnapshot): string[] {
  if (s.read === null) return [];
  return [
    ...s.read.model.problems.map((p) => (p.line === null ? `${p.file}: ${p.message}` : `${p.file}:${p.line}: ${p.message}`)),
    ...s.read.dns.failures.map((f) => `${f.host}: ${f.error}`),
  ];
}

/** Destination → its route (null: unmapped), for one snapshot: the daemon maps each destination once per config read, not once per sample. */
export type RouteCache = Map<string, DestinationRoute | null>;
/** A cache holding more than this is dropped and refilled (destinations that come and go). */
const MAX_CACHED_ROUTES = 10_000;

/** The hint engine's view of nginx for these destinations. */
export function nginxEvidence(s: NginxSnapshot, destinations: readonly string[], nowMs: number, cache: RouteCache = new Map()): NginxEvidence {
  const usable = s.read !== null && s.configNote === null;
  const routes = new Map<string, DestinationRoute>();
  if (usable) {
    if (cache.size > MAX_CACHED_ROUTES) cache.clear();
    const unknown = destinations.filter((d) => !cache.has(d));
    for (const m of mapDestinations(unknown, s.read!.model, s.read!.dns.resolved)) {
      cache.set(m.destination, m.unmapped ? null : { upstreams: m.upstreams.map((u) => u.group.name), direct: m.direct.map((d) => d.proxyPass) });
    }
    for (const d of destinations) {
      const r = cache.get(d);
      if (r != null) routes.set(d, r);
    }
  }
  return {
    config: usable ? s.read!.model : null,
    configNote: usable ? null : s.configNote,
    version: s.version,
    cpuCount: availableParallelism(),
    routes,
    configChangedSecondsAgo: s.configChangedAtMs === null ? null : Math.max(0, (nowMs - s.configChangedAtMs) / 1000),
  };
}

/**
 * The daemon's copy of the snapshot, re-read every nginxConfReloadMs (nginx
 * reloads change upstreams; DNS answers change). Problems are logged when they
 * change, not on every read.
 */
export class NginxWatcher {
  private snapshot: NginxSnapshot | null = null;
  /** Routes mapped from the current snapshot; a new snapshot starts a new cache. */
  private routes: RouteCache = new Map();
  private timer: NodeJS.Timeout | null = null;
  private lastProblems = '';
  private reading: Promise<void> | null = null;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      void this.reloadNow();
    }, this.config.nginxConfReloadMs);
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
    const s = await loadNginx(this.config);
    // Without a usable main file, the note says it all (it quotes the read error).
    const problems = s.configNote !== null ? [s.configNote] : nginxProblems(s);
    const key = problems.join('\n');
    if (key !== this.lastProblems) {
      if (problems.length > 0) this.logger.warn({ problems }, `nginx config: ${problems.length} problem(s); using what could be read`);
      else if (s.read !== null) {
        this.logger.info(
          { files: s.read.model.files.length, upstreams: s.read.model.upstreams.length, version: s.version },
          `nginx config read: ${s.read.model.files.length} file(s), ${s.read.model.upstreams.length} upstream group(s)`,
        );
      }
      this.lastProblems = key;
    }
    this.snapshot = s;
    this.routes = new Map();
  }

  evidence(destinations: readonly string[], nowMs: number): NginxEvidence | undefined {
    return this.snapshot === null ? undefined : nginxEvidence(this.snapshot, destinations, nowMs, this.routes);
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
