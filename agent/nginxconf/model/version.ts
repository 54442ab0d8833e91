/**
 * nginx's version, pure: parsed from `nginx -v` output and compared (for rules
 * such as "before 1.29.7 keepalive needs proxy_http_version 1.1").
 *
 * `nginx -v` writes one line to stderr, "nginx version: " NGINX_VER_BUILD
 * (ngx_show_version_info in src/core/nginx.c), e.g. `nginx version: nginx/1.22.1`,
 * `nginx version: nginx/1.24.0 (Ubuntu)`, `nginx version: openresty/1.21.4.1`,
 * `nginx version: freenginx/1.27.2`. Tengine prints `Tengine version:
 * Tengine/2.3.3 (nginx/1.18.0)`.
 */
import { parseNginxVerBuild, type NginxVersion } from '../../core/nginxVersion.js';

export type { NginxVersion } from '../../core/nginxVersion.js';

/** "nginx version: " or "Tengine version: " and what follows, on any line. */
const VERSION_LINE = /([A-Za-z][\w.-]*) version: (.*)/;

/** The version in `nginx -v` output, or null when there is none. */
export function parseNginxVersion(text: string): NginxVersion | null {
  for (const line of text.split('\n')) {
    const m = VERSION_LINE.exec(line);
    if (m === null) continue;
    const v = parseNginxVerBuild(m[2]!);
    if (v !== null) return v;
  }
  return null;
}

/**
 * Compares dotted versions number by number (`1.9.0` < `1.22.1`); a missing part
 * counts as 0. Negative when a < b, 0 when equal, positive when a > b. A part that
 * is not a number counts as 0.
 */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
  const y = b.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** True when `version` is older than `than` (e.g. versionBefore('1.22.1', '1.29.7')). */
export function versionBefore(version: string, than: string): boolean {
  return compareVersions(version, than) < 0;
}
