/**
 * nginx's version: parsed from `nginx -v` output (pure), read by running the
 * binary the operator named (I/O), and compared (pure, for rules such as "before
 * 1.29.7 keepalive needs proxy_http_version 1.1").
 *
 * `nginx -v` writes one line to stderr, "nginx version: " NGINX_VER_BUILD
 * (ngx_show_version_info in src/core/nginx.c), e.g. `nginx version: nginx/1.22.1`,
 * `nginx version: nginx/1.24.0 (Ubuntu)`, `nginx version: openresty/1.21.4.1`,
 * `nginx version: freenginx/1.27.2`. Tengine prints `Tengine version:
 * Tengine/2.3.3 (nginx/1.18.0)`. The binary is run only when the operator gives
 * one (--nginx-bin), with execFile (no shell), `-v` as its only argument, and a
 * time limit.
 */
import { execFile } from 'node:child_process';

export interface NginxVersion {
  /** The product as printed: `nginx`, `openresty`, `freenginx`, `Tengine`… */
  product: string;
  /**
   * The nginx core version as `major.minor.patch`. OpenResty's fourth number is
   * its own and is dropped; for Tengine, the nginx version in parentheses.
   * freenginx numbers its releases on its own line since it forked from nginx
   * 1.25, so compare its version with care (`product` says which it is).
   */
  version: string;
}

const VERSION_LINE = /([A-Za-z][\w.-]*) version: ([A-Za-z][\w.-]*)\/(\d+\.\d+\.\d+)(?:\.\d+)*(?: \((?:[^)]*?nginx\/(\d+\.\d+\.\d+))?[^)]*\))?/;

/** The version in `nginx -v` output, or null when there is none. */
export function parseNginxVersion(text: string): NginxVersion | null {
  const m = VERSION_LINE.exec(text);
  if (m === null) return null;
  const product = m[2]!;
  const version = m[4] ?? m[3]!;
  return { product, version };
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

export type NginxVersionRead = ({ ok: true } & NginxVersion) | { ok: false; error: string };

/** Runs `bin -v` and reads the version it prints. Never throws: failures come back as one sentence. */
export function readNginxVersion(bin: string, timeoutMs: number): Promise<NginxVersionRead> {
  return new Promise((resolve) => {
    try {
      execFile(bin, ['-v'], { timeout: timeoutMs, maxBuffer: 64 * 1024, windowsHide: true, encoding: 'utf8' }, (err, stdout, stderr) => {
        const parsed = parseNginxVersion(`${stderr}\n${stdout}`);
        if (parsed !== null) {
          resolve({ ok: true, ...parsed });
          return;
        }
        resolve({ ok: false, error: describeRunFailure(bin, timeoutMs, err, `${stderr}${stdout}`) });
      });
    } catch (err) {
      resolve({ ok: false, error: describeRunFailure(bin, timeoutMs, err, '') });
    }
  });
}

function describeRunFailure(bin: string, timeoutMs: number, err: unknown, output: string): string {
  const e = err as (NodeJS.ErrnoException & { killed?: boolean; signal?: string | null }) | null;
  const code = e?.code;
  if (code === 'ENOENT') return `${bin} -v: ${bin} does not exist; give nginx's path with --nginx-bin or its version with --nginx-version`;
  if (code === 'EACCES') return `${bin} -v: permission denied (is it an executable file?)`;
  if (e?.killed === true && e.signal === 'SIGTERM') return `${bin} -v: gave no answer within ${timeoutMs} ms and was stopped`;
  const first = output.trim().split('\n', 1)[0] ?? '';
  const said = first === '' ? 'printed nothing' : `printed "${first.slice(0, 200)}"`;
  const failed = e === null ? '' : code === undefined || typeof code === 'string' ? ` (${e.message.split('\n', 1)[0] ?? ''})` : ` (exit status ${String(code)})`;
  return `${bin} -v ${said}, not a version line such as "nginx version: nginx/1.22.1"${failed}`;
}
