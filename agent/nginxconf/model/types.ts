/**
 * The nginx configuration as the hint engine sees it: upstream groups, every
 * proxy_pass with the settings in force where it appears, and the worker limits.
 * Pure data; built by `extractModel` from the parsed directive tree.
 */

/** Where a directive was written: the file (as nginx resolved it) and its 1-based line. */
export interface SourceLocation {
  file: string;
  line: number;
}

/** Something the reader or parser could not use. The rest of the config is still used. */
export interface ConfigProblem {
  file: string;
  /** null when the whole file is affected (unreadable, missing include). */
  line: number | null;
  message: string;
}

export interface UpstreamServer {
  /** The address as written: `10.0.0.5:8080`, `backend.local`, `[::1]:9000`, `unix:/run/app.sock`. */
  address: string;
  /** Host part without brackets (`10.0.0.5`, `backend.local`, `::1`); null for unix sockets. */
  host: string | null;
  /** Port, with nginx's default of 80 applied; null for unix sockets. */
  port: number | null;
  weight: number;
  backup: boolean;
  down: boolean;
  /** `max_conns=N`, or null when unlimited. */
  maxConns: number | null;
  /** `resolve`: nginx re-resolves the name at run time (1.27.3+ open source; needs `zone` and a resolver). */
  resolve?: boolean;
  /** `service=NAME`: the servers come from DNS SRV records (1.27.3+; needs `resolve`, a name and no port). Null when absent. */
  service?: string | null;
  /**
   * The line as written (`server 10.0.0.5:8080 max_fails=3 fail_timeout=30s;`),
   * quotes and escapes kept, so a fix that prints the block keeps every parameter.
   * Always set by extractModel; absent in hand-built models.
   */
  text?: string;
  at: SourceLocation;
}

/** A load-balancing method directive of an upstream block (`hash`, `ip_hash`, `least_conn`, `random`). */
export interface UpstreamBalancer {
  name: string;
  at: SourceLocation;
}

/** A simple directive inside an upstream block, as written, for printing the block back. */
export interface UpstreamLine {
  name: string;
  /** The directive as written, with its `;`. */
  text: string;
  at: SourceLocation;
}

export interface UpstreamGroup {
  name: string;
  servers: UpstreamServer[];
  /**
   * `keepalive N` (idle connections cached per worker), or null when the directive
   * is absent. 0 is `keepalive 0`, which turns the pool off (accepted from 1.29.7).
   * What nginx actually keeps is the effective pool (model/pool.ts), which also
   * depends on the version.
   */
  keepalive: number | null;
  /** `keepalive N local` (1.29.7+): cached connections are reused only by the location that opened them. */
  keepaliveLocal?: boolean;
  /** Where `keepalive` is written, or null when absent. */
  keepaliveAt?: SourceLocation | null;
  /**
   * The load-balancing method, or null for round robin. Before 1.29.7 one written
   * after `keepalive` replaces the keepalive module's hook, and the pool is lost.
   */
  balancer?: UpstreamBalancer | null;
  /** True when `keepalive` is written before the balancer directive: nginx before 1.29.7 then drops the pool. */
  keepaliveBeforeBalancer?: boolean;
  /** `zone NAME [size]`: the group lives in shared memory (required for `server … resolve`). Null when absent. */
  zone?: string | null;
  /** True when a `resolver` applies: in the block (1.27.3+) or at the http/stream level. */
  resolver?: boolean;
  /** Every simple directive of the block in order, as written. Always set by extractModel. */
  lines?: UpstreamLine[];
  /** `keepalive_requests N`, or null when absent (nginx's default then applies: 1000 since 1.19.10). */
  keepaliveRequests: number | null;
  /** `keepalive_time`, in ms, or null when absent (default 1 h). */
  keepaliveTimeMs: number | null;
  /** `keepalive_timeout`, in ms, or null when absent (default 60 s). */
  keepaliveTimeoutMs: number | null;
  at: SourceLocation;
  /**
   * The module the group belongs to: `http` (`http { upstream … }`) or `stream`
   * (`stream { upstream … }`, plain TCP/UDP proxying, which pools nothing). Always
   * set by extractModel; absent in hand-built models means `http`.
   */
  module?: NginxModule;
}

/** Which nginx module a group or a proxy_pass belongs to. */
export type NginxModule = 'http' | 'stream';

