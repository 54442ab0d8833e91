/**
 * Opening files the agent reads but does not own (procfs under --proc-root, nginx
 * error logs, nginx configuration, the web config and its PEM files): regular
 * files only, read-only, and every failure described the same way. The one place
 * that opens such a file.
 *
 * - The path is stat()ed first, so a FIFO, socket, device or directory is
 *   refused without being opened: the official nginx image links error.log to
 *   /dev/stderr, and opening a FIFO or a tty would block or steal input.
 * - The open is O_RDONLY|O_NONBLOCK|O_NOCTTY: a FIFO swapped in between the
 *   stat and the open must not block the daemon (open(2): O_NONBLOCK on a FIFO
 *   opened for reading returns at once), and a terminal must never become the
 *   agent's controlling tty.
 * - The descriptor is fstat()ed again, closing the race with a swap in between.
 *
 * Anything but a regular file is thrown as an error with code ENOTREG (not an
 * errno, so no errno text is ever mistaken for it), message "is a FIFO", …, and
 * the kind, so a caller can word it its own way.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, statSync, type BigIntStats, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';

/** The flags of every open here (see the header). */
export const READ_ONLY_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** fs.openSync's shape: a seam for tests (root reads mode-000 files, so EACCES has to be injected). */
export type OpenFileSync = (path: string, flags: number) => number;
/** fs.promises.open's shape, the same seam for the asynchronous opener. */
export type OpenFileAsync = (path: string, flags: number) => Promise<FileHandle>;

export const openReadOnly: OpenFileAsync = (path, flags) => open(path, flags);

/** What stat() says a path is; 'other' for anything else (stat() follows symlinks, so never a link). */
export type FileKind = 'regular file' | 'directory' | 'character device' | 'block device' | 'FIFO' | 'socket' | 'other';

/** The type tests of fs.Stats and fs.BigIntStats alike. */
type StatTypes = Pick<Stats, 'isFile' | 'isDirectory' | 'isCharacterDevice' | 'isBlockDevice' | 'isFIFO' | 'isSocket'>;

export function fileKind(st: StatTypes): FileKind {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'other';
}

const KIND_PHRASES: Record<FileKind, string> = {
  'regular file': 'a regular file',
  directory: 'a directory',
  'character device': 'a character device',
  'block device': 'a block device',
  FIFO: 'a FIFO',
  socket: 'a socket',
  other: 'not a regular file',
};

/** A caller's own words for some kinds, e.g. { FIFO: 'a FIFO (named pipe)' }. */
export type KindWording = Partial<Record<FileKind, string>>;

/** The phrase after "is": "a directory", "a FIFO", "a character device", …, "not a regular file". */
export function kindOf(what: StatTypes | FileKind, wording: KindWording = {}): string {
  const kind = typeof what === 'string' ? what : fileKind(what);
  return wording[kind] ?? KIND_PHRASES[kind];
}

/** Thrown for anything but a regular file: code ENOTREG, message "is a FIFO", …. */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  readonly kind: FileKind;

  constructor(st: StatTypes) {
    const kind = fileKind(st);
    super(`is ${kindOf(kind)}`);
    this.name = 'NotRegularFileError';
    this.kind = kind;
  }
}

/** Thrown by the asynchronous opener for a file over its maxBytes, before opening it: code EFBIG ("File too large"). */
export class FileTooLargeError extends Error {
  readonly code = 'EFBIG';

