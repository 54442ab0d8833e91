/**
 * Reads a window of an error log for `agent diagnose`, without reading a large
 * file whole and without keeping its lines:
 *
 * - A plain file is read backwards from the window's end in chunks and the scan
 *   stops at the first line older than the window. The window's end is found by
 *   a binary search over the file's bytes (nginx appends in time order), so a
 *   past window (--until) costs a few reads, not a scan of everything after it.
 * - A .gz file cannot be read backwards: it is streamed forwards through
 *   node:zlib, each line counted as it passes (RecentWindow keeps counts, not
 *   lines), and the stream stops at the first line after the window.
 *
 * A live file whose window reaches past its start continues into its rotated
 * predecessor: `<file>.1`, or `<file>.1.gz`. A path given as `….gz` (an archive)
 * is read as such.
 *
 * A plain file with more than PARALLEL_MIN_BYTES to scan is cut at line starts
 * into parts of about PART_BYTES, read at once by worker threads running this
 * very module (its URL: the same file whether run from tsc's output or the
 * one-file build), each part into a RecentWindow of its own. Each worker claims
 * the newest part nobody has claimed yet (ClaimTable, in shared memory), so a
 * worker that starts late or runs slow reads less and none waits for another;
 * a worker that cannot run leaves its parts to the others, and what no worker
 * claimed this thread reads last. This thread does not read while the workers
 * do: its event loop stays free for the command's other work (nginx's config,
 * host facts), and the V8 flags the workers are started with (SCAN_V8_FLAGS,
 * nodeFlags.ts) need not reach it. The parts' summaries are merged newest first
 * and the merge stops after the part whose scan met a line older than the
 * window, so the result is the one-thread scan's, line for line
 * (mergeScanParts).
 */
