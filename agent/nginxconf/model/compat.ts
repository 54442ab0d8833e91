/**
 * What nginx's version decides about a configuration, pure: the uses extract.ts
 * recorded (`model.versioned`) held against the version. Each row is one
 * directive or parameter that some versions refuse or mishandle, with where
 * nginx's source says so. A use the version accepts is no problem; with the
 * version unknown, only what is wrong on some versions and harmless to change on
 * all (a keepalive line before the balancer) is reported.
 *
 * Sources (git tags of github.com/nginx/nginx; the CHANGES entries are in
 * docs/xml/nginx/changes.xml):
 * - proxy_http_version 2: ngx_http_proxy_http_version[] gains `{ "2",
 *   NGX_HTTP_VERSION_20 }` under `#if (NGX_HTTP_V2)` in release-1.29.4
 *   (commit 9bf758ea4, "Proxy: added HTTP/2 proxy module"); before, and in a
 *   build without --with-http_v2_module, ngx_conf_set_enum_slot says
 *   `invalid value "2"`.
 * - keepalive 0 and `keepalive N local`: ngx_http_upstream_keepalive() in
 *   ngx_http_upstream_keepalive_module.c refuses `n == 0` ("invalid value") and
 *   takes one argument (NGX_CONF_TAKE1) up to release-1.29.6; release-1.29.7
 *   accepts 0 (no cache at all) and "local" (NGX_CONF_TAKE12; commit 4fbe4b627).
 * - keepalive before the balancer: up to release-1.29.6 the keepalive directive
 *   wraps `uscf->peer.init_upstream` when it is read, and ngx_http_upstream_hash,
 *   _ip_hash, _least_conn and _random set it again ("load balancing method
 *   redefined", a warning), so the pool is silently lost. From release-1.29.7
 *   the keepalive module wraps `peer.init` in its init_main_conf, after every
 *   balancer, and the order no longer matters.
 * - keepalive_time: new in 1.19.10 (commit d9996d6f2); older nginx says
 *   `unknown directive "keepalive_time"`.
 * - `server … resolve`, `service=` and `resolver` in an upstream block: new in
 *   open-source 1.27.3 (commits db6870e06, 9fe119b43, ea4654550; CHANGES 1.27.3);
 *   ngx_http_upstream_server() of release-1.26.0 says `invalid parameter`.
 */
import { compareVersions } from './version.js';
import type { ConfigProblem, NginxConfigModel, VersionedFeature, VersionedUse } from './types.js';

export const HTTP2_UPSTREAM_SINCE = '1.29.4';
/** Explicit upstream blocks pool 32 by default, HTTP/1.1 is proxy_http_version's default, no "Connection: close"; keepalive 0 and local. */
export const KEEPALIVE_DEFAULTS_SINCE = '1.29.7';
export const RESOLVE_SINCE = '1.27.3';
export const KEEPALIVE_TIME_SINCE = '1.19.10';

interface CompatRule {
  feature: VersionedFeature;
  /** True when an older nginx refuses the configuration (`nginx -t` fails); false when it accepts it and misbehaves. */
  refuses: boolean;
  /** Accepted (and honoured) from this version on. */
  since: string;
  /** The problem on an older nginx (`version`), or on an unknown one (null). Null: nothing to say. */
  older(use: VersionedUse, version: string | null): string | null;
}

const refused = (what: string, since: string, version: string, nginxSays: string, todo: string, built = ''): string =>
  `${what} needs nginx ${since} or later${built}: nginx ${version} refuses the configuration (${nginxSays})${todo === '' ? '' : `; ${todo}`}`;