  constructor(readonly maxBytes: number) {
    super(`is larger than ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Opens a path the caller has just stat()ed as a regular file and fstat()s the
 * descriptor: a swap in between (a FIFO in its place) is closed again and thrown
 * as NotRegularFileError. The tailer stats the path itself (it needs the stats
 * to detect rotations), so it starts here.
 */
export function openVerified(path: string, openFile: OpenFileSync = openSync): { fd: number; stats: BigIntStats } {
  const fd = openFile(path, READ_ONLY_FLAGS);
  let stats: BigIntStats;
  try {
    stats = fstatSync(fd, { bigint: true });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!stats.isFile()) {
    closeSync(fd);
    throw new NotRegularFileError(stats);
  }
  return { fd, stats };
}

/** stat(), refuse anything but a regular file, open, fstat(). Throws NotRegularFileError or the errno error. */
export function openRegularFile(path: string, openFile: OpenFileSync = openSync): number {
  const st = statSync(path);
  if (!st.isFile()) throw new NotRegularFileError(st);
  return openVerified(path, openFile).fd;
}

/**
 * The same, with a FileHandle. A file larger than maxBytes is refused before it
 * is opened (FileTooLargeError); the caller still bounds its read, as the file
 * may grow after the stat.
 */
export async function openRegularFileAsync(
  path: string,
  options: { openFile?: OpenFileAsync; maxBytes?: number } = {},
): Promise<{ handle: FileHandle; stats: Stats }> {
  const st = await stat(path);
  if (!st.isFile()) throw new NotRegularFileError(st);
  if (options.maxBytes !== undefined && st.size > options.maxBytes) throw new FileTooLargeError(options.maxBytes);
  const handle = await (options.openFile ?? openReadOnly)(path, READ_ONLY_FLAGS);
  let stats: Stats;
  try {
    stats = await handle.stat();
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  if (!stats.isFile()) {
    await handle.close().catch(() => undefined);
    throw new NotRegularFileError(stats);
  }
  return { handle, stats };
}

export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? '';
}

/**
 * errno → the phrase put after a path. A "reason" says why the file could not be
 * read (a caller may prefix it: "cannot be read: permission denied"); the others
 * say what the path is, or is not.
 */
const ERRNO_PHRASES: Readonly<Record<string, { phrase: string; reason: boolean }>> = {
  ENOENT: { phrase: 'does not exist', reason: false },
  ENOTDIR: { phrase: 'does not exist (a component of the path is not a directory)', reason: false },
  EISDIR: { phrase: 'is a directory', reason: false },
  ENOTREG: { phrase: 'is not a regular file', reason: false },
  EACCES: { phrase: 'permission denied', reason: true },
  EPERM: { phrase: 'permission denied', reason: true },
  ELOOP: { phrase: 'too many levels of symbolic links', reason: true },
};

export interface FileErrorWording {
  /** Put before a reason and before an unknown error's own message (the config reader's "cannot be read: "). */
  reasonPrefix?: string;
}

/** A failed open or read as a short phrase to put after the path: "does not exist", "permission denied", …. */
export function describeFileError(err: unknown, wording: FileErrorWording = {}): string {
  const known = ERRNO_PHRASES[errnoCode(err)];
  const prefix = wording.reasonPrefix ?? '';
  if (known !== undefined) return known.reason ? `${prefix}${known.phrase}` : known.phrase;
  return `${prefix}${err instanceof Error ? err.message : String(err)}`;
}

/** Whether the error says nothing is at the path (yet). */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Why a read failed, in a few words ("does not exist", "permission denied", …): the reason a message template takes. */
export function readFailureReason(err: unknown): string {
  return describeFileError(err);
}

/** A failed read as a one-line reason naming the file; `missing` when it does not exist. */
export function describeReadFailure(path: string, err: unknown): { ok: false; missing: boolean; path: string; error: string } {
  return { ok: false, missing: isMissing(err), path, error: `${path}: ${describeFileError(err)}` };
}

/** Where the symlink at path points, as written (one hop); null when path is not a symlink, or is gone. Never opens the path. */
export function symlinkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null; // gone between the caller's stat and here: its next look will say so
  }
}

/**
 * A link target that sends the log to the container's output: the official nginx
 * image does `ln -sf /dev/stderr /var/log/nginx/error.log` (and stdout for
 * access.log).
 */
export function goesToContainerOutput(target: string): boolean {
  return /^\/(dev\/std(err|out)|proc\/self\/fd\/)/.test(target);
}

/** Where /dev/stderr and friends lead: a process's standard streams, never a log file. */
const STD_STREAM_LINK = /^\/(?:dev\/(?:std(?:in|out|err)|fd\/)|proc\/(?:self|thread-self|\d+)\/fd\/)/;
/** Linux follows at most 40 links in a path (path_resolution(7)); so does this. */
const MAX_LINK_HOPS = 40;

/**
 * The target, if the path is a symlink (chain) through /dev/stderr, /dev/fd/N or
 * /proc/…/fd/N. stat() follows such a link to whatever the *agent's* fd 2 is, which
 * may well be a regular file (a daemon's stderr redirected to a file): reading it
 * would read the agent's own output, not nginx's. So the link itself is refused.
 */
export function stdStreamLink(path: string): string | null {
  let current = path;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const target = symlinkTarget(current);
    if (target === null) return null;
    const abs = isAbsolute(target) ? target : resolve(dirname(current), target);
    if (STD_STREAM_LINK.test(abs)) return target;
    current = abs;
  }
  return null;
}
