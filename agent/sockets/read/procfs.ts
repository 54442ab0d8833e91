/**
 * Thin synchronous readers under --proc-root. They do I/O and nothing else.
 *
 * procfs files report a size of 0 and seq_file hands out at most one page per
 * read(), so whole-file helpers that trust st_size or grow a chunk list do many
 * small copies. ProcBuffer reads into one buffer that is kept and grown between
 * samples.
 */
import { closeSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describeReadFailure, openRegularFile, readFailureReason } from '../../io/files.js';
import { newRecordArrays, type RecordArrays } from '../model/socketTable.js';

export type ReadOutcome<T> =
  | { ok: true; value: T; path: string }
  | { ok: false; missing: boolean; path: string; error: string; reason: string };

/**
 * Largest small file readText accepts. The kernel's sysctl, snmp, netstat and
 * sockstat files are a few kB; the longest, ip_local_reserved_ports with every
 * other port reserved, is under 200 kB. A larger file is not what the kernel
 * writes there, and is refused (as unreadable) rather than read whole.
 */
export const MAX_TEXT_BYTES = 1024 * 1024;

export function procPath(procRoot: string, rel: string): string {
  return join(procRoot, rel);
}

/**
 * Per-thread scratch space for reading procfs, kept between samples so a sample
 * allocates almost nothing: a chunk buffer for streaming the socket tables, a
 * buffer for small files, and the socket table's record columns (a few MB at
 * 100 000 sockets, which would otherwise be garbage for the sampler thread's GC
 * at every sample).
 */
export class ProcBuffer {
  /** Chunk for streaming large files; procfs hands out at most a page per read(), so 256 KiB is plenty. */
  readonly chunk: Buffer;
  private text: Buffer;
  /** Socket-table record columns, reused from sample to sample (grown as needed). */
  readonly records: RecordArrays = newRecordArrays(1024);

  constructor(chunkBytes = 256 * 1024) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
    this.text = Buffer.allocUnsafe(16 * 1024);
  }

  /** Streams a file through `onChunk` (the same buffer each call: consume it before returning). */
  stream(procRoot: string, rel: string, onChunk: (buf: Buffer, length: number) => void): ReadOutcome<number> {
    return withRegularFile(procPath(procRoot, rel), (fd) => {
      let total = 0;
      for (;;) {
        const n = readSync(fd, this.chunk, 0, this.chunk.length, null);
        if (n === 0) return total;
        total += n;
        onChunk(this.chunk, n);
      }
    });
  }

  /** A small file, whole, as text; one of MAX_TEXT_BYTES or more fails. */
  readText(procRoot: string, rel: string): ReadOutcome<string> {
    return withRegularFile(procPath(procRoot, rel), (fd) => {
      let length = 0;
      for (;;) {
        if (length === this.text.length) {
          if (length >= MAX_TEXT_BYTES) throw new Error(`${MAX_TEXT_BYTES} bytes or more, not what the kernel writes there`);
          const bigger = Buffer.allocUnsafe(this.text.length * 2);
          this.text.copy(bigger, 0, 0, length);
          this.text = bigger;
        }
        const n = readSync(fd, this.text, length, this.text.length - length, null);
        if (n === 0) return this.text.toString('latin1', 0, length);
        length += n;
      }
    });
  }
}

/** The failure naming the file (`error`), and the reason alone for coded messages. */
function failed(path: string, err: unknown): ReadOutcome<never> {
  return { ...describeReadFailure(path, err), reason: readFailureReason(err) };
}

/** Opens a regular file, runs `read` on it, closes it; any failure becomes a described outcome. */
function withRegularFile<T>(path: string, read: (fd: number) => T): ReadOutcome<T> {
  let fd: number;
  try {
    fd = openRegularFile(path);
  } catch (err) {
    return failed(path, err);
  }
  try {
    return { ok: true, value: read(fd), path };
  } catch (err) {
    return failed(path, err);
  } finally {
    closeSync(fd);
  }
}

/** A small file read with a throwaway buffer (one-off reads outside a sample). */
export function readProcText(procRoot: string, rel: string): ReadOutcome<string> {
  return new ProcBuffer(4096).readText(procRoot, rel);
}