export const COMPAT_RULES: readonly CompatRule[] = [
  {
    feature: 'proxy_http_version_2',
    refuses: true,
    since: HTTP2_UPSTREAM_SINCE,
    older: (_use, v) => (v === null ? null : refused('proxy_http_version 2 (HTTP/2 to the upstream)', HTTP2_UPSTREAM_SINCE, v, 'invalid value "2"', '', ', built with --with-http_v2_module')),
  },
  {
    feature: 'keepalive_0',
    refuses: true,
    since: KEEPALIVE_DEFAULTS_SINCE,
    older: (_use, v) =>
      v === null ? null : refused('keepalive 0', KEEPALIVE_DEFAULTS_SINCE, v, 'invalid value "0" in "keepalive" directive', 'before 1.29.7 a group without a keepalive line keeps no connections, so remove the line'),
  },
  {
    feature: 'keepalive_local',
    refuses: true,
    since: KEEPALIVE_DEFAULTS_SINCE,
    older: (_use, v) => (v === null ? null : refused('keepalive … local', KEEPALIVE_DEFAULTS_SINCE, v, 'invalid number of arguments in "keepalive" directive', 'drop "local"')),
  },
  {
    feature: 'keepalive_before_balancer',
    refuses: false,
    since: KEEPALIVE_DEFAULTS_SINCE,
    older: (use, v) => {
      const b = use.balancer!;
      const why = `the ${b.name} directive at ${b.at.file}:${b.at.line} replaces the keepalive module's hook, so the pool is lost (nginx only warns "load balancing method redefined")`;
      const move = `move the keepalive line after ${b.name}`;
      return v === null
        ? `"${use.text}" comes before ${b.name}: before nginx ${KEEPALIVE_DEFAULTS_SINCE} ${why}; the nginx version is unknown, and the order after ${b.name} is right for every version: ${move}`
        : `"${use.text}" comes before ${b.name}: in nginx ${v} (before ${KEEPALIVE_DEFAULTS_SINCE}) ${why}; ${move}`;
    },
  },
  {
    feature: 'keepalive_time',
    refuses: true,
    since: KEEPALIVE_TIME_SINCE,
    older: (_use, v) => (v === null ? null : refused('keepalive_time', KEEPALIVE_TIME_SINCE, v, 'unknown directive "keepalive_time"', '')),
  },
  {
    feature: 'server_resolve',
    refuses: true,
    since: RESOLVE_SINCE,
    older: (_use, v) => (v === null ? null : refused('server … resolve (open source)', RESOLVE_SINCE, v, 'invalid parameter "resolve"', '')),
  },
  {
    feature: 'server_service',
    refuses: true,
    since: RESOLVE_SINCE,
    older: (use, v) => {
      const param = / (service=\S+?);?(?: |$)/.exec(use.text)?.[1] ?? 'service=';
      return v === null ? null : refused('server … service= (open source)', RESOLVE_SINCE, v, `invalid parameter "${param}"`, '');
    },
  },
  {
    feature: 'upstream_resolver',
    refuses: true,
    since: RESOLVE_SINCE,
    older: (_use, v) => (v === null ? null : refused('resolver inside an upstream block', RESOLVE_SINCE, v, '"resolver" directive is not allowed here', 'put it at the http {} or stream {} level')),
  },
];

const RULES = new Map(COMPAT_RULES.map((r) => [r.feature, r]));

/** True when `version` is at least `since`; null when the version is unknown. */
export function accepts(version: string | null, since: string): boolean | null {
  return version === null ? null : compareVersions(version, since) >= 0;
}

/**
 * The uses this version refuses or mishandles, as problems at the place they are
 * written; `refusalsOnly`: only what makes `nginx -t` fail.
 */
export function versionProblems(model: NginxConfigModel, version: string | null, options: { refusalsOnly?: boolean } = {}): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const use of model.versioned ?? []) {
    const rule = RULES.get(use.feature);
    if (rule === undefined || accepts(version, rule.since) === true || (options.refusalsOnly === true && !rule.refuses)) continue;
    const message = rule.older(use, version);
    if (message !== null) out.push({ file: use.at.file, line: use.at.line, message });
  }
  return out;
}
