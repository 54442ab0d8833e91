/**
 * The daemon's backlog (a log read from its start, `errorLogBackfill`) read in
 * parts by worker threads, for the tailer (tail/tailer.ts, BacklogReader).
 *
 * A backlog of a busy nginx is gigabytes, and one thread classifies under a
 * million lines a second (`npm run bench:errorlog`). The range is cut at line
 * starts into parts of about PART_BYTES; worker threads running this module
 * claim parts in turn (a shared counter) and read them from the tailer's own
 * descriptor (threads share the process's descriptors, so it is the file the
 * tailer holds, whatever its name is now). The event loop stays free: this
 * thread only merges each part's result, in file order, as it comes.
 *
 * What a part returns is what its lines would have done, line by line, to the
 * counts and the findings window (ErrorLogPipeline.take), in a form that is cheap
 * to carry and to merge:
 * - the lines older than the window when the read began (nearly all of a
 *   backlog) as counts by destination and kind, with the destinations in the
 *   order the part's lines first named them, so that the counts admit them in
 *   the same order (their label limit: model/counts.ts); the window takes none
 *   of them (model/rolling.ts, addOlder);
 * - every other line (in the window, stamped in the future, nginx's start-up
 *   line, or not in nginx's format) in order, to be taken one by one.
 * A part with more distinct destinations or lines to take one by one than a
 * part should hold, or one that a shrinking file cut short, ends the merge there:
 * the tailer reads on from that part's start line by line, so nothing is lost
 * or counted twice.
 */
import { readSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { TimeZone } from '../core/timeZone.js';
import { asciiText } from '../io/decode.js';
import { classifyInto, ERROR_KINDS, KIND_INDEX, newLineFields, TimeMemo } from './parse/classify.js';
import { startupVersion } from './parse/startupVersion.js';
import { LineSplitter } from './tail/lineSplitter.js';
import type { BacklogRead, BacklogReader } from './tail/tailer.js';

/** About this many bytes a part: a part's fixed cost (a message, a merge) stays small, and the threads end close together. */
const PART_BYTES = 8 * 1024 * 1024;
/** Distinct destinations a part may name (a hostile log can name a new one per line); more ends the merge there. */
const MAX_PART_DESTINATIONS = 4096;
/** Lines a part may hand back to be taken one by one (the window's, start-up lines, lines not in nginx's format, as runs). */
const MAX_PART_REPLAY = 65_536;
const READ_BYTES = 256 * 1024;
const ROLE = 'nginx-port-agent errorlog backlog';

/** One part of the range: whole lines, [from, to). */
interface Part {
  from: number;
  to: number;
}

/** A part's lines as they affect the counts and the window (the module's comment). */
export interface PartResult {
  /** Lines handed on: every complete line but the too long ones. */
  lines: number;
  tooLong: number;
  /** The destinations the part's lines name (null: none), in the order they first came. */
  destinations: (string | null)[];
  /** Lines older than the window, by destination (destinations' order) then kind (ERROR_KINDS' order). */
  counts: number[];
  /** Per kind, the latest time among those lines (-Infinity: none). */
  lastMs: number[];
  /** The other lines, in order: a string is a line to take; a number n, n lines not in nginx's format. */
  replay: (string | number)[];
}

interface Request {
  fd: number;
  parts: Part[];
  /** Int32Array[1]: the next part to claim. */
  next: SharedArrayBuffer;
  zone: TimeZone;
  cutoffMs: number;
  maxLineBytes: number;
}

type Answer = { type: 'part'; index: number; result: PartResult } | { type: 'failed'; index: number; error: string } | { type: 'done' };

class PartTooLarge extends Error {}

/** Reads one part: the lines of [part.from, part.to) of fd. */
export function readPart(fd: number, part: Part, zone: TimeZone, cutoffMs: number, maxLineBytes: number): PartResult {
  const kinds = ERROR_KINDS.length;
  const result: PartResult = { lines: 0, tooLong: 0, destinations: [], counts: [], lastMs: ERROR_KINDS.map(() => Number.NEGATIVE_INFINITY), replay: [] };
  const index = new Map<string | null, number>();
  const fields = newLineFields();
  const memo = new TimeMemo(zone);
  const { counts, lastMs, replay } = result;
  const emit = (line: string): void => {
    result.lines++;
    if (!classifyInto(line, fields, memo)) {
      const run = replay.length > 0 ? replay[replay.length - 1] : undefined;
      if (typeof run === 'number') replay[replay.length - 1] = run + 1;
      else replay.push(1);
      if (replay.length > MAX_PART_REPLAY) throw new PartTooLarge('too many lines to take one by one');
      return;
    }
    let d = index.get(fields.destination);
    if (d === undefined) {
      if (index.size >= MAX_PART_DESTINATIONS) throw new PartTooLarge('too many destinations');
      d = index.size;
      index.set(fields.destination, d);
      result.destinations.push(fields.destination);
      for (let k = 0; k < kinds; k++) counts.push(0);
    }
    if (fields.timeMs >= cutoffMs || startupVersion(fields) !== null) {
      replay.push(line);
      if (replay.length > MAX_PART_REPLAY) throw new PartTooLarge('too many lines to take one by one');
      return;
    }
    const k = KIND_INDEX.get(fields.kind)!;
    counts[d * kinds + k]!++;
    if (fields.timeMs > lastMs[k]!) lastMs[k] = fields.timeMs;
  };
  const splitter = new LineSplitter(maxLineBytes);
  const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, part.to - part.from)));
  let pos = part.from;
  while (pos < part.to) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, part.to - pos), pos);
    if (n === 0) break;
    pos += n;
    const chunk = buf.subarray(0, n);
    splitter.push(chunk, emit, asciiText(chunk));
  }
  // A part ends at a line's end: anything else is a file that changed under the read.
  if (pos < part.to || splitter.pendingBytes > 0 || splitter.skipping) throw new PartTooLarge('the file changed while it was read');
  result.tooLong = splitter.discardedTooLong;
  return result;
}

