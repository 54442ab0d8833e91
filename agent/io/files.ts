/**
 * Opening files the agent reads but does not own (procfs under --proc-root, nginx
 * error logs for diagnose): regular files only. The path is stat()ed first, so a
 * FIFO, socket or device (the official nginx image links error.log to
 * /dev/stderr) is refused without being opened; the open is O_NONBLOCK and the fd
 * is fstat()ed again, closing the race with a swap in between.
 */
import { closeSync, constants, fstatSync, openSync, statSync, type Stats } from 'node:fs';

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Throws an error with code ENOTREG (message "is a FIFO", …) for anything but a regular file. */
export function openRegularFile(path: string): number {
  const st = statSync(path);
  if (!st.isFile()) throw Object.assign(new Error(`is ${kindOf(st)}`), { code: 'ENOTREG' });
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const again = fstatSync(fd);
  if (!again.isFile()) {
    closeSync(fd);
    throw Object.assign(new Error(`is ${kindOf(again)}`), { code: 'ENOTREG' });
  }
  return fd;
}

/** Why a read failed, in a few words ("does not exist", "permission denied", …). */
export function readFailureReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return code === 'ENOENT'
    ? 'does not exist'
    : code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'ENOTREG'
          ? 'is not a regular file'
          : (err as Error).message;
}

/** A failed read as a one-line reason naming the file; `missing` when it does not exist. */
export function describeReadFailure(path: string, err: unknown): { ok: false; missing: boolean; path: string; error: string } {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const missing = code === 'ENOENT' || code === 'ENOTDIR';
  return { ok: false, missing, path, error: `${path}: ${readFailureReason(err)}` };
}
