/**
 * nginx's side of the evidence the hint engine weighs: the configuration model,
 * the version, and how each destination is reached. Pure types.
 */
import type { NginxConfigModel, ProxyPass } from './types.js';

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
  /** Logical CPUs, for `worker_processes auto`; null when unknown. */
  cpuCount: number | null;
  /**
   * Seconds since the newest of the config's files changed, or null when unknown. TIME_WAIT
   * sockets older than that were made under the previous settings.
   */
  configChangedSecondsAgo?: number | null;
  /** Destination (`ip:port`, as the headroom model writes it) → how the config reaches it. */
  routes: ReadonlyMap<string, DestinationRoute>;
}

