/**
 * nginx's upstream connection pools as the config-aware rules see them, and the
 * config text their fixes print. Pure. The effective pool of a group (what each
 * worker keeps, by version) is nginxconf/model/pool.ts; what each version
 * accepts is nginxconf/model/compat.ts.
 *
 * nginx facts (ngx_http_upstream_keepalive_module.c, ngx_http_proxy_module.c and
 * ngx_http_proxy_v2_module.c at the release tags named):
 * - Before 1.29.7 a pool is reused only over HTTP/1.1 without "Connection: close":
 *   `proxy_http_version 1.1;` and `proxy_set_header Connection "";` in the
 *   location (the defaults were HTTP/1.0 and "Connection: close"). From
 *   release-1.29.7 HTTP/1.1 is the default (ngx_http_proxy_merge_loc_conf,
 *   commit 6bb27a631) and the default Connection value is "" (not sent).
 * - `proxy_http_version 2` (1.29.4+) sends requests over HTTP/2 and puts the
 *   connection back in the same keepalive cache after a clean stream
 *   (`u->keepalive = 1` in ngx_http_proxy_v2_module.c), one request at a time per
 *   connection (no multiplexing). It needs no Connection header: for HTTP/2
 *   $proxy_internal_connection is not found (1.29.4–1.29.6) and the default is ""
 *   from 1.29.7. A non-empty `proxy_set_header Connection …` is sent as a regular
 *   "connection" field (ngx_http_proxy_v2_create_request has no hop-by-hop
 *   filter), which HTTP/2 forbids (RFC 9113 §8.2.2). So HTTP/2 is never "fixed"
 *   by going back to 1.1.
 * - A bare `proxy_pass http://host:port` has no upstream block, so no pool.
 * - `keepalive_requests` (default 1000 since 1.19.10, 100 before) and
 *   `keepalive_time` (default 1 h) retire pooled connections: nginx closes them,
 *   so their TIME_WAIT lands on this host.
 * - `proxy_bind` sets IP_BIND_ADDRESS_NO_PORT since 1.11.4, so each extra source
 *   IP adds a whole port range per destination.
 */
import type { MapDefinition, NginxConfigModel, ProxyPass, UpstreamGroup } from '../nginxconf/model/types.js';
import { accepts, HTTP2_UPSTREAM_SINCE, KEEPALIVE_DEFAULTS_SINCE } from '../nginxconf/model/compat.js';
import { DEFAULT_POOL_SINCE_1_29_7, effectivePool, type EffectivePool } from '../nginxconf/model/pool.js';
import { TIME_WAIT_SECONDS } from '../core/tcp.js';
import { perSecond } from './types.js';

export { DEFAULT_POOL_SINCE_1_29_7, HTTP2_UPSTREAM_SINCE, KEEPALIVE_DEFAULTS_SINCE };
/** keepalive_requests default: 1000 since 1.19.10, 100 before. */
const KEEPALIVE_REQUESTS_1000_SINCE = '1.19.10';
export const DEFAULT_KEEPALIVE_TIME_MS = 3_600_000;

/** true/false, or null when the version is unknown. */
export const atLeast = accepts;

export type Pool = EffectivePool;

/** The group's effective pool on this version (nginxconf/model/pool.ts). */
export function poolOf(group: UpstreamGroup, version: string | null): Pool {
  return effectivePool(group, version);
}

export interface Workers {
  count: number;
  text: string;
}

export function workersOf(config: NginxConfigModel, cpuCount: number | null): Workers {
  const configured = config.workerProcesses;
  if (configured === null) return { count: 1, text: 'worker_processes not set (1)' };
  if (configured === 'auto') {
    return cpuCount === null
      ? { count: 1, text: 'worker_processes auto (CPU count unknown; 1 assumed)' }
      : { count: cpuCount, text: `worker_processes auto (${cpuCount} CPUs)` };
  }
  return { count: configured, text: `worker_processes ${configured}` };
}

/** The requests nginx sends over one pooled connection before closing it, and how that number was decided. */
export function keepaliveRequestsOf(group: UpstreamGroup, version: string | null): { count: number; text: string } {
  if (group.keepaliveRequests !== null) return { count: group.keepaliveRequests, text: `keepalive_requests ${group.keepaliveRequests}` };
  return atLeast(version, KEEPALIVE_REQUESTS_1000_SINCE) === false
    ? { count: 100, text: 'keepalive_requests not set (100 before 1.19.10)' }
    : { count: 1000, text: 'keepalive_requests not set (1000)' };
}

