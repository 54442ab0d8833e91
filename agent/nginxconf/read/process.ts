/**
 * nginx's version from the nginx running under --proc-root, without running or
 * asking it: its master's executable is read as a file (read/binary.ts); and
 * when it last loaded its config, from its newest worker's start. I/O only;
 * which process is the master, which files it maps and what its stat says are
 * parse/procfs.ts.
 *
 * Where this works: on the host, or in a Kubernetes pod with
 * `shareProcessNamespace: true` (the agent then sees nginx's processes in its own
 * /proc). `<pid>/exe` opens the very file the process runs, across mount
 * namespaces and even after the file on disk was replaced. The kernel allows it
 * only to a process that may ptrace the target (proc(5), PTRACE_MODE_READ_FSCREDS):
 * the same uid, or CAP_SYS_PTRACE. Otherwise the open fails with EACCES, which is
 * said in the report. `comm` and `cmdline` are readable by every user unless
 * /proc is mounted with hidepid.
 *
 * When nginx was started through an explicit dynamic loader (`ld.so … nginx`),
 * `exe` is the loader; the executables it maps (`<pid>/maps`) are then read
 * through `<pid>/root`, so the path is taken in nginx's own mount namespace.
 */
import { closeSync, readSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegularFile } from '../../io/files.js';
import type { NginxLoad } from '../model/evidence.js';
import type { VersionAttempt, VersionFinding } from '../model/versionSource.js';
import { CLOCK_TICKS_PER_SECOND, executableMappings, isServingWorker, nginxProcessRole, startedWithConfig, statFields, uptimeSeconds, type NginxProcessRole } from '../parse/procfs.js';
import { readVersionFromBinary, type BinaryVersionRead } from './binary.js';

/** How a binary is read for its version: a seam for tests (root may read any process's exe, so EACCES is injected). */
export type ReadBinary = (path: string) => Promise<BinaryVersionRead>;

/** At most this many of /proc's entries are looked at (a host with more processes is read partly). */
const MAX_PIDS = 100_000;

export interface NginxProcess {
  pid: number;
  role: NginxProcessRole;
  /** The command line with its NULs: nginx's title, with the master's arguments. */
  cmdline: string;
}

/**
 * A small procfs file (comm, cmdline, stat, maps), to its end or 1 MiB; null when
 * it cannot be read. Read synchronously: the kernel writes these files from memory
 * as they are read, in microseconds, where asynchronous I/O costs a thread-pool
 * round trip per open, read and close. A scan of a host's processes (two files
 * each) took ~100 ms that way, most of `agent diagnose`'s fixed cost.
 */
function small(path: string): string | null {
  let fd: number | undefined;
  try {
    fd = openRegularFile(path);
    // procfs files report size 0: read until a read returns nothing.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(16 * 1024);
      const bytesRead = readSync(fd, buf, 0, buf.length, null);
      if (bytesRead === 0 || total >= 1024 * 1024) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks).toString('latin1');
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** nginx's processes under procRoot: masters first, then single processes, then workers. */
export async function findNginxProcesses(procRoot: string): Promise<NginxProcess[]> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return [];
  }
  const out: NginxProcess[] = [];
  for (const name of entries.slice(0, MAX_PIDS)) {
    if (!/^\d+$/.test(name)) continue;
    const comm = small(join(procRoot, name, 'comm'));
    if (comm === null) continue;
    const cmdline = small(join(procRoot, name, 'cmdline')) ?? '';
    const role = nginxProcessRole(comm, cmdline);
    if (role !== null) out.push({ pid: Number(name), role, cmdline });
  }
  const order: Record<NginxProcessRole, number> = { master: 0, single: 1, worker: 2 };
  return out.sort((a, b) => order[a.role] - order[b.role] || a.pid - b.pid);
}

