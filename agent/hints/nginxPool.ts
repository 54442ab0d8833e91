/**
 * nginx's upstream connection pools as the config-aware rules see them, and the
 * config text their fixes print. Pure.
 *
 * nginx facts (ngx_http_upstream_keepalive_module, ngx_http_proxy_module docs):
 * - `keepalive N` caches up to N idle upstream connections per worker. Before
 *   1.29.7 a group without it has no pool, and the pool also needs
 *   `proxy_http_version 1.1` and `proxy_set_header Connection ""` (nginx otherwise
 *   talks HTTP/1.0 with "Connection: close"). From 1.29.7 an explicit upstream
 *   block keeps 32 idle connections by default and HTTP/1.1 is the default.
 * - A bare `proxy_pass http://host:port` has no upstream block, so no pool.
 * - `keepalive_requests` (default 1000 since 1.19.10, 100 before) and
 *   `keepalive_time` (default 1 h) retire pooled connections: nginx closes them,
 *   so their TIME_WAIT lands on this host.
 * - `proxy_bind` sets IP_BIND_ADDRESS_NO_PORT since 1.11.4, so each extra source
 *   IP adds a whole port range per destination.
 */
import type { MapDefinition, NginxConfigModel, ProxyPass, UpstreamGroup } from '../nginxconf/model/types.js';
import { compareVersions } from '../nginxconf/model/version.js';
import { TIME_WAIT_SECONDS } from '../core/tcp.js';
import { perSecond } from './types.js';

/** From this version nginx pools 32 connections per explicit upstream and speaks HTTP/1.1 upstream by default. */
export const KEEPALIVE_DEFAULTS_SINCE = '1.29.7';
export const DEFAULT_POOL_SINCE_1_29_7 = 32;
/** keepalive_requests default: 1000 since 1.19.10, 100 before. */
const KEEPALIVE_REQUESTS_1000_SINCE = '1.19.10';
export const DEFAULT_KEEPALIVE_TIME_MS = 3_600_000;

/** true/false, or null when the version is unknown. */
export function atLeast(version: string | null, min: string): boolean | null {
  return version === null ? null : compareVersions(version, min) >= 0;
}

export interface Pool {
  /** Idle connections kept per worker, or null when there is no pool (or it is unknown). */
  size: number | null;
  /** How size was decided. */
  source: 'directive' | 'default' | 'none' | 'unknown';
}

export function poolOf(group: UpstreamGroup, version: string | null): Pool {
  if (group.keepalive !== null) return { size: group.keepalive, source: 'directive' };
  const modern = atLeast(version, KEEPALIVE_DEFAULTS_SINCE);
  if (modern === true) return { size: DEFAULT_POOL_SINCE_1_29_7, source: 'default' };
  return modern === false ? { size: null, source: 'none' } : { size: null, source: 'unknown' };
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

/** The upstream-block text with `keepalive` (and optionally other lines) added, as it would read after the fix. */
export function upstreamBlock(name: string, servers: readonly string[], extra: readonly string[]): string[] {
  return [`upstream ${name} {`, ...servers.map((s) => `    ${s}`), ...extra.map((e) => `    ${e}`), '}'];
}

export function serverLine(server: UpstreamGroup['servers'][number]): string {
  const params = [
    ...(server.weight !== 1 ? [`weight=${server.weight}`] : []),
    ...(server.maxConns !== null ? [`max_conns=${server.maxConns}`] : []),
    ...(server.backup ? ['backup'] : []),
    ...(server.down ? ['down'] : []),
  ];
  return `server ${[server.address, ...params].join(' ')};`;
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
