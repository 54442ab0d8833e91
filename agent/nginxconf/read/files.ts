/**
 * Reading nginx configuration files: read-only, regular files only, with a size
 * cap, and glob(3) pattern expansion on the disk for `include`. I/O only;
 * parsing is elsewhere.
 *
 * A configuration file is input the agent does not own: the path is stat()ed
 * first so a FIFO, socket or device is refused without being opened, the open is
 * O_RDONLY|O_NONBLOCK, and the descriptor is fstat()ed again (closing the race
 * with a swap in between), as agent/io/files.ts does for procfs and logs.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { compareGlobOrder, globSegments } from '../../core/glob.js';
import { isIncludePattern } from '../parse/includes.js';

/** Opens a file for reading; injectable so tests can produce errors root cannot (EACCES). */
export type OpenFile = (path: string, flags: number) => Promise<FileHandle>;

export const openReadOnly: OpenFile = (path, flags) => open(path, flags);

export type FileRead = { ok: true; text: string; bytes: number } | { ok: false; error: string };

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a FIFO, not a regular file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a regular file';
  return 'is not a regular file';
}

/** A failed read as a short phrase to put after the path. */
export function describeFileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a component of the path is not a directory)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'cannot be read: too many levels of symbolic links';
    default:
      return `cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Reads a whole configuration file as UTF-8, refusing anything but a regular file of at most maxBytes. */
export async function readConfigFile(path: string, maxBytes: number, openFile: OpenFile = openReadOnly): Promise<FileRead> {
  let fh: FileHandle | undefined;
  try {
    const st = await stat(path);
    if (!st.isFile()) return { ok: false, error: kindOf(st) };
    if (st.size > maxBytes) return { ok: false, error: `is larger than ${maxBytes} bytes and was not read` };
    fh = await openFile(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const again = await fh.stat();
    if (!again.isFile()) return { ok: false, error: kindOf(again) };
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(again.size + 1, 4096)));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) return { ok: false, error: `is larger than ${maxBytes} bytes and was not read` };
    return { ok: true, text: buf.toString('utf8', 0, n), bytes: n };
  } catch (err) {
    return { ok: false, error: describeFileError(err) };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * The paths a full include path names on the disk, as nginx's glob() call finds
 * them (see parse/includes.ts): a plain path is returned as it is (opening it
 * tells whether it exists); a pattern is expanded component by component, read
 * errors on the way are ignored (glob() without GLOB_ERR), only existing paths
 * are returned, sorted by bytes.
 */
export async function expandIncludeOnDisk(fullPath: string): Promise<string[]> {
  if (!isIncludePattern(fullPath)) return [fullPath];
  const segs = globSegments(fullPath);
  let paths = [segs[0]!.text === '' ? '' : '.'];
  const first = segs[0]!.text === '' ? 1 : 0;
  for (let k = first; k < segs.length; k++) {
    const seg = segs[k]!;
    const next: string[] = [];
    for (const base of paths) {
      const dir = base === '' ? '/' : base;
      const join = (name: string): string => (base === '' ? `/${name}` : `${base}/${name}`);
      if (seg.re === null) {
        next.push(join(seg.text));
        continue;
      }
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) if (seg.re.test(name)) next.push(join(name));
    }
    paths = next;
    if (paths.length === 0) return [];
  }
  const existing: string[] = [];
  for (const p of paths) {
    try {
      await lstat(p);
      existing.push(p);
    } catch {
      // glob() returns only what exists.
    }
  }
  return existing.sort(compareGlobOrder);
}
