/**
 * The effective upstream connection pool of a group: how many idle connections
 * each worker keeps for it, and why, which depends on the version as much as on
 * the configuration. Pure. Sources (ngx_http_upstream_keepalive_module.c at the
 * tags named; compat.ts has the version rows):
 *
 * - `keepalive N`: N idle connections per worker process, per block (the cache
 *   queues live in each worker's copy of the configuration).
 * - No keepalive line: no pool up to 1.29.6; from release-1.29.7
 *   ngx_http_upstream_keepalive_init_main_conf() gives every explicit upstream
 *   block `max_cached = 32` and `local = 1` (cached connections reused only by
 *   the location that opened them, `item->tag != kp->upstream->conf`), whatever
 *   its balancer. Implicit upstreams (a literal proxy_pass) are skipped
 *   (`srv_conf == NULL`): they never pool.
 * - `keepalive 0` (1.29.7+): `continue` before the hook is installed, no cache.
 * - Before 1.29.7 a balancer directive written after `keepalive` drops the pool.
 * - stream {} has no upstream keepalive module: a stream group never pools.
 */
import { accepts, KEEPALIVE_DEFAULTS_SINCE } from './compat.js';
import type { SourceLocation, UpstreamGroup } from './types.js';

/** The default pool of an explicit upstream block from 1.29.7. */
export const DEFAULT_POOL_SINCE_1_29_7 = 32;

export type PoolSource =
  /** `keepalive N` decides. */
  | 'directive'
  /** No keepalive line, nginx 1.29.7 or later: 32, local. */
  | 'default'
  /** No pool: no keepalive line before 1.29.7, a stream group, or a keepalive line nginx drops. */
  | 'none'
  /** `keepalive 0` (1.29.7+). */
  | 'disabled'
  /** Depends on the version, which is unknown (or on a configuration this version refuses). */
  | 'unknown';

export interface EffectivePool {
  /** Idle connections kept per worker, or null when there is no pool or it is unknown. */
  size: number | null;
  source: PoolSource;
  /** Where it comes from, in words, e.g. "keepalive 64 at /etc/nginx/conf.d/app.conf:12", "1.29.7+ default". */
  text: string;
  /** The keepalive line that decides, or null. */
  at: SourceLocation | null;
  /** Cached connections are reused only by the location that opened them (1.29.7's default, or `keepalive N local`). */
  local: boolean;
}

const where = (at: SourceLocation): string => `${at.file}:${at.line}`;

/** The pool nginx `version` (null: unknown) keeps for `group`. */
export function effectivePool(group: UpstreamGroup, version: string | null): EffectivePool {
  if ((group.module ?? 'http') === 'stream') return { size: null, source: 'none', text: 'none: stream {} upstreams keep no idle connections', at: null, local: false };
  const modern = accepts(version, KEEPALIVE_DEFAULTS_SINCE);
  const v = version ?? 'unknown';
  const ka = group.keepalive;
  const at = group.keepaliveAt ?? null;
  const line = at === null ? `keepalive ${ka ?? ''}` : `keepalive ${ka ?? ''}${group.keepaliveLocal === true ? ' local' : ''} at ${where(at)}`;
  if (ka === null) {
    if (modern === true) return { size: DEFAULT_POOL_SINCE_1_29_7, source: 'default', text: `${KEEPALIVE_DEFAULTS_SINCE}+ default, local (nginx ${v}; no keepalive directive)`, at: null, local: true };
    if (modern === false) return { size: null, source: 'none', text: `none: no keepalive directive and nginx ${v} < ${KEEPALIVE_DEFAULTS_SINCE}`, at: null, local: false };
    return { size: null, source: 'unknown', text: `unknown: no keepalive directive and the nginx version is unknown (none before ${KEEPALIVE_DEFAULTS_SINCE}, ${DEFAULT_POOL_SINCE_1_29_7} per worker from it)`, at: null, local: false };
  }
  const refusedNote = `nginx ${v} refuses it (it needs ${KEEPALIVE_DEFAULTS_SINCE}), so this is not the configuration nginx runs`;
  if (ka === 0) {
    if (modern === false) return { size: null, source: 'unknown', text: `unknown: ${line}: ${refusedNote}`, at, local: false };
    return { size: null, source: 'disabled', text: `disabled: ${line}`, at, local: false };
  }
  if (group.keepaliveLocal === true && modern === false) return { size: null, source: 'unknown', text: `unknown: ${line}: ${refusedNote}`, at, local: false };
  const balancer = group.balancer;
  if (group.keepaliveBeforeBalancer === true && balancer != null && modern !== true) {
    const dropped = `${line} comes before ${balancer.name} at ${where(balancer.at)}`;
    return modern === false
      ? { size: null, source: 'none', text: `none: ${dropped}, and nginx ${v} (before ${KEEPALIVE_DEFAULTS_SINCE}) drops it`, at, local: false }
      : { size: null, source: 'unknown', text: `unknown: ${dropped}: nginx before ${KEEPALIVE_DEFAULTS_SINCE} drops it, later versions keep ${ka}; the version is unknown`, at, local: false };
  }
  return { size: ka, source: 'directive', text: line, at, local: group.keepaliveLocal === true };
}

/** One phrase for reports and evidence: "32 per worker: 1.29.7+ default, local (…)", "none: no keepalive directive and nginx 1.22.1 < 1.29.7". */
export function describePool(pool: EffectivePool): string {
  return pool.size === null ? pool.text : `${pool.size} per worker: ${pool.text}`;
}
