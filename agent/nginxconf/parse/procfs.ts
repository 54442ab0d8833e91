/**
 * A running nginx, as procfs shows it, pure: which processes are nginx's
 * master, and which files a process has mapped executable.
 *
 * - `<pid>/comm` is the executable's file name, cut to 15 bytes (proc(5)).
 * - nginx retitles its processes (ngx_setproctitle, src/os/unix/ngx_setproctitle.c,
 *   over the argv area): `nginx: master process /usr/sbin/nginx -g daemon on;`,
 *   `nginx: worker process`, `nginx: cache manager process`. The title is
 *   looked for at the start of an argument: a master started through an
 *   explicit dynamic loader (`ld.so … --argv0 … /path/to/nginx`) keeps the
 *   loader's arguments before it, and the title may be cut short there (seen:
 *   `nginx: master proces`, over an argument one byte too short). With
 *   `master_process off` the single process keeps its command line.
 * - `<pid>/maps`: one mapping per line, `address perms offset dev inode path`;
 *   an executable mapping has "x" in its perms.
 */

export type NginxProcessRole = 'master' | 'worker' | 'single';

/** The role of a process in nginx, or null when it is not one of nginx's. `cmdline` with its NULs. */
export function nginxProcessRole(comm: string, cmdline: string): NginxProcessRole | null {
  if (/(?:^|\0)nginx: master\b/.test(cmdline)) return 'master';
  if (/(?:^|\0)nginx: (?:worker|cache manager|cache loader)\b/.test(cmdline)) return 'worker';
  const name = comm.trim();
  return name === 'nginx' || name.startsWith('nginx-') || name === 'openresty' ? 'single' : null;
}

/**
 * The files a process maps executable, in the order of their first mapping,
 * shared libraries left out (`*.so`, `*.so.N`): the program itself, and the
 * loader when it was started through one.
 */
export function executableMappings(maps: string): string[] {
  const out: string[] = [];
  for (const line of maps.split('\n')) {
    const m = /^\S+ (\S{4}) \S+ \S+ \d+ +(\/.*)$/.exec(line);
    if (m === null || !m[1]!.includes('x')) continue;
    const path = m[2]!.replace(/ \(deleted\)$/, '');
    if (/\.so(\.[\d.]+)?$/.test(path) || out.includes(path)) continue;
    out.push(path);
  }
  return out;
}