export const where = (at: { file: string; line: number }): string => `${at.file}:${at.line}`;

export interface MissingPoolLines {
  /** Lines to add to the location. */
  lines: string[];
  /** What is wrong, one phrase each, for the evidence. */
  notes: string[];
  /** Changes to a `map` whose value closes connections. */
  mapFixes: string[];
}

/** The lines a proxy_pass location lacks for an upstream pool to be reused; none when nothing is needed. */
export function missingPoolLines(pass: ProxyPass, version: string | null, maps: readonly MapDefinition[] = []): MissingPoolLines {
  if (pass.httpVersion === '2') return http2Notes(pass);
  const modern = atLeast(version, KEEPALIVE_DEFAULTS_SINCE);
  const lines: string[] = [];
  const notes: string[] = [];
  const mapFixes: string[] = [];
  if (pass.httpVersion !== '1.1' && !(pass.httpVersion === null && modern === true)) {
    lines.push('proxy_http_version 1.1;');
    notes.push(pass.httpVersion === null ? 'proxy_http_version not set (HTTP/1.0 before 1.29.7)' : `proxy_http_version ${pass.httpVersion}`);
  }
  const connection = pass.connectionHeader;
  if (connection === null) {
    if (modern !== true) {
      lines.push('proxy_set_header Connection "";');
      notes.push('Connection header not cleared (nginx sends "Connection: close" before 1.29.7)');
    }
  } else if (/^close$/i.test(connection.trim())) {
    lines.push('proxy_set_header Connection "";');
    notes.push(`proxy_set_header Connection "${connection}" closes every upstream connection`);
  } else if (connection.includes('$')) {
    const map = maps.find((m) => m.variable === connection.trim());
    if (map?.values.some((v) => /^close$/i.test(v)) === true) {
      // The common websocket recipe maps requests without Upgrade to "close": those never return to the pool.
      notes.push(`Connection is set to ${connection}, and map ${map.source} ${map.variable} at ${where(map.at)} yields "close" for some requests: nginx closes those upstream connections`);
      mapFixes.push(`# ${where(map.at)}, map ${map.source} ${map.variable}: give the value "close" as an empty string instead, e.g.`, "    ''  '';   # was: '' close;");
    } else {
      notes.push(`Connection is set to ${connection}: if that variable yields "close" for ordinary requests (a common websocket map does), the pool is never reused`);
    }
  }
  return { lines, notes, mapFixes };
}

/**
 * An HTTP/2 location (proxy_http_version 2) needs no line for the pool to be
 * reused. A non-empty Connection header is still worth saying: nginx sends it as
 * a regular field over HTTP/2, which is malformed there.
 */
function http2Notes(pass: ProxyPass): MissingPoolLines {
  const connection = pass.connectionHeader;
  const notes =
    connection === null || connection.trim() === ''
      ? []
      : [
          `proxy_http_version 2 at ${pass.httpVersionAt == null ? 'this location' : where(pass.httpVersionAt)}: proxy_set_header Connection "${connection}" is sent as a regular ` +
            '"connection" field, which HTTP/2 forbids (RFC 9113 §8.2.2; backends may reject the request): remove it, HTTP/2 needs no Connection header',
        ];
  return { lines: [], notes, mapFixes: [] };
}

/** A new upstream block, for a group that does not exist yet. */
export function newUpstreamBlock(name: string, servers: readonly string[], extra: readonly string[]): string[] {
  return [`upstream ${name} {`, ...servers.map((s) => `    ${s}`), ...extra.map((e) => `    ${e}`), '}'];
}

/** A change to one directive of an upstream block: its new text (with any comment), or null to remove it. */
export type BlockEdit = readonly [name: string, text: string | null];

/**
 * The group's block as it reads after `edits`: every line as the operator wrote
 * it (servers with all their parameters, zone, the balancer, resolver…), a
 * directive an edit names replaced in place or removed, and the ones the block
 * lacks added at its end. A keepalive line written before the balancer moves to
 * the end (before 1.29.7 the balancer read after it drops the pool).
 */
