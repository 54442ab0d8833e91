/**
 * Reading nginx configuration files: read-only, regular files only, with a size
 * cap, and glob(3) pattern expansion on the disk for `include`. I/O only;
 * parsing is elsewhere.
 *
 * A configuration file is input the agent does not own: it is opened through
 * agent/io/files.ts (stat first so a FIFO, socket or device is refused without
 * being opened, O_RDONLY|O_NONBLOCK|O_NOCTTY, the descriptor fstat()ed again).
 * What stays here is the configuration's own: the size cap, the wording of its
 * problems, and following `include` patterns on the disk.
 */
import { lstat, readdir, type FileHandle } from 'node:fs/promises';
import { compareGlobOrder, globSegments } from '../../core/glob.js';
import {
  describeFileError,
  FileTooLargeError,
  kindOf,
  NotRegularFileError,
  openReadOnly,
  openRegularFileAsync,
  type FileKind,
  type OpenFileAsync,
} from '../../io/files.js';
import { isIncludePattern } from '../parse/includes.js';

export type FileRead = { ok: true; text: string; bytes: number } | { ok: false; error: string };

/** The configuration's wording: "is a directory", "is a FIFO, not a regular file", "is a device, not a regular file". */
function notRegular(kind: FileKind): string {
  if (kind === 'directory' || kind === 'other') return `is ${kindOf(kind)}`;
  return `is ${kindOf(kind, { 'character device': 'a device', 'block device': 'a device' })}, not a regular file`;
}

/** A failed read as a short phrase to put after the path ("does not exist", "cannot be read: permission denied"). */
function describeConfigFileError(err: unknown): string {
  if (err instanceof NotRegularFileError) return notRegular(err.kind);
  return describeFileError(err, { reasonPrefix: 'cannot be read: ' });
}

/** Reads a whole configuration file as UTF-8, refusing anything but a regular file of at most maxBytes. */
export async function readConfigFile(path: string, maxBytes: number, openFile: OpenFileAsync = openReadOnly): Promise<FileRead> {
  const tooLarge: FileRead = { ok: false, error: `is larger than ${maxBytes} bytes and was not read` };
  let fh: FileHandle | undefined;
  try {
    const opened = await openRegularFileAsync(path, { openFile, maxBytes });
    fh = opened.handle;
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(opened.stats.size + 1, 4096)));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    // It may have grown since the stat.
    if (n > maxBytes) return tooLarge;
    return { ok: true, text: buf.toString('utf8', 0, n), bytes: n };
  } catch (err) {
    return err instanceof FileTooLargeError ? tooLarge : { ok: false, error: describeConfigFileError(err) };
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
