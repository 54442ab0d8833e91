/**
 * `nginx -t` as the judge of a configuration, and of nothing else.
 *
 * `nginx -t` does more than parse: it opens the files the configuration names
 * (the error and access logs, the pid file) and creates the temporary
 * directories, and fails when the machine does not let it. As a non-root user,
 * with Debian's defaults:
 *
 *     nginx: [emerg] open() "/var/log/nginx/access.log" failed (13: Permission denied)
 *     nginx: configuration file /tmp/…/judge.conf test failed
 *
 * That is the machine answering, not nginx's verdict on the text, so such a run
 * gives no verdict (and the test skips, or fails in strict mode: gate.ts
 * `skipOrFail`). `runNginxT` keeps every file nginx opens inside the test's
 * directory (`-p`, `-e`, the pid in `-g`, and `confinedHttp` inside `http {}`),
 * so that as any user nginx judges the configuration alone.
 */
import { spawnSync } from 'node:child_process';

export type NginxVerdict =
  | { kind: 'accepted'; output: string }
  | { kind: 'refused'; reason: string; output: string }
  /** nginx could not be run meaningfully: the reason to skip with. */
  | { kind: 'no-verdict'; reason: string; output: string };

/**
 * The errno texts (nginx prints "failed (13: Permission denied)" after a system
 * call) of failures that belong to the machine: rights, a read-only or full
 * file system, the descriptor limit. Any other [emerg] is about the configuration.
 */
const MACHINE_ERRNO = /\((?:1: Operation not permitted|13: Permission denied|24: Too many open files|28: No space left on device|30: Read-only file system)\)/;

/**
 * What `nginx -t` said about a configuration, from its stderr and exit status.
 * Only [emerg] makes -t fail (nginx stops at the first); [alert] and [warn]
 * lines, such as `the "user" directive makes sense only if the master process
 * runs with super-user privileges`, do not change the verdict.
 */
export function nginxVerdict(output: string, status: number | null): NginxVerdict {
  if (status === 0 && /test is successful/.test(output)) return { kind: 'accepted', output };
  const fatal = output
    .split('\n')
    .filter((l) => l.includes('[emerg]'))
    .at(-1)
    ?.replace(/^nginx: /, '');
  if (status !== 0 && status !== null && /test failed/.test(output) && fatal !== undefined) {
    return MACHINE_ERRNO.test(fatal)
      ? { kind: 'no-verdict', reason: `nginx -t could not run here, so it judged nothing: ${fatal}`, output }
      : { kind: 'refused', reason: fatal, output };
  }
  return { kind: 'no-verdict', reason: `nginx -t gave no verdict (exit status ${String(status)}): ${output.trim() === '' ? '(no output)' : output.trim()}`, output };
}

/**
 * Lines for `http {}` that keep nginx's own files in `dir`: no access log (its
 * default path is under /var/log/nginx) and the temporary directories that
 * nginx -t creates (their defaults are under /var/lib/nginx).
 */
export function confinedHttp(dir: string): string {
  return ['access_log off;', ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `${n}_temp_path ${dir}/${n}_temp;`)].join('\n  ');
}

/**
 * `nginx -t` of `conf` with `dir` as the prefix and every file nginx opens on its
 * own in it: `-e` for the error log it opens before reading the configuration
 * (nginx ≥ 1.19.5; Debian's builds default to stderr, others to a path under
 * /var/log) and the pid file, which -t creates to check it can.
 */
export function runNginxT(bin: string, dir: string, conf: string): NginxVerdict {
  const r = spawnSync(bin, ['-t', '-p', `${dir}/`, '-e', `${dir}/t.log`, '-c', conf, '-g', `pid ${dir}/t.pid;`], { encoding: 'utf8', timeout: 20_000 });
  if (r.error !== undefined) return { kind: 'no-verdict', reason: `could not run ${bin}: ${r.error.message}`, output: '' };
  return nginxVerdict(r.stderr, r.status);
}
