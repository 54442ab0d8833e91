/**
 * Where nginx's version comes from, and which source wins, pure. The agent never
 * asks nginx over the network; it runs nothing but `nginx -v` on the binary the
 * operator names. In order of precedence:
 *
 * 1. `flag`: --nginx-version, the operator's word.
 * 2. `nginx-bin`: `<--nginx-bin> -v`, nginx's own answer.
 * 3. `binary`: the `nginx -v` line read out of the --nginx-bin file when it
 *    cannot be run (parse/binaryVersion.ts says why that string is the version).
 * 4. `process`: the same, out of the executable of the nginx master running under
 *    --proc-root (`<pid>/exe`): the binary that runs now, even if the file on
 *    disk was replaced since.
 * 5. `error-log`: the line nginx writes at start-up at notice level,
 *    NGINX_VER_BUILD (ngx_os_status): the newest in the window read.
 * 6. `package`: the installed nginx package in dpkg's database; it can be newer
 *    than a running nginx that was not restarted after an upgrade.
 */
import type { NginxVersion } from './version.js';

export const VERSION_SOURCES = ['flag', 'nginx-bin', 'binary', 'process', 'error-log', 'package'] as const;
export type VersionFrom = (typeof VERSION_SOURCES)[number];

/** A version one source gave. */
export interface VersionFinding extends NginxVersion {
  from: VersionFrom;
  /** Where exactly, for the report: "/usr/sbin/nginx -v", "/proc/812/exe (nginx master pid 812)", … */
  detail: string;
}

/** A source that was tried and gave nothing, with why (for the report when no source gave a version). */
export interface VersionAttempt {
  from: VersionFrom;
  error: string;
}

export interface ChosenVersion {
  version: string | null;
  versionFrom: VersionFrom | null;
  /** Which source gave the version and where, or why it is unknown. */
  versionSource: string;
}

const rank = (from: VersionFrom): number => VERSION_SOURCES.indexOf(from);

/** The finding of the highest precedence; when none, "unknown: " and what each source said. */
export function chooseVersion(found: readonly VersionFinding[], attempts: readonly VersionAttempt[]): ChosenVersion {
  const best = [...found].sort((a, b) => rank(a.from) - rank(b.from))[0];
  if (best !== undefined) {
    const product = best.product === 'nginx' ? '' : ` (${best.product})`;
    return { version: best.version, versionFrom: best.from, versionSource: `${best.from}: ${best.detail}${product}` };
  }
  const tried = [...attempts].sort((a, b) => rank(a.from) - rank(b.from)).map((a) => `${a.from}: ${a.error}`);
  return {
    version: null,
    versionFrom: null,
    versionSource: `unknown: ${tried.length === 0 ? 'give --nginx-version or --nginx-bin' : `${tried.join('; ')}; give --nginx-version or --nginx-bin`}`,
  };
}
