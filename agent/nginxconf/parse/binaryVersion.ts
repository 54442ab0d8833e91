/**
 * nginx's version, read from its binary as bytes, never run. Pure: bytes in, the
 * version out.
 *
 * Why this is trustworthy: `nginx -v` prints "nginx version: " NGINX_VER_BUILD
 * with `ngx_write_stderr("nginx version: " NGINX_VER_BUILD NGX_LINEFEED)`
 * (ngx_show_version_info, src/core/nginx.c). The compiler joins the literals, so
 * the exact line `nginx -v` would print is one string in the binary's read-only
 * data: the version the binary was compiled as, the same source as `nginx -v`
 * itself. Checked on Debian 12's 1.22.1 and Debian's 1.30.6: one
 * "nginx version: nginx/1.22.1" (and "…/1.30.6") each. Other strings hold
 * NGINX_VER too ("Server: nginx/…", the error pages' "<center>nginx/…"), but
 * only this one comes with its "nginx version: " prefix, which is what is
 * looked for.
 */
import { parseNginxVersion, type NginxVersion } from '../model/version.js';

/** The `nginx -v` line as it sits in the binary: the prefix, the version, up to a NUL or newline. */
const VERSION_STRING = /[A-Za-z][\w.-]{0,30} version: [A-Za-z][\w.-]{0,30}\/\d+\.\d+\.\d+[^\0\n]{0,200}/;

const SINGLE_BYTE = new TextDecoder('latin1');

/** Bytes a caller scanning in chunks keeps from the end of one chunk for the next, so no string is cut in two. */
export const BINARY_SCAN_OVERLAP = 512;

/** The version string in a binary (or a chunk of one), or null when there is none. */
export function findNginxVersionInBinary(bytes: Uint8Array): NginxVersion | null {
  // A single-byte decoding: one character per byte, and ASCII stays ASCII.
  const m = VERSION_STRING.exec(SINGLE_BYTE.decode(bytes));
  return m === null ? null : parseNginxVersion(m[0]);
}
