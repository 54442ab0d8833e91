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

/**
 * A worker serving with the config the master loaded last: `nginx: worker process`.
 * After a reload the old workers finish their requests retitled
 * `nginx: worker process is shutting down` (ngx_worker_process_cycle, on
 * ngx_exiting). A title cut short (a master started through a loader, above:
 * seen `nginx: worker proces`) still names a worker; it cannot say whether it is
 * shutting down, but an old worker is older than the new ones, so the newest
 * start is the load either way. Cache manager and loader processes are left
 * out: the loader starts a minute after a load.
 */
export function isServingWorker(cmdline: string): boolean {
  return /(?:^|\0)nginx: worker\b/.test(cmdline) && !/(?:^|\0)nginx: worker process is shutting down/.test(cmdline);
}

/**
 * Fields 4 (ppid) and 22 (starttime: when the process started, in clock ticks
 * after boot) of `<pid>/stat` (proc(5)). The second field, the command name in
 * parentheses, may hold spaces and parentheses itself, so the fields are counted
 * after the last ")". null when the line does not have them.
 */
export function statFields(stat: string): { ppid: number; startTicks: number } | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // After ")": field 3 (state) onwards, so ppid is the 2nd and starttime the 20th.
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const ppid = fields[1];
  const start = fields[19];
  if (ppid === undefined || start === undefined || !/^\d+$/.test(ppid) || !/^\d+$/.test(start)) return null;
  return { ppid: Number(ppid), startTicks: Number(start) };
}

/**
 * Whether a master's title shows it was started with `-c` on this config file:
 * the title repeats the master's arguments after "nginx: master process"
 * (ngx_setproctitle), `-c` and its path as separate words. A relative path is
 * taken from nginx's prefix, so it matches as the end of the path. A title cut
 * short (a master started through a loader, parse above) matches nothing.
 */
export function startedWithConfig(cmdline: string, configPath: string): boolean {
  const words = cmdline.replace(/\0+/g, ' ').trim().split(/\s+/);
  for (let i = 0; i + 1 < words.length; i++) {
    if (words[i] !== '-c') continue;
    const given = words[i + 1]!;
    if (given === configPath || (!given.startsWith('/') && configPath.endsWith(`/${given.replace(/^\.\//, '')}`))) return true;
  }
  return false;
}

/** The first number of `/proc/uptime`: seconds since boot, to 10 ms (proc(5)). null when absent. */
export function uptimeSeconds(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s/.exec(text);
  return m === null ? null : Number(m[1]);
}

/**
 * Clock ticks per second for /proc's starttime: sysconf(_SC_CLK_TCK), which is
 * USER_HZ (include/asm-generic/param.h; kernel/time/time.c jiffies_64_to_clock_t
 * converts to it): 100 on x86, arm64 and the other architectures nginx hosts run on
 * (alpha's 1024 is the exception).
 */
export const CLOCK_TICKS_PER_SECOND = 100;