/** The version in one process's executable, or in what it maps executable when that is a loader. */
async function versionOfProcess(procRoot: string, p: NginxProcess, readBinary: ReadBinary): Promise<VersionFinding | { error: string; code: string }> {
  const exe = join(procRoot, String(p.pid), 'exe');
  const what = `nginx ${p.role} pid ${p.pid}`;
  const direct = await readBinary(exe);
  if (direct.ok) return { from: 'process', product: direct.product, version: direct.version, detail: `${exe} (${what})` };
  if (direct.code !== 'ENOVERSION') return { error: `${exe} (${what}): ${direct.error}`, code: direct.code };
  const maps = small(join(procRoot, String(p.pid), 'maps'));
  for (const path of executableMappings(maps ?? '').slice(0, 4)) {
    const inRoot = join(procRoot, String(p.pid), 'root', path);
    const r = await readBinary(inRoot);
    if (r.ok) return { from: 'process', product: r.product, version: r.version, detail: `${path}, mapped by the ${what} (read as ${inRoot})` };
  }
  return { error: `${exe} (${what}) holds no nginx version string, nor does any executable it maps`, code: 'ENOVERSION' };
}

const PERMISSION_HINT =
  'the agent may read another process\'s executable only as the same user or with CAP_SYS_PTRACE: run it as nginx\'s user, grant CAP_SYS_PTRACE, or give --nginx-version';

/**
 * The running nginx's version. Every master is read; when they disagree (two
 * nginx instances), the version is left unknown rather than guessed.
 */
export async function readRunningNginxVersion(
  procRoot: string,
  readBinary: ReadBinary = readVersionFromBinary,
  seen?: readonly NginxProcess[],
): Promise<{ found: VersionFinding | null; attempt: VersionAttempt | null }> {
  const procs = seen ?? (await findNginxProcesses(procRoot));
  if (procs.length === 0) return { found: null, attempt: { from: 'process', error: `no nginx process under ${procRoot}` } };
  const masters = procs.filter((p) => p.role !== 'worker');
  // Workers run the master's executable: read one only when no master is visible.
  const candidates = masters.length > 0 ? masters : procs.slice(0, 1);
  const found: VersionFinding[] = [];
  const errors: string[] = [];
  let denied = false;
  for (const p of candidates.slice(0, 8)) {
    const r = await versionOfProcess(procRoot, p, readBinary);
    if ('from' in r) found.push(r);
    else {
      errors.push(r.error);
      denied ||= r.code === 'EACCES' || r.code === 'EPERM';
    }
  }
  const versions = [...new Set(found.map((f) => f.version))];
  if (versions.length === 1) return { found: found[0]!, attempt: null };
  if (versions.length > 1) {
    return { found: null, attempt: { from: 'process', error: `nginx masters run different versions (${found.map((f) => `${f.detail}: ${f.version}`).join(', ')}): give --nginx-version` } };
  }
  return { found: null, attempt: { from: 'process', error: `${errors.join('; ')}${denied ? ` (${PERMISSION_HINT})` : ''}` } };
}

/**
 * The newest start among these pids that are serving workers (children of
 * `parent` when given), in ticks after boot, with its pid. A pid's command line is
 * read unless `titles` already holds it (the scan of all of /proc read it).
 */
function newestServingWorker(procRoot: string, pids: readonly number[], parent: number | null, titles?: ReadonlyMap<number, string>): { pid: number; ticks: number } | null {
  let newest: { pid: number; ticks: number } | null = null;
  for (const pid of pids) {
    const cmdline = titles?.get(pid) ?? small(join(procRoot, String(pid), 'cmdline'));
    if (cmdline === null || !isServingWorker(cmdline)) continue;
    const stat = small(join(procRoot, String(pid), 'stat'));
    const fields = stat === null ? null : statFields(stat);
    if (fields === null || (parent !== null && fields.ppid !== parent)) continue;
    if (newest === null || fields.startTicks > newest.ticks) newest = { pid, ticks: fields.startTicks };
  }
  return newest;
}

