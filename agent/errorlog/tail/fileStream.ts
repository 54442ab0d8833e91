/**
 * One open generation of one error-log file: the descriptor, the offset, the line
 * splitter, and what the tailer needs to recognise the file later (its first
 * bytes and the bytes just before the offset). The tailer (tailer.ts) decides
 * when a stream is opened, retired and closed (model/rotation.ts); a stream only
 * reads.
 *
 * Files are opened only after stat() says "regular file", with O_NONBLOCK (a FIFO
 * swapped in between the stat and the open must not block the daemon) and the fd
 * is fstat()ed again to close that race (agent/io/files.ts): the official nginx
 * image links error.log to /dev/stderr, which must be refused, never read.
 *
 * Reads are synchronous preads of 64 KiB into one buffer, with a yield to the
 * event loop every MiB, so a large backlog does not stall the HTTP server.
 */
import { closeSync, fstatSync, readSync, type BigIntStats } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { openVerified, type OpenFileSync } from '../../io/files.js';
import { asciiText } from '../../io/decode.js';
import type { HeldFile, RetiredFile } from '../model/rotation.js';
import { LineSplitter } from './lineSplitter.js';

const READ_CHUNK_BYTES = 64 * 1024;
const YIELD_EVERY_BYTES = 1 << 20;
/** Per file per pass, so one file written faster than we read cannot hold the pass forever. */
const PASS_BUDGET_BYTES = 32 << 20;
/** Bytes before the offset remembered to notice a truncated file that grew back past the offset. */
const FINGERPRINT_BYTES = 32;
/**
 * The file's first bytes, remembered too: after a truncate the file starts with
 * new lines (a later timestamp, in nginx's case), while the bytes just before an
 * old offset can match by chance when lines repeat with the same length (see
 * COPYTRUNCATE LOSS WINDOW in model/rotation.ts).
 */
const HEAD_BYTES = 64;

/**
 * Buffers one tailer's streams share: passes run one at a time, so one read
 * buffer serves every file instead of 64 KiB per open file.
 */
export class ReadBuffers {
  readonly chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  readonly fingerprint = Buffer.allocUnsafe(FINGERPRINT_BYTES);
  readonly head = Buffer.allocUnsafe(HEAD_BYTES);
}

/** Where a drain adds what it read (the tailer's per-path counts). */
export interface DrainCounters {
  /** Bytes read, including discarded ones. */
  bytes: number;
  /** Lines longer than maxLineBytes. */
  tooLong: number;
}

export type DrainOutcome =
  /** Reached the end of the file (or the tailer stopped). */
  | { status: 'done' }
  /** Stopped by the per-pass budget: there is more to read. */
  | { status: 'more' }
  | { status: 'failed'; error: unknown };

const DONE: DrainOutcome = { status: 'done' };
const MORE: DrainOutcome = { status: 'more' };

export class FileStream implements HeldFile, RetiredFile {
  /** Next byte to read. */
  offset = 0;
  retiredAt: number | null = null;
  drained = false;
  private readonly splitter: LineSplitter;
  /** The last fingerprintLength bytes before offset, as read. */
  private readonly fingerprint = Buffer.alloc(FINGERPRINT_BYTES);
  private fingerprintLength = 0;
  /** The file's first headLength bytes (at most HEAD_BYTES, never past the offset). */
  private readonly head = Buffer.alloc(HEAD_BYTES);
  private headLength = 0;

  private constructor(
    private readonly fd: number,
    /** dev:ino of the open file. */
    readonly id: string,
    maxLineBytes: number,
    private readonly buffers: ReadBuffers,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
  }

  /**
   * Opens a path the tailer has stat()ed as a regular file, at offset 0, and
   * returns the size fstat() saw. Throws what io/files.ts's openVerified throws
   * (NotRegularFileError for a swap, the errno error otherwise).
   */
  static open(path: string, openFile: OpenFileSync, maxLineBytes: number, buffers: ReadBuffers): { stream: FileStream; size: number } {
    const { fd, stats } = openVerified(path, openFile);
    return { stream: new FileStream(fd, idOf(stats), maxLineBytes, buffers), size: Number(stats.size) };
  }

  /**
   * Starts at the end, but at the start of the last line if it is incomplete (a
   * write in progress): a line that is finished after we started is a new line.
   */
  seekToEnd(size: number): void {
    const maxLineBytes = this.splitter.maxLineBytes;
    const span = Math.min(size, maxLineBytes + 1);
    const tail = Buffer.allocUnsafe(span);
    let n = 0;
    try {
      n = readSync(this.fd, tail, 0, span, size - span);
    } catch {
      // Read errors surface on the first real read.
    }
    try {
      // The first bytes of a file we start at the end of: what a truncate would replace.
      this.headLength = readSync(this.fd, this.head, 0, Math.min(HEAD_BYTES, size), 0);
    } catch {
      this.headLength = 0;
    }
    const nl = tail.subarray(0, n).lastIndexOf(0x0a);
    if (nl !== -1) this.offset = size - span + nl + 1;
    else if (size <= maxLineBytes) this.offset = 0;
    else {
      this.offset = size;
      this.splitter.skipToNextLine();
    }
    this.remember(tail.subarray(0, nl === -1 ? 0 : nl + 1));
  }

