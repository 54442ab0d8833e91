/**
 * Thin synchronous readers under --proc-root. They do I/O and nothing else.
 *
 * procfs files report a size of 0 and seq_file hands out at most one page per
 * read(), so whole-file helpers that trust st_size or grow a chunk list do many
 * small copies. ProcBuffer reads into one buffer that is kept and grown between
 * samples.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

export type ReadOutcome<T> =
  | { ok: true; value: T; path: string }
  | { ok: false; missing: boolean; path: string; error: string };

export function describeReadFailure(path: string, err: unknown): { ok: false; missing: boolean; path: string; error: string } {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const missing = code === 'ENOENT' || code === 'ENOTDIR';
  const what =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'ENOTREG'
            ? 'is not a regular file'
            : (err as Error).message;
  return { ok: false, missing, path, error: `${path}: ${what}` };
}

export function procPath(procRoot: string, rel: string): string {
  return join(procRoot, rel);
}

/**
 * Opens without blocking (a FIFO planted under --proc-root must not hang the
 * sampler) and refuses anything but a regular file; procfs files are regular.
 */
function openRegular(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
  }
  return fd;
}

/**
 * One buffer for every small-file read in this thread, kept between calls: a
 * sample reads a dozen small files, and a fresh buffer for each is garbage the
 * sampler thread would otherwise carry until its next full GC. The text is copied
 * out before returning, and reads are synchronous, so sharing it is safe.
 */
let textBuffer: ProcBuffer | null = null;

/** Small files (sysctls, snmp, netstat): read whole, as text. */
export function readProcText(procRoot: string, rel: string): ReadOutcome<string> {
  const holder = (textBuffer ??= new ProcBuffer(16 * 1024));
  const r = holder.read(procRoot, rel);
  return r.ok ? { ok: true, value: holder.buf.toString('latin1', 0, r.value), path: r.path } : r;
}

/**
 * A buffer that outgrows 1 MiB (a socket table) grows straight to at least this
 * size. Pages of an allocUnsafe buffer cost nothing until written, so the large
 * step costs address space only; a doubling chain instead writes every
 * intermediate buffer, and each one stays resident as garbage until the sampler
 * thread's next full GC, which with its small heap may be a long time coming.
 */
const LARGE_GROWTH_BYTES = 64 << 20;

export class ProcBuffer {
  buf: Buffer;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Reads the whole file into `buf`; the value is the number of bytes read. */
  read(procRoot: string, rel: string): ReadOutcome<number> {
    const path = procPath(procRoot, rel);
    let fd: number;
    try {
      fd = openRegular(path);
    } catch (err) {
      return describeReadFailure(path, err);
    }
    try {
      let length = 0;
      for (;;) {
        if (length === this.buf.length) {
          const doubled = this.buf.length * 2;
          const bigger = Buffer.allocUnsafe(doubled > 1 << 20 ? Math.max(doubled, LARGE_GROWTH_BYTES) : doubled);
          this.buf.copy(bigger, 0, 0, length);
          this.buf = bigger;
        }
        const n = readSync(fd, this.buf, length, this.buf.length - length, null);
        if (n === 0) break;
        length += n;
      }
      return { ok: true, value: length, path };
    } catch (err) {
      return describeReadFailure(path, err);
    } finally {
      closeSync(fd);
    }
  }
}