export interface ProxyPass {
  /** The argument as written, e.g. `http://backend/api`, `http://10.0.0.5:8080`, `http://$upstream`. */
  target: string;
  scheme: string;
  /** Name of the upstream group the target names, or null (a literal address or host name, or variables). */
  upstream: string | null;
  /** For a target that is not a group: host and port (80/443 by scheme when absent). Null when it has variables or names a group. */
  host: string | null;
  port: number | null;
  /** True when the target contains variables, so its destination is only known at run time. */
  hasVariables: boolean;
  /**
   * Effective `proxy_http_version` here (inherited from enclosing levels): `1.0`,
   * `1.1` or `2` (HTTP/2 to the upstream, 1.29.4+), or null when never set.
   */
  httpVersion: string | null;
  /** Where the effective proxy_http_version is written, or null when never set. */
  httpVersionAt?: SourceLocation | null;
  /**
   * Effective value of `proxy_set_header Connection …` here, or null when not set. nginx
   * inherits proxy_set_header only when the current level sets none at all, so this
   * follows that rule.
   */
  connectionHeader: string | null;
  /** Effective `proxy_bind` argument (e.g. `$source_ip`, `10.0.0.210 transparent`), or null. */
  bind: string | null;
  /** Where that proxy_bind is written (it may be inherited from an enclosing level), or null without one. Absent in hand-built models. */
  bindAt?: SourceLocation | null;
  /** Human-readable place, e.g. `server example.com:80 > location /api`. */
  context: string;
  at: SourceLocation;
  /**
   * `http` for the proxy module's proxy_pass, `stream` for the stream proxy's
   * (`scheme` is then `tcp` or `udp`, and httpVersion/connectionHeader are null).
   * Always set by extractModel; absent in hand-built models means `http`.
   */
  module?: NginxModule;
  /**
   * For a target with variables whose host is one variable set by `map` or
   * `split_clients` (`http://$backend`): the upstream groups among that
   * variable's values, which nginx picks at run time. Empty otherwise. Always set
   * by extractModel.
   */
  upstreamCandidates?: string[];
}

/** A `map $source $variable { … }` block. */
export interface MapDefinition {
  /** The variable the map sets, with its `$` (e.g. `$connection_upgrade`). */
  variable: string;
  /** The map's source expression as written (e.g. `$http_upgrade`). */
  source: string;
  /** The `default` value, or null when absent (nginx then uses an empty string). */
  defaultValue: string | null;
  /** Every distinct value the map can produce, default included, in order of first appearance. */
  values: string[];
  at: SourceLocation;
}

export interface NginxConfigModel {
  /** Files read, in order (the main file first). */
  files: string[];
  problems: ConfigProblem[];
  upstreams: UpstreamGroup[];
  proxyPasses: ProxyPass[];
  /** `worker_processes`: a number, 'auto', or null when absent (default 1). */
  workerProcesses: number | 'auto' | null;
  /** `worker_connections` in events {}, or null when absent (default 512). */
  workerConnections: number | null;
  /** `worker_rlimit_nofile`, or null when absent. */
  workerRlimitNofile: number | null;
  /** Variables defined by `split_clients` (e.g. `$source_ip`), with their distinct values in order of first appearance. */
  splitClients: { variable: string; values: string[]; at: SourceLocation }[];
  /** Variables defined by `map`. Always set by extractModel. */
  maps?: MapDefinition[];
  /**
   * Every use of something only some nginx versions accept or honour, where it is
   * written (model/compat.ts holds them against the version). Always set by
   * extractModel.
   */
  versioned?: VersionedUse[];
}

/** Directives and parameters whose meaning depends on nginx's version (model/compat.ts). */
export type VersionedFeature =
  | 'proxy_http_version_2'
  | 'keepalive_0'
  | 'keepalive_local'
  | 'keepalive_before_balancer'
  | 'keepalive_time'
  | 'server_resolve'
  | 'server_service'
  | 'upstream_resolver';

export interface VersionedUse {
  feature: VersionedFeature;
  /** The upstream group it concerns, or null (proxy_http_version). */
  group: string | null;
  /** The directive as written. */
  text: string;
  at: SourceLocation;
  /** For keepalive_before_balancer: the balancer directive that follows. */
  balancer?: UpstreamBalancer;
}

export interface HostResolution {
  /** Host name (lower case) → its addresses in canonical form (IPv4-mapped IPv6 as IPv4). */
  resolved: Map<string, string[]>;
  /** Hosts that did not resolve, with why. */
  failures: { host: string; error: string }[];
}

/** A configuration as read from the disk or a dump, with its host names resolved. */
export interface NginxConfigRead {
  model: NginxConfigModel;
  /** `files` when read from the disk following includes, `dump` when the path held `nginx -T` output. */
  source: 'files' | 'dump';
  /** The main file's full path (for a dump, the path of the dump itself). */
  path: string;
  /** Host names of upstream servers and proxy_pass targets: resolved, and failed. Empty when resolution is off. */
  dns: HostResolution;
}