  /** The bytes just before the offset, and the file's first bytes, are still the ones we read there. */
  fingerprintHolds(): boolean {
    const scratch = this.buffers;
    try {
      if (this.fingerprintLength > 0) {
        const n = readSync(this.fd, scratch.fingerprint, 0, this.fingerprintLength, this.offset - this.fingerprintLength);
        if (n !== this.fingerprintLength || scratch.fingerprint.compare(this.fingerprint, 0, n, 0, n) !== 0) return false;
      }
      if (this.headLength > 0) {
        const n = readSync(this.fd, scratch.head, 0, this.headLength, 0);
        if (n !== this.headLength || scratch.head.compare(this.head, 0, n, 0, n) !== 0) return false;
      }
    } catch {
      return true; // the read that follows will report the error
    }
    return true;
  }

  /** st_nlink of the open descriptor; null when fstat() fails (it does not, in practice, on an fd we hold). */
  linkCount(): number | null {
    try {
      return fstatSync(this.fd).nlink;
    } catch {
      return null;
    }
  }

  /** The open file's size now; null when fstat() fails. */
  size(): number | null {
    try {
      return fstatSync(this.fd).size;
    } catch {
      return null;
    }
  }

  /** Truncated in place: read again from 0. Returns whether a partial line was dropped. */
  restartAtZero(): boolean {
    const dropped = this.splitter.reset() > 0;
    this.offset = 0;
    this.fingerprintLength = 0;
    this.headLength = 0;
    return dropped;
  }

  /**
   * Reads from the offset to the end of the file, or to the per-pass budget,
   * handing every complete line to emit. Yields to the event loop every MiB and
   * ends early once stopped() says so.
   */
  async drain(counters: DrainCounters, emit: (line: string) => void, stopped: () => boolean): Promise<DrainOutcome> {
    const buf = this.buffers.chunk;
    let total = 0;
    let sinceYield = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, buf, 0, buf.length, this.offset);
      } catch (error) {
        return { status: 'failed', error };
      }
      if (n === 0) {
        this.drained = true;
        return DONE;
      }
      const chunk = buf.subarray(0, n);
      if (this.headLength < HEAD_BYTES && this.offset === this.headLength) {
        // Contiguous with the head kept so far: the file's first bytes, as read.
        const take = Math.min(HEAD_BYTES - this.headLength, n);
        this.head.set(chunk.subarray(0, take), this.headLength);
        this.headLength += take;
      }
      this.offset += n;
      counters.bytes += n;
      this.remember(chunk);
      const before = this.splitter.discardedTooLong;
      this.splitter.push(chunk, emit, asciiText(chunk));
      counters.tooLong += this.splitter.discardedTooLong - before;
      total += n;
      sinceYield += n;
      if (total >= PASS_BUDGET_BYTES) {
        this.drained = false;
        return MORE;
      }
      if (sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        await yieldToEventLoop();
        if (stopped()) return DONE;
      }
    }
  }

  /**
   * The open descriptor, the offset, and where the line the splitter holds the
   * start of began (the offset when it holds none); null while an over-long line
   * is being skipped.
   */
  lineStart(): { fd: number; offset: number; lineStart: number } | null {
    return this.splitter.skipping ? null : { fd: this.fd, offset: this.offset, lineStart: this.offset - this.splitter.pendingBytes };
  }

  /**
   * Moves the offset on to `end` (a line's start, at or past the offset) when
   * another reader (the backlog reader, tail/tailer.ts) has read the lines from
   * lineStart() up to there, the one the splitter held the start of included: it
   * is dropped here. Counts the bytes not yet counted; the head and the
   * fingerprint are read from the file as drain() would have kept them.
   */
  skipTo(end: number, counters: DrainCounters): void {
    if (end < this.offset) throw new RangeError(`skipTo(${end}) before the offset ${this.offset}`);
    this.splitter.reset();
    counters.bytes += end - this.offset;
    this.offset = end;
    try {
      if (this.headLength < HEAD_BYTES) this.headLength = readSync(this.fd, this.head, 0, Math.min(HEAD_BYTES, end), 0);
      const keep = Math.min(FINGERPRINT_BYTES, end);
      const n = readSync(this.fd, this.buffers.fingerprint, 0, keep, end - keep);
      this.fingerprintLength = 0;
      this.remember(this.buffers.fingerprint.subarray(0, n));
    } catch {
      // Read errors surface on the next drain.
    }
  }

  /** Closes the descriptor. Returns whether a partial line was dropped with it. */
  close(): boolean {
    const dropped = this.splitter.reset() > 0;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed would be our bug; nothing useful to do about it here.
    }
    return dropped;
  }

  /** Keeps the last FINGERPRINT_BYTES bytes ending at the offset; `bytes` end at the offset. */
  private remember(bytes: Uint8Array): void {
    const keep = Math.min(FINGERPRINT_BYTES, bytes.length);
    if (keep === FINGERPRINT_BYTES) {
      this.fingerprint.set(bytes.subarray(bytes.length - keep));
      this.fingerprintLength = keep;
      return;
    }
    const old = Math.min(this.fingerprintLength, FINGERPRINT_BYTES - keep);
    this.fingerprint.copy(this.fingerprint, 0, this.fingerprintLength - old, this.fingerprintLength);
    this.fingerprint.set(bytes, old);
    this.fingerprintLength = old + keep;
  }
}

/** dev:ino: which file a stat() or fstat() describes, whatever its name. */
export function idOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}
