/**
 * NGINX_VER_BUILD, the version text nginx prints about itself, pure. It is
 * `NGINX_VER` ("nginx/" NGINX_VERSION, src/core/nginx.h), followed by
 * " (" NGX_BUILD ")" when nginx was configured with --build. nginx writes it in
 * `nginx -v` ("nginx version: " NGINX_VER_BUILD, ngx_show_version_info in
 * src/core/nginx.c), at start-up in the error log at notice level
 * (ngx_os_status in src/os/unix/ngx_posix_init.c), and the `nginx -v` line is a
 * string literal in the binary itself. Two domains read it (nginxconf from
 * `nginx -v` and the binary, errorlog from the start-up notice), so it lives here.
 *
 * Forks: OpenResty prints `openresty/1.21.4.1` (its fourth number is its own),
 * freenginx `freenginx/1.27.2` (its own numbering since it forked from 1.25),
 * Tengine `Tengine/2.3.3 (nginx/1.18.0)` (the nginx core version in parentheses).
 */
export interface NginxVersion {
  /** The product as printed: `nginx`, `openresty`, `freenginx`, `Tengine`… */
  product: string;
  /**
   * The nginx core version as `major.minor.patch`. OpenResty's fourth number is
   * dropped; for Tengine, the nginx version in parentheses.
   */
  version: string;
}

/** `product/1.2.3[.4][ (build…)]` at the start of the text. */
const NGINX_VER_BUILD = /^([A-Za-z][\w.-]*)\/(\d+\.\d+\.\d+)(?:\.\d+)*(?: \((?:[^)]*?nginx\/(\d+\.\d+\.\d+))?[^)]*\))?/;

/** The product and nginx core version at the start of `text` (NGINX_VER_BUILD), or null. */
export function parseNginxVerBuild(text: string): NginxVersion | null {
  const m = NGINX_VER_BUILD.exec(text);
  if (m === null) return null;
  return { product: m[1]!, version: m[3] ?? m[2]! };
}
