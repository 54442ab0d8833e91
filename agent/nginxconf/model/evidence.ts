/**
 * nginx's side of the evidence the hint engine weighs: the configuration model,
 * the version, and how each destination is reached. Pure: the snapshot (what
 * read/snapshot.ts read) and the destinations in, the evidence out.
 */
import { versionProblems } from './compat.js';
import { mapDestinations } from './destinations.js';
import { chooseVersion, type VersionAttempt, type VersionFinding, type VersionFrom } from './versionSource.js';
import type { NginxConfigModel, NginxConfigRead, ProxyPass } from './types.js';

/** How nginx's configuration reaches one destination (`ip:port`). */
export interface DestinationRoute {
  /** Upstream groups with a server that resolves to this destination. */
  upstreams: readonly string[];
  /** proxy_pass directives that name this destination directly (no upstream group: no pool possible). */
  direct: readonly ProxyPass[];
}

/** nginx's side of the evidence. Every field may be unknown; rules that need it then say so or stay silent. */
export interface NginxEvidence {
  /** The parsed configuration, or null when none was read. */
  config: NginxConfigModel | null;
  /** Why there is no config, when config is null (e.g. "no --nginx-conf given"). */
  configNote: string | null;
  /** nginx's version (e.g. "1.22.1"), or null when unknown. */
  version: string | null;
  /**
   * Seconds since the config nginx runs took effect (configInEffectSince: its newest
   * worker's start, or its files' newest change when later or when nginx's processes
   * are not visible), or null when unknown. TIME_WAIT sockets older than that were
   * made under the previous settings.
   */
  configChangedSecondsAgo?: number | null;
  /** What configChangedSecondsAgo was read from: nginx's workers, or the config's files. */
  configChangedFrom?: 'workers' | 'files' | null;
  /** Destination (`ip:port`, as the headroom model writes it) → how the config reaches it. */
  routes: ReadonlyMap<string, DestinationRoute>;
}

/** What one read of nginx's configuration and version found. */
export interface NginxSnapshot {
  /** The configuration read, or null when none was (configNote says why). */
  read: NginxConfigRead | null;
  /** The path given, or null when none. */
  configPath: string | null;
  configNote: string | null;
  version: string | null;
  /** Which source gave the version (model/versionSource.ts), or null when none did. */
  versionFrom?: VersionFrom | null;
  /** Where the version came from, or why it is unknown. */
  versionSource: string;
  /** Every version a source gave, and every source tried in vain (the error log's is added later: withLogVersion). */
  versionFound?: VersionFinding[];
  versionAttempts?: VersionAttempt[];
  /** Newest modification time of the config's files (Unix ms), or null. */
  configChangedAtMs: number | null;
  /** When the running nginx last loaded its config, where its processes are visible (read/process.ts). */
  configLoad?: NginxLoad | null;
}

/** When nginx last loaded its config, as its newest serving worker's start shows it. */
export interface NginxLoad {
  /** Unix ms of the newest serving worker's start. */
  atMs: number;
  /** The master whose workers were read (the cheap re-check reads its children only), or null with no master visible. */
  masterPid: number | null;
  detail: string;
}

/**
 * When the config nginx runs took effect, at the latest: nginx cannot have loaded
 * files before they were written, and loads them when its workers start. The later
 * of the two, so a file written after the last reload seen (a reload about to come,
 * or one the daemon has not seen yet) counts from the write.
 */
export function configInEffectSince(snapshot: NginxSnapshot): { atMs: number; from: 'workers' | 'files' } | null {
  const files = snapshot.configChangedAtMs;
  const load = snapshot.configLoad?.atMs ?? null;
  if (load !== null && (files === null || load >= files)) return { atMs: load, from: 'workers' };
  return files === null ? null : { atMs: files, from: 'files' };
}

/**
 * The snapshot with the version nginx wrote in its error log at start-up (or
 * why there is none) taken into account, in its place in the precedence: it
 * decides only when no stronger source gave a version.
 */
export function withLogVersion(snapshot: NginxSnapshot, log: VersionFinding | VersionAttempt | null): NginxSnapshot {
  if (log === null) return snapshot;
  const found = [...(snapshot.versionFound ?? []), ...('version' in log ? [log] : [])];
  const attempts = [...(snapshot.versionAttempts ?? []), ...('version' in log ? [] : [log])];
  return { ...snapshot, ...chooseVersion(found, attempts), versionFound: found, versionAttempts: attempts };
}

/** "file:line: message" for every problem met reading the config, and every host name that did not resolve. */
export function nginxProblems(snapshot: NginxSnapshot): string[] {
  if (snapshot.read === null) return [];
  // Then what this version refuses or mishandles (compat.ts).
  const versioned = versionProblems(snapshot.read.model, snapshot.version);
  return [
    ...[...snapshot.read.model.problems, ...versioned].map((p) => (p.line === null ? `${p.file}: ${p.message}` : `${p.file}:${p.line}: ${p.message}`)),
    ...snapshot.read.dns.failures.map((f) => `${f.host}: ${f.error}`),
  ];
}

function sinceChange(snapshot: NginxSnapshot, nowMs: number): Pick<NginxEvidence, 'configChangedSecondsAgo' | 'configChangedFrom'> {
  const since = configInEffectSince(snapshot);
  return since === null
    ? { configChangedSecondsAgo: null, configChangedFrom: null }
    : { configChangedSecondsAgo: Math.max(0, (nowMs - since.atMs) / 1000), configChangedFrom: since.from };
}

/** Destination → its route (null: unmapped), for one snapshot: the daemon maps each destination once per config read, not once per sample. */
export type RouteCache = Map<string, DestinationRoute | null>;
/** A cache holding more than this is dropped and refilled (destinations that come and go). */
const MAX_CACHED_ROUTES = 10_000;

/** The hint engine's view of nginx for these destinations, at `nowMs`. */
export function nginxEvidence(snapshot: NginxSnapshot, destinations: readonly string[], nowMs: number, cache: RouteCache = new Map()): NginxEvidence {
  const read = snapshot.configNote === null ? snapshot.read : null;
  const routes = new Map<string, DestinationRoute>();
  if (read !== null) {
    if (cache.size > MAX_CACHED_ROUTES) cache.clear();
    const unknown = destinations.filter((d) => !cache.has(d));
    for (const m of mapDestinations(unknown, read.model, read.dns.resolved)) {
      cache.set(m.destination, m.unmapped ? null : { upstreams: m.upstreams.map((u) => u.group.name), direct: m.direct.map((d) => d.proxyPass) });
    }
    for (const d of destinations) {
      const route = cache.get(d);
      if (route != null) routes.set(d, route);
    }
  }
  return {
    config: read === null ? null : read.model,
    configNote: read === null ? snapshot.configNote : null,
    version: snapshot.version,
    routes,
    ...sinceChange(snapshot, nowMs),
  };
}