export function editedUpstreamBlock(group: UpstreamGroup, edits: readonly BlockEdit[]): string[] {
  const pending = new Map<string, string | null>(edits);
  const body: string[] = [];
  for (const l of group.lines ?? fallbackLines(group)) {
    if (!pending.has(l.name)) {
      body.push(l.text);
      continue;
    }
    if (l.name === 'keepalive' && group.keepaliveBeforeBalancer === true) continue; // re-added at the end
    const text = pending.get(l.name) ?? null;
    pending.delete(l.name);
    if (text !== null) body.push(text);
  }
  for (const text of pending.values()) if (text !== null) body.push(text);
  return [`upstream ${group.name} {`, ...body.map((b) => `    ${b}`), '}'];
}

/** A hand-built group without its lines: its servers and keepalive settings. */
function fallbackLines(group: UpstreamGroup): { name: string; text: string }[] {
  return [
    ...group.servers.map((s) => ({ name: 'server', text: serverLine(s) })),
    ...(group.keepalive !== null ? [{ name: 'keepalive', text: `keepalive ${group.keepalive}${group.keepaliveLocal === true ? ' local' : ''};` }] : []),
    ...(group.keepaliveRequests !== null ? [{ name: 'keepalive_requests', text: `keepalive_requests ${group.keepaliveRequests};` }] : []),
    ...(group.keepaliveTimeMs !== null ? [{ name: 'keepalive_time', text: `keepalive_time ${group.keepaliveTimeMs / 1000}s;` }] : []),
  ];
}

/** A server line as the operator wrote it; rebuilt from the model for a hand-built one. */
export function serverLine(server: UpstreamGroup['servers'][number]): string {
  if (server.text !== undefined) return server.text;
  const params = [
    ...(server.weight !== 1 ? [`weight=${server.weight}`] : []),
    ...(server.maxConns !== null ? [`max_conns=${server.maxConns}`] : []),
    ...(server.backup ? ['backup'] : []),
    ...(server.down ? ['down'] : []),
    ...(server.service != null ? [`service=${server.service}`] : []),
    ...(server.resolve === true ? ['resolve'] : []),
  ];
  return `server ${[server.address, ...params].join(' ')};`;
}

/**
 * The keepalive line that gives a pool of `size` per worker on this version, or
 * null when the version's default already does (1.29.7+: 32, local). `local`
 * (1.29.7+ only) keeps cached connections with the location that opened them:
 * by default a new size keeps what the 1.29.7 default does; a group with its own
 * `keepalive N` keeps its mode. With the version unknown or older, plain
 * `keepalive N`, which every version accepts.
 */
export function keepaliveLine(size: number, version: string | null, comment = '', local?: boolean): string | null {
  const modern = atLeast(version, KEEPALIVE_DEFAULTS_SINCE) === true;
  const isLocal = modern && (local ?? true);
  if (isLocal && size === DEFAULT_POOL_SINCE_1_29_7) return null;
  return `keepalive ${size}${isLocal ? ' local' : ''};${comment === '' ? '' : `   # ${comment}`}`;
}

/** The next 1, 2 or 5 × 10^n at or above x. */
export function niceCeil(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * power >= x) return m * power;
  return 10 * power;
}

/** Idle connections per worker worth keeping: the observed concurrency spread over the workers, with room to spare. */
export function suggestedPool(concurrency: number, workers: number, current: number | null): number {
  const perWorker = Math.ceil((1.5 * concurrency) / workers);
  const rounded = Math.max(32, Math.ceil(perWorker / 16) * 16);
  return current === null ? rounded : Math.max(rounded, current * 2);
}

export function locationsOf(config: NginxConfigModel, group: string): ProxyPass[] {
  return config.proxyPasses.filter((p) => (p.module ?? 'http') === 'http' && p.upstream === group);
}

/** A location's proxy_pass in context, with lines to add after it. */
export function passContext(pass: ProxyPass, extra: readonly string[]): string[] {
  return [`# ${where(pass.at)}, ${pass.context}:`, `    proxy_pass ${pass.target};`, ...extra.map((e) => `    ${e}`)];
}

/** The new-connection rate one destination sustains without TIME_WAIT reuse. */
export const sustainable = (capacity: number): string => `${perSecond(capacity / TIME_WAIT_SECONDS)}/s`;

/** nginx's default worker_connections (ngx_event.c, NGX_DEFAULT_CONNECTIONS) when events {} does not set it. */
export const DEFAULT_WORKER_CONNECTIONS = 512;