import { closeSync, createReadStream, existsSync, fstatSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { LOCAL_ZONE, type TimeZone } from '../../core/timeZone.js';
import { openRegularFile } from '../../io/files.js';
import { mergeScanParts, RecentWindow, type RecentSummary, type ScanEnd, type TimelineOptions } from '../model/recent.js';
import { classifyLine, TimeMemo } from '../parse/classify.js';
import { asciiText } from '../../io/decode.js';
import { utf8Line } from '../../core/utf8.js';
import { discardPrestarted, PARALLEL_MIN_BYTES, SCAN_ROLE, startScanWorker, takePrestarted, type StartedWorker } from './scanWorker.js';

const CHUNK = 64 * 1024;

export { PARALLEL_MIN_BYTES };

/** A file read in parts when its window is read: a plain file (not .gz) of PARALLEL_MIN_BYTES or more; false when it cannot be looked at (its read says why). */
export function readInParts(path: string): boolean {
  try {
    return !path.endsWith('.gz') && statSync(path).size >= PARALLEL_MIN_BYTES;
  } catch {
    return false;
  }
}

/**
 * What the backwards scan reads at a time. A window of a busy log is hundreds of
 * MB: one read per MiB costs less than per 64 KiB, and the buffer is allocated
 * once per file.
 */
const BACKWARDS_CHUNK = 1 << 20;
/**
 * nginx's workers stamp lines from their own cached second, so neighbouring lines
 * can be a little out of order; the binary search aims this far past the window's
 * end, and the backwards scan skips what is newer.
 */
const DISORDER_MS = 60_000;

export interface RecentOptions {
  /** Stop after scanning this many bytes per file (the summary says it was truncated). */
  maxScanBytes: number;
  /** The zone nginx stamps its lines in (--error-log-timezone). */
  zone?: TimeZone;
  /** Bucket the window's events by kind over time (the HTML report's chart). */
  timeline?: TimelineOptions;
  /** Worker threads that read parts of one large file alongside this one (absent: this thread alone). */
  threads?: ScanThreads;
}

export interface LogWindow {
  sinceMs: number;
  /** Inclusive; Infinity: up to the end of the log. */
  untilMs: number;
}

/** Reads len bytes at pos into buf (a regular file returns fewer only at its end, which pos + len never passes). */
function readFully(fd: number, buf: Buffer, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Yields the bytes of a regular file that end at or before byte `end` (default:
 * its size) in pieces of whole lines, last piece first (each a view of one read
 * buffer, valid until the next piece: `reuse` when given, so that a thread reading
 * many parts of a file allocates one). Only the lines wholly within the last
 * maxScanBytes bytes before `end` are yielded ('limit' then says the scan stopped
 * there).
 *
 * Each read ends where the piece yielded before it starts; the bytes before its
 * first newline (the end of an earlier line) are read again with the next piece
 * instead of being copied onto it. A line longer than the buffer doubles it
 * (nginx's are at most 2048 bytes: NGX_MAX_ERROR_STR), so the memory is one
 * buffer whatever the file's size.
 */
function* piecesBackwards(path: string, maxScanBytes: number, end?: number, reuse?: Buffer): Generator<Buffer, 'start' | 'limit', undefined> {
  const fd = openRegularFile(path);
  try {
    let pos = Math.min(end ?? Number.POSITIVE_INFINITY, fstatSync(fd).size);
    const floor = Math.max(0, pos - maxScanBytes);
    let buf = reuse ?? Buffer.allocUnsafe(Math.min(BACKWARDS_CHUNK, Math.max(pos - floor, 1)));
    while (pos > floor) {
      const from = Math.max(floor, pos - buf.length);
      const len = readFully(fd, buf, pos - from, from);
      // Where the first whole line starts: the file's start, else after the first newline.
      let first = 0;
      if (from > 0) {
        first = buf.subarray(0, len).indexOf(0x0a) + 1;
        if (first === 0 || first === len) {
          // No whole line in this read: the line before pos starts before it.
          if (from === floor) break; // before the limit, too
          buf = Buffer.allocUnsafe(buf.length * 2);
          continue;
        }
      }
      yield buf.subarray(first, len);
      if (from === floor) break;
      pos = from + first;
    }
    return floor > 0 ? 'limit' : 'start';
  } finally {
    closeSync(fd);
  }
}

/**
 * Where eachLineBackwards hands a piece's lines: take() returns true to stop.
 * An object of one class per use (a window, a list), not a closure made per
 * call: the optimised eachLineBackwards goes on calling the one take() it has
 * seen. A closure made per part of a file was a new call target at each part,
 * and V8 threw the optimised code away at a scan thread's second part
 * (`--trace-deopt`: "wrong call target").
 */
interface LineSink {
  take(line: string): boolean;
}

/** Lines into a window until one is older than it. */
class WindowSink implements LineSink {
  constructor(private readonly window: RecentWindow) {}

  take(line: string): boolean {
    return this.window.add(line) === 'older';
  }
}

/** Every line, into a list. */
class LineList implements LineSink {
  readonly lines: string[] = [];

  take(line: string): boolean {
    this.lines.push(line);
    return false;
  }
}

/**
 * Hands each line of a piece to `sink`, last first, until it says stop; says
 * whether it did. An ASCII piece is decoded in one call and its lines are
 * views of it (io/decode.ts). Otherwise the newlines are found natively and each
 * line is decoded alone: V8 decodes an ASCII line on a fast path, and one line
 * with a multi-byte character sends only itself down the slow one (Node 20
 * decodes a whole MiB with one such line several times slower than its lines one
 * by one).
 */
function eachLineBackwards(piece: Buffer, sink: LineSink): boolean {
  const text = asciiText(piece);
  let stop = piece.length;
  if (text !== null) {
    while (stop > 0) {
      const nl = text.lastIndexOf('\n', stop - 1);
      if (nl + 1 < stop && sink.take(text.slice(nl + 1, stop))) return true;
      stop = nl;
    }
    return false;
  }
  while (stop > 0) {
    const nl = piece.lastIndexOf(0x0a, stop - 1);
    if (nl + 1 < stop && sink.take(utf8Line(piece, nl + 1, stop))) return true;
    stop = nl;
  }
  return false;
}

/** Yields the lines of a regular file that end at or before byte `end` (default: its size), last first. */
export function* linesBackwards(path: string, maxScanBytes: number, end?: number): Generator<string, 'start' | 'limit', undefined> {
  const it = piecesBackwards(path, maxScanBytes, end);
  for (;;) {
    const r = it.next();
    if (r.done === true) return r.value;
    const list = new LineList();
    eachLineBackwards(r.value, list);
    yield* list.lines;
  }
}

/** Where the first line that starts at or after byte `pos` starts (`size` when none does). */
function lineStartAtOrAfter(fd: number, pos: number, size: number, buf: Buffer): number {
  if (pos <= 0) return 0;
  // A line starts at pos when the byte before it is a newline.
  for (let at = pos - 1; at < size; ) {
    const len = readSync(fd, buf, 0, Math.min(CHUNK, size - at), at);
    const nl = buf.subarray(0, len).indexOf(0x0a);
    if (nl >= 0) return at + nl + 1;
    at += len;
  }
  return size;
}

/**
 * The first nginx line (one classifyLine reads) that starts at or after byte
 * `from`: where it starts and its time; null when none does before `limit`.
 */
function firstLineAfter(fd: number, from: number, limit: number, memo: TimeMemo, buf: Buffer): { at: number; ms: number } | null {
  let pos = lineStartAtOrAfter(fd, from, limit, buf);
  while (pos < limit) {
    const len = readSync(fd, buf, 0, Math.min(CHUNK, limit - pos), pos);
    const chunk = buf.subarray(0, len);
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const r = classifyLine(chunk.toString('utf8', start, nl), memo);
      if (r.ok) return { at: pos + start, ms: r.event.timeMs };
      start = nl + 1;
    }
    // No complete line left in the chunk: go on from the incomplete one, or past a line longer than a chunk.
    pos = start > 0 ? pos + start : lineStartAtOrAfter(fd, pos + len, limit, buf);
  }
  return null;
}

/**
 * Where to start reading backwards for a window that ends at untilMs: the start
 * of a line stamped more than DISORDER_MS after it, found by bisecting the file
 * (its lines are in time order, give or take DISORDER_MS); the file's size when
 * the window reaches its end.
 */
export function windowEnd(path: string, untilMs: number, zone: TimeZone): number {
  if (untilMs === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  const fd = openRegularFile(path);
  try {
    const size = fstatSync(fd).size;
    const memo = new TimeMemo(zone);
    const buf = Buffer.allocUnsafe(CHUNK);
    const target = untilMs + DISORDER_MS;
    // Every line that starts at or after hi is stamped after target; lo only moves past lines that are not.
    let lo = 0;
    let hi = size;
    while (hi - lo > CHUNK) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const found = firstLineAfter(fd, mid, hi, memo, buf);
      if (found === null) hi = mid; // no line starts in [mid, hi)
      else if (found.ms > target) hi = found.at;
      else lo = found.at + 1;
    }
    // hi may fall inside a line (hi = mid): end at the next line start, so no line is cut.
    return lineStartAtOrAfter(fd, hi, size, buf);
  } finally {
    closeSync(fd);
  }
}

/**
 * Feeds `window` the lines that end at or before byte `end`, last first, within
 * maxScanBytes of it, until one is older than the window. `end` is a line's start
 * (or the file's size), so no line is cut there.
 */
function scanRange(path: string, window: RecentWindow, maxScanBytes: number, end: number, reuse?: Buffer): ScanEnd {
  const it = piecesBackwards(path, maxScanBytes, end, reuse);
  const sink = new WindowSink(window);
  for (;;) {
    const r = it.next();
    if (r.done === true) return r.value;
    if (eachLineBackwards(r.value, sink)) {
      it.return('start');
      return 'window';
    }
  }
}

function scanBackwards(path: string, window: RecentWindow, opts: RecentOptions): ScanEnd {
  window.files.push(path);
  const end = scanRange(path, window, opts.maxScanBytes, windowEnd(path, window.untilMs, opts.zone ?? LOCAL_ZONE));
  if (end === 'limit') window.truncated = true;
  return end;
}

/** One part of a file: the lines wholly after byte `floor` that end at or before `end`. */
interface ScanPart {
  floor: number;
  end: number;
}

/** What a worker is given: the file, its parts and the claim table, and the window (plain data: it crosses threads). */
interface ScanRequest {
  /** Tells this request's answer from a late answer to an earlier one. */
  id: number;
  /** This worker's number in the claim table (the command's thread, reading what is left at the end, is 0). */
  thread: number;
  path: string;
  /** Newest first. */
  parts: ScanPart[];
  /** The claim table (ClaimTable): shared by every thread reading this file. */
  claims: SharedArrayBuffer;
  sinceMs: number;
  untilMs: number;
  zone: TimeZone;
  timeline?: TimelineOptions;
}

/** One part read: its index (newest first), the summary of its lines, and how its scan ended. */
interface PartRead {
  index: number;
  summary: RecentSummary;
  end: ScanEnd;
}

/** What a worker answers. */
type ScanAnswer = { id: number; ok: true; parts: PartRead[] } | { id: number; ok: false; error: string; code?: string; thread?: boolean };

/**
 * The parts of one file and who reads them, in shared memory, so that threads
 * share the work as they come free rather than by a split made in advance: a
 * worker that starts late (loading its code takes 40–70 ms on an idle machine,
 * more on a busy one) reads fewer parts, and the others more. Slot 0 is the
 * lowest index of a part whose scan met a line older than the window (parts
 * after it need no reading: the merge stops there); slot 1 + i is part i's
 * state: 0 not yet claimed, -1 skipped, t + 1 claimed by thread t.
 */
export class ClaimTable {
  private readonly slots: Int32Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly parts: number,
  ) {
    this.slots = new Int32Array(buffer);
  }

  static create(parts: number): ClaimTable {
    const t = new ClaimTable(new SharedArrayBuffer(4 * (parts + 1)), parts);
    Atomics.store(t.slots, 0, parts);
    return t;
  }

  /** The next part for thread `thread` (the lowest index nobody has claimed: the newest part left), or -1 when none is left. */
  claim(thread: number): number {
    for (let i = 0; i < this.parts; i++) {
      if (Atomics.load(this.slots, 1 + i) !== 0) continue;
      const mark = i > Atomics.load(this.slots, 0) ? -1 : thread + 1;
      if (Atomics.compareExchange(this.slots, 1 + i, 0, mark) === 0 && mark > 0) return i;
    }
    return -1;
  }

  /** Part `index` met a line older than the window: no part after it needs reading. */
  windowEndsIn(index: number): void {
    for (let s = Atomics.load(this.slots, 0); index < s; s = Atomics.load(this.slots, 0)) {
      if (Atomics.compareExchange(this.slots, 0, s, index) === s) return;
    }
  }

  /** The workers (thread numbers above 0) that claimed a part. */
  workersThatClaimed(): Set<number> {
    const threads = new Set<number>();
    for (let i = 0; i < this.parts; i++) {
      const mark = Atomics.load(this.slots, 1 + i);
      if (mark > 1) threads.add(mark - 1);
    }
    return threads;
  }
}

/** Reads parts as this thread claims them, each into a window of its own, until none is left. */
function readClaimedParts(path: string, parts: readonly ScanPart[], table: ClaimTable, thread: number, newWindow: () => RecentWindow): PartRead[] {
  const read: PartRead[] = [];
  let buf: Buffer | undefined;
  for (let i = table.claim(thread); i >= 0; i = table.claim(thread)) {
    const part = parts[i]!;
    const window = newWindow();
    window.files.push(path);
    buf ??= Buffer.allocUnsafe(BACKWARDS_CHUNK);
    const end = scanRange(path, window, part.end - part.floor, part.end, buf);
    if (end === 'window') table.windowEndsIn(i);
    read.push({ index: i, summary: window.summary(), end });
  }
  return read;
}

/** How many bytes a part holds (about): small enough that threads end close together, large enough that a part's fixed cost (a window, a summary, a merge) stays small. */
const PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 64;

/**
 * The range [floor, end) cut into `count` parts of near equal byte counts, each
 * cut moved to the next line start, newest first. A part above the lowest
 * starts one byte before its first line (the newline ending the line before), as
 * the backwards reader drops what precedes the first newline it reads. Parts
 * that come out empty (lines longer than a part) are left out.
 */
function partsOf(path: string, floor: number, end: number, count: number): ScanPart[] {
  const fd = openRegularFile(path);
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    const cuts = [floor];
    for (let i = 1; i < count; i++) {
      const at = lineStartAtOrAfter(fd, floor + Math.floor(((end - floor) * i) / count), Math.min(size, end), buf);
      if (at > cuts[cuts.length - 1]! + 1 && at < end) cuts.push(at);
    }
    return cuts.map((from, i) => ({ floor: i === 0 ? from : from - 1, end: cuts[i + 1] ?? end })).reverse();
  } finally {
    closeSync(fd);
  }
}