function loadFrom(procRoot: string, pids: readonly number[], masterPid: number | null, nowMs: number, titles?: ReadonlyMap<number, string>): NginxLoad | null {
  const newest = newestServingWorker(procRoot, pids, masterPid, titles);
  if (newest === null) return null;
  const up = small(join(procRoot, 'uptime'));
  const upS = up === null ? null : uptimeSeconds(up);
  if (upS === null) return null;
  // Both figures count from boot: their difference is the worker's age, to 10 ms, whatever the wall clock did since.
  const ageMs = Math.max(0, (upS - newest.ticks / CLOCK_TICKS_PER_SECOND) * 1000);
  return { atMs: nowMs - ageMs, masterPid, detail: `nginx worker pid ${newest.pid} started ${(ageMs / 1000).toFixed(1)} s ago` };
}

/** `<pid>/ns/net`'s link ("net:[4026531840]"), or null when it may not be read (another user's process without CAP_SYS_PTRACE). */
async function netNamespace(procRoot: string, pid: string): Promise<string | null> {
  try {
    return await readlink(join(procRoot, pid, 'ns', 'net'));
  } catch {
    return null;
  }
}

/**
 * Which master runs the config the agent reads, when several are visible (a host
 * with several nginx instances; a test bed with an upstream nginx): the one in the
 * network namespace whose sockets the agent reads (`<procRoot>/self`), then the
 * one started with `-c` on this config. null when that leaves not exactly one.
 */
async function masterOf(procRoot: string, masters: readonly NginxProcess[], configPath: string | null): Promise<NginxProcess | null> {
  if (masters.length <= 1) return masters[0] ?? null;
  let left = masters;
  const own = await netNamespace(procRoot, 'self');
  if (own !== null) {
    const same: NginxProcess[] = [];
    for (const m of left) if ((await netNamespace(procRoot, String(m.pid))) === own) same.push(m);
    if (same.length > 0) left = same;
  }
  if (left.length > 1 && configPath !== null) left = left.filter((m) => startedWithConfig(m.cmdline, configPath));
  return left.length === 1 ? left[0]! : null;
}

/**
 * When the running nginx last loaded its config: a reload (SIGHUP) starts new
 * workers with the new config and retires the old ones, so the newest serving
 * worker's start time is the load. (A worker the master respawns after a crash
 * reads as a load too: that only shortens the time the agent credits to the
 * config.) null when no serving worker is visible under procRoot (no shared
 * process namespace, `master_process off`, hidepid), or when several masters are
 * and none of them is told apart as this config's.
 */
export async function readNginxLoad(procRoot: string, nowMs: number, configPath: string | null, seen?: readonly NginxProcess[]): Promise<NginxLoad | null> {
  const procs = seen ?? (await findNginxProcesses(procRoot));
  const masters = procs.filter((p) => p.role === 'master');
  const master = await masterOf(procRoot, masters, configPath);
  if (masters.length > 0 && master === null) return null;
  const workers = procs.filter((p) => p.role === 'worker');
  return loadFrom(
    procRoot,
    workers.map((p) => p.pid),
    master?.pid ?? null,
    nowMs,
    new Map(workers.map((p) => [p.pid, p.cmdline])),
  );
}

/**
 * The same from the master's children only (`<pid>/task/<pid>/children`, proc(5),
 * kernels built with CONFIG_PROC_CHILDREN, as Debian's and most distributions'
 * are): a handful of reads, cheap enough to repeat every second. null when the
 * master or its children list is gone; the caller then scans all of /proc again.
 */
export function readNginxLoadOfMaster(procRoot: string, masterPid: number, nowMs: number): NginxLoad | null {
  const children = small(join(procRoot, String(masterPid), 'task', String(masterPid), 'children'));
  if (children === null) return null;
  const pids = children.trim().split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
  return loadFrom(procRoot, pids, masterPid, nowMs);
}