/**
 * [from, to) cut into parts of about partBytes at line starts, the last ending
 * at the last newline before `to`, the first at minEnd or later; empty when the
 * range holds no whole line ending at minEnd or later.
 */
export function cutParts(fd: number, from: number, to: number, maxLineBytes: number, minEnd = from, partBytes = PART_BYTES): Part[] {
  const look = Math.min(to - from, maxLineBytes + 1);
  const buf = Buffer.allocUnsafe(Math.max(1, look));
  // The end: after the last newline (a line still being written is left to the tailer).
  const got = readSync(fd, buf, 0, look, to - look);
  const nl = buf.subarray(0, got).lastIndexOf(0x0a);
  if (nl < 0) return [];
  const end = to - look + nl + 1;
  if (end < minEnd) return [];
  const cuts = [from];
  for (let at = Math.max(from + partBytes, minEnd); at < end; at += partBytes) {
    const n = readSync(fd, buf, 0, Math.min(look, end - at), at - 1);
    const i = buf.subarray(0, n).indexOf(0x0a);
    // The first line start at or after `at` (the byte before it a newline); none near: no cut here.
    const cut = i < 0 ? -1 : at - 1 + i + 1;
    if (cut > cuts[cuts.length - 1]! && cut < end) cuts.push(cut);
  }
  return cuts.map((f, i) => ({ from: f, to: cuts[i + 1] ?? end }));
}

export interface BacklogOptions {
  /** Worker threads that read parts (at least 1). */
  threads: number;
  minBytes: number;
  maxLineBytes: number;
  zone: TimeZone;
  /** The findings window's length, and the clock it runs on: older lines come back as counts. */
  windowMs: number;
  now: () => number;
  /** Takes one part's result into the counts and the window, in file order. */
  apply: (result: PartResult) => void;
  /** apply() threw (a bug): the part counts as taken, so none of its lines is counted twice, and the read goes on. */
  onApplyError: (err: unknown) => void;
}

/** The tailer's BacklogReader: worker threads for each read, ended when it is done. */
export class ThreadedBacklogReader implements BacklogReader {
  readonly minBytes: number;

  constructor(private readonly options: BacklogOptions) {
    this.minBytes = options.minBytes;
  }

  read(_path: string, fd: number, from: number, to: number, minEnd: number, stopped: () => boolean): Promise<BacklogRead | null> {
    const { options } = this;
    const parts = cutParts(fd, from, to, options.maxLineBytes, minEnd);
    if (parts.length === 0) return Promise.resolve(null);
    const next = new SharedArrayBuffer(4);
    const request: Request = { fd, parts, next, zone: options.zone, cutoffMs: options.now() - options.windowMs, maxLineBytes: options.maxLineBytes };
    const workers = Array.from({ length: Math.min(options.threads, parts.length) }, () => new Worker(new URL(import.meta.url), { workerData: { role: ROLE } }));
    return new Promise((resolve) => {
      /** Each part's result as it comes; 'failed' for a part a worker could not read. */
      const results = new Map<number, PartResult | 'failed'>();
      let merged = 0;
      let lines = 0;
      let tooLong = 0;
      let running = workers.length;
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        // No part after the merged ones is claimed; a worker still reading one is ended.
        Atomics.store(new Int32Array(next), 0, parts.length);
        for (const w of workers) void w.terminate();
        resolve(merged === 0 ? null : { end: parts[merged - 1]!.to, lines, tooLong });
      };
      const advance = (): void => {
        for (let r = results.get(merged); !ended && r !== undefined; r = results.get(merged)) {
          if (r === 'failed' || stopped()) {
            end();
            return;
          }
          try {
            options.apply(r);
          } catch (err) {
            options.onApplyError(err);
          }
          lines += r.lines;
          tooLong += r.tooLong;
          results.delete(merged);
          merged++;
        }
        // Every part merged, or no worker left to read the next one.
        if (merged === parts.length || running === 0) end();
      };
      for (const w of workers) {
        let done = false;
        const gone = (): void => {
          if (done) return;
          done = true;
          running--;
          advance();
        };
        w.on('message', (a: Answer) => {
          if (a.type === 'part') results.set(a.index, a.result);
          else if (a.type === 'failed') results.set(a.index, 'failed');
          if (a.type === 'done') gone();
          else advance();
        });
        // A worker that cannot start or dies leaves its part unmerged: the merge ends before it.
        w.on('error', gone);
        w.on('exit', gone);
        w.postMessage(request);
      }
    });
  }
}

// In a worker: claim parts until none is left, answering each.
if (!isMainThread && (workerData as { role?: unknown } | null)?.role === ROLE) {
  parentPort?.once('message', (request: Request) => {
    const next = new Int32Array(request.next);
    for (let i = Atomics.add(next, 0, 1); i < request.parts.length; i = Atomics.add(next, 0, 1)) {
      let answer: Answer;
      try {
        answer = { type: 'part', index: i, result: readPart(request.fd, request.parts[i]!, request.zone, request.cutoffMs, request.maxLineBytes) };
      } catch (err) {
        answer = { type: 'failed', index: i, error: err instanceof Error ? err.message : String(err) };
      }
      parentPort?.postMessage(answer);
      if (answer.type === 'failed') break;
    }
    parentPort?.postMessage({ type: 'done' } satisfies Answer);
  });
}
