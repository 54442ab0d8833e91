/**
 * Bytes in, complete lines out. Pure: no node:fs, no clock, no logger.
 *
 * nginx writes each error-log entry with one write() that ends in "\n" and is at
 * most 2048 bytes (ngx_log_error_core, NGX_MAX_ERROR_STR), but a reader can still
 * see a line in two pieces: read() returns what has been written so far, and other
 * writers (or a disk that filled up mid-write) do not promise whole lines. So a
 * partial last line is held until its newline arrives, and emitted exactly once.
 *
 * Memory is bounded by maxLineBytes whatever the input: once a line outgrows the
 * limit its bytes are dropped as they arrive, and the line is counted when that
 * happens (not when its newline turns up, which may be never). A 10 MB line costs
 * at most maxLineBytes of buffer, then nothing.
 */
import { utf8Line } from '../../core/utf8.js';

const NEWLINE = 0x0a;

export class LineSplitter {
  /**
   * Lines dropped because they were longer than maxLineBytes (the "\n" not
   * counted). Counted when the line crosses the limit.
   */
  discardedTooLong = 0;

  /**
   * Holds the start of the current line. Grown on demand (most splitters only
   * ever hold a short tail) and never beyond maxLineBytes.
   */
  private buf: Buffer = Buffer.alloc(0);
  private held = 0;
  /** Inside a line that is already over the limit: drop bytes up to its newline. */
  private discarding = false;

  constructor(readonly maxLineBytes: number) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${String(maxLineBytes)}`);
    }
  }

  /** Bytes of an incomplete line held back, waiting for its newline. Never above maxLineBytes. */
  get pendingBytes(): number {
    return this.held;
  }

  /** True while the bytes of an over-long line are being skipped up to its newline. */
  get skipping(): boolean {
    return this.discarding;
  }

  /**
   * Lines are decoded by Buffer's toString: invalid UTF-8 becomes U+FFFD (the
   * WHATWG decoder's replacement, as TextDecoder without `fatal` does) and a
   * leading EF BB BF stays in the line; a TextDecoder call per line cost more
   * than the rest of splitting it. `text`, when the caller has it, is the same
   * bytes decoded as one string because they are all ASCII (io/decode.ts): the
   * lines are then views of it, and a consumer that keeps a line takes ownCopy()
   * of it (parse/text.ts).
   */
  push(bytes: Uint8Array, emit: (line: string) => void, text: string | null = null): void {
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    const end = chunk.length;
    while (start < end) {
      const nl = text !== null ? text.indexOf('\n', start) : chunk.indexOf(NEWLINE, start);
      const stop = nl === -1 ? end : nl;
      if (this.discarding) {
        if (nl === -1) return;
        this.discarding = false;
      } else if (this.held + (stop - start) > this.maxLineBytes) {
        // Over the limit: forget what is held and skip the rest of this line.
        this.held = 0;
        this.discardedTooLong++;
        if (nl === -1) {
          this.discarding = true;
          this.shrink();
          return;
        }
      } else if (nl === -1) {
        this.hold(chunk.subarray(start, end));
        return;
      } else if (this.held === 0) {
        emit(text !== null ? text.slice(start, nl) : utf8Line(chunk, start, nl));
      } else {
        this.hold(chunk.subarray(start, nl));
        const line = this.buf.toString('utf8', 0, this.held);
        this.held = 0;
        emit(line);
      }
      start = nl + 1;
    }
  }

  /**
   * Treats the bytes to come, up to the next newline, as the tail of a line that
   * is already too long, and counts it. For a reader that starts in the middle of
   * a line it cannot see the start of (tailing from the end of a file whose last
   * maxLineBytes hold no newline).
   */
  skipToNextLine(): void {
    if (this.discarding) return;
    this.held = 0;
    this.discarding = true;
    this.discardedTooLong++;
  }

  /**
   * Forgets any partial line (the file it came from was truncated or closed) and
   * any skip in progress. Returns the number of bytes of partial line dropped.
   */
  reset(): number {
    const dropped = this.held;
    this.held = 0;
    this.discarding = false;
    this.shrink();
    return dropped;
  }

  private hold(bytes: Uint8Array): void {
    const need = this.held + bytes.length;
    if (need > this.buf.length) {
      // Double, but never past the limit: the caller has checked need ≤ maxLineBytes.
      const bigger = Buffer.alloc(Math.min(this.maxLineBytes, Math.max(need, this.buf.length * 2, 256)));
      bigger.set(this.buf.subarray(0, this.held));
      this.buf = bigger;
    }
    this.buf.set(bytes, this.held);
    this.held = need;
  }

  /** A buffer that grew for one long line is not kept for the short ones after it. */
  private shrink(): void {
    if (this.buf.length > 4096) this.buf = Buffer.alloc(0);
  }
}
