/**
 * nginx's version, read by running the binary the operator named. Parsing and
 * comparing are pure (../model/version.ts) and re-exported here.
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

export { compareVersions, parseNginxVersion, versionBefore, type NginxVersion } from '../model/version.js';
import { parseNginxVersion, type NginxVersion } from '../model/version.js';

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
