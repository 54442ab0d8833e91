/**
 * nginx's version from the nginx running under --proc-root, without running or
 * asking it: its master's executable is read as a file (read/binary.ts). I/O
 * only; which process is the master, and which files it maps, are
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
import { readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegularFileAsync } from '../../io/files.js';
import type { VersionAttempt, VersionFinding } from '../model/versionSource.js';
import { executableMappings, nginxProcessRole, type NginxProcessRole } from '../parse/procfs.js';
import { readVersionFromBinary, type BinaryVersionRead } from './binary.js';

/** How a binary is read for its version: a seam for tests (root may read any process's exe, so EACCES is injected). */
export type ReadBinary = (path: string) => Promise<BinaryVersionRead>;

/** At most this many of /proc's entries are looked at (a host with more processes is read partly). */
const MAX_PIDS = 100_000;

interface NginxProcess {
  pid: number;
  role: NginxProcessRole;
}

/** A small procfs file (comm, cmdline, maps), to its end or 1 MiB; null when it cannot be read. */
async function small(path: string): Promise<string | null> {
  let fh: FileHandle | undefined;
  try {
    fh = (await openRegularFileAsync(path)).handle;
    // procfs files report size 0: read until a read returns nothing.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(16 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0 || total >= 1024 * 1024) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks).toString('latin1');
  } catch {
    return null;
  } finally {
    await fh?.close().catch(() => undefined);
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
    const comm = await small(join(procRoot, name, 'comm'));
    if (comm === null) continue;
    const cmdline = (await small(join(procRoot, name, 'cmdline'))) ?? '';
    const role = nginxProcessRole(comm, cmdline);
    if (role !== null) out.push({ pid: Number(name), role });
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
  const maps = await small(join(procRoot, String(p.pid), 'maps'));
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
): Promise<{ found: VersionFinding | null; attempt: VersionAttempt | null }> {
  const procs = await findNginxProcesses(procRoot);
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