/**
 * `count` workers running the scan module at `url` (scanWorker.ts): the one the
 * agent's entry started early, if it runs that module, and new ones for the rest.
 */
function startScanWorkers(count: number, url: URL): StartedWorker[] {
  if (count <= 0) {
    discardPrestarted();
    return [];
  }
  const early = takePrestarted(url);
  return Array.from({ length: count }, (_, i) => (i === 0 && early !== null ? early : startScanWorker(url)));
}

/**
 * Worker threads, each running this module, that read parts of a file on request.
 * Started before they are needed (diagnose starts them before its socket sample),
 * so their start-up overlaps other work; unref'd, so they never hold the process;
 * close() ends them.
 */
export class ScanThreads {
  private readonly workers: StartedWorker[];
  private nextId = 1;

  /** `count` workers running this module (or the module at `url`: tests). */
  constructor(count: number, url: URL = new URL(import.meta.url)) {
    this.workers = startScanWorkers(count, url);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Asks worker `i` (thread i + 1 in the claim table) to read the parts it can claim; resolves with its answer. */
  scan(i: number, request: Omit<ScanRequest, 'id' | 'thread'>): Promise<ScanAnswer> {
    const started = this.workers[i]!;
    const w = started.worker;
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = (a: ScanAnswer): void => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        resolve(a);
      };
      const onMessage = (a: ScanAnswer): void => {
        if (a.id === id) done(a);
      };
      const onError = (err: Error): void => {
        done({ id, ok: false, error: err.message, thread: true });
      };
      const onExit = (code: number): void => {
        done({ id, ok: false, error: `the scan thread exited (${code}) without an answer`, thread: true });
      };
      // A worker that failed to start (or died since) answers at once; it claims no part.
      if (started.failure !== null) {
        onError(new Error(started.failure));
        return;
      }
      w.on('message', onMessage);
      w.once('error', onError);
      w.once('exit', onExit);
      w.postMessage({ ...request, id, thread: i + 1 } satisfies ScanRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/**
 * A plain file's window read by several threads (the module's comment), or null
 * when it is too small for that to pay, or a thread failed while reading.
 */
async function scanParallel(path: string, win: LogWindow, opts: RecentOptions, threads: ScanThreads): Promise<{ summary: RecentSummary; end: ScanEnd } | null> {
  const zone = opts.zone ?? LOCAL_ZONE;
  const fd = openRegularFile(path);
  let size: number;
  try {
    size = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  const end = Math.min(windowEnd(path, win.untilMs, zone), size);
  const floor = Math.max(0, end - opts.maxScanBytes);
  if (end - floor < PARALLEL_MIN_BYTES) return null;
  const count = Math.max(threads.size + 1, Math.min(MAX_PARTS, Math.ceil((end - floor) / PART_BYTES)));
  const parts = partsOf(path, floor, end, count);
  if (parts.length < 2) return null;
  const table = ClaimTable.create(parts.length);
  const timeline = opts.timeline;
  const answers = await Promise.all(
    Array.from({ length: threads.size }, (_, i) =>
      threads.scan(i, { path, parts, claims: table.buffer, sinceMs: win.sinceMs, untilMs: win.untilMs, zone, ...(timeline !== undefined ? { timeline } : {}) }),
    ),
  );
  const read: PartRead[] = [];
  // Worker i is thread i + 1 in the claim table. Only the answers of workers that
  // claimed a part matter: one that could not start claimed none.
  for (const t of table.workersThatClaimed()) {
    const a = answers[t - 1]!;
    if (!a.ok) {
      // A thread that failed while reading: the file is read again in this one (null), never lost.
      if (a.thread === true) return null;
      throw Object.assign(new Error(a.error), a.code !== undefined ? { code: a.code } : {});
    }
    read.push(...a.parts);
  }
  // What no worker claimed (none could start) this thread reads now; normally nothing is left.
  read.push(...readClaimedParts(path, parts, table, 0, () => new RecentWindow(win.sinceMs, win.untilMs, zone, timeline)));
  read.sort((a, b) => a.index - b.index);
  return mergeScanParts(win, read);
}

// In a scan thread: read the parts this thread can claim and answer (ScanThreads.scan).
if (!isMainThread && (workerData as { role?: unknown } | null)?.role === SCAN_ROLE) {
  parentPort?.on('message', (request: ScanRequest) => {
    let answer: ScanAnswer;
    try {
      const table = new ClaimTable(request.claims, request.parts.length);
      const parts = readClaimedParts(request.path, request.parts, table, request.thread, () => new RecentWindow(request.sinceMs, request.untilMs, request.zone, request.timeline));
      answer = { id: request.id, ok: true, parts };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      answer = { id: request.id, ok: false, error: (err as Error).message, ...(code !== undefined ? { code } : {}) };
    }
    parentPort?.postMessage(answer);
  });
}

/** Streams a .gz file forwards, counting its lines in the window as they pass; stops after the window. */
async function scanGzip(path: string, window: RecentWindow): Promise<void> {
  const fd = openRegularFile(path);
  window.files.push(path);
  const input = createReadStream('', { fd, autoClose: true });
  const gunzip = createGunzip();
  const rl = createInterface({ input: input.pipe(gunzip), crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (window.add(line) === 'newer') break;
    }
  } finally {
    rl.close();
    gunzip.destroy();
    input.destroy();
  }
}

/** Summarises the events of the window in `path` and, if needed, its rotated predecessor. */
export async function readRecent(path: string, win: LogWindow, opts: RecentOptions): Promise<RecentSummary> {
  const window = new RecentWindow(win.sinceMs, win.untilMs, opts.zone ?? LOCAL_ZONE, opts.timeline);
  if (path.endsWith('.gz')) {
    await scanGzip(path, window);
    return window.summary();
  }
  const parallel = opts.threads !== undefined && opts.threads.size > 0 ? await scanParallel(path, win, opts, opts.threads) : null;
  const end = parallel?.end ?? scanBackwards(path, window, opts);
  if (end === 'start') {
    // The window reaches past the file's start: on into its rotated predecessor (into `window`, unused by a parallel scan).
    if (existsSync(`${path}.1`)) scanBackwards(`${path}.1`, window, opts);
    else if (existsSync(`${path}.1.gz`)) await scanGzip(`${path}.1.gz`, window);
  }
  if (parallel === null) return window.summary();
  return window.files.length === 0 ? parallel.summary : mergeScanParts(win, [parallel, { summary: window.summary(), end: 'start' }]).summary;
}
