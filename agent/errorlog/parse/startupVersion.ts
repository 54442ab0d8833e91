/**
 * The version nginx writes in its error log when it starts, pure. At start-up
 * (and when a new binary takes over with USR2) nginx logs, at notice level and
 * before anything else of its own, NGINX_VER_BUILD as the whole message
 * (`ngx_log_error(NGX_LOG_NOTICE, log, 0, NGINX_VER_BUILD)` in ngx_os_status,
 * src/os/unix/ngx_posix_init.c, called from main() in src/core/nginx.c), then
 * "built by …" and "OS: …":
 *
 *     2026/12/06 13:17:07 [notice] 6660#6660: nginx/1.30.6
 *     2026/12/06 13:17:07 [notice] 6660#6660: built by gcc 16.2.0 (Debian 16.2.0-3)
 *
 * It is there only when the error_log level is notice or lower (the official
 * Docker image configures `error_log /var/log/nginx/error.log notice;`), and only
 * at start-up: a reload does not write it.
 */
import { parseNginxVerBuild, type NginxVersion } from '../../core/nginxVersion.js';
import type { LineFields } from './classify.js';

/** The whole message is NGINX_VER_BUILD: `nginx/1.30.6`, `nginx/1.24.0 (Ubuntu)`, `openresty/1.25.3.1`. */
const WHOLE = /^[A-Za-z][\w.-]*\/\d+\.\d+\.\d+(?:\.\d+)*(?: \([^)]*\))?\s*$/;

/** The version an error-log event announces, or null when it is not nginx's start-up line. */
export function startupVersion(event: Pick<LineFields, 'level' | 'connection' | 'message'>): NginxVersion | null {
  if (event.level !== 'notice' || event.connection || !WHOLE.test(event.message)) return null;
  return parseNginxVerBuild(event.message);
}
