/**
 * Reads the recent end of an error log for `agent diagnose`, without reading a
 * large file whole: lines are read backwards from the end in chunks and the scan
 * stops at the first line older than the window. If the window reaches past the
 * start of the file, the rotated predecessor is read too: `<file>.1`, or
 * `<file>.1.gz` (streamed through node:zlib; a gzip file cannot be read
 * backwards, so it is decompressed whole, keeping only lines inside the window).
 */
import { closeSync, createReadStream, existsSync, fstatSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { openRegularFile } from '../../io/files.js';
import { RecentWindow, type RecentSummary, type TimelineOptions } from '../model/recent.js';

const CHUNK = 64 * 1024;

export interface RecentOptions {
  /** Stop after scanning this many bytes per file (the summary says it was truncated). */
  maxScanBytes: number;
  /** Bucket the window's events by kind over time (the HTML report's chart). */
  timeline?: TimelineOptions;
}

/** Yields the lines of a regular file, last first. */
export function* linesBackwards(path: string, maxScanBytes: number): Generator<string, 'start' | 'limit', undefined> {
  const fd = openRegularFile(path);
  try {
    let pos = fstatSync(fd).size;
    let carry: Buffer = Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(CHUNK);
    let scanned = 0;
    while (pos > 0) {
      if (scanned >= maxScanBytes) return 'limit';
      const len = Math.min(CHUNK, pos);
      pos -= len;
      readSync(fd, buf, 0, len, pos);
      scanned += len;
      let data = Buffer.concat([buf.subarray(0, len), carry]);
      let end = data.length;
      // The bytes before the first newline may be the end of an earlier line: carry them.
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] === 0x0a) {
          if (i + 1 < end) yield data.toString('utf8', i + 1, end);
          end = i;
        }
      }
      carry = Buffer.from(data.subarray(0, end));
      data = Buffer.alloc(0);
    }
    if (carry.length > 0) yield carry.toString('utf8');
    return 'start';
  } finally {
    closeSync(fd);
  }
}

function scanBackwards(path: string, window: RecentWindow, opts: RecentOptions): 'start' | 'window' | 'limit' {
  window.files.push(path);
  const it = linesBackwards(path, opts.maxScanBytes);
  for (;;) {
    const r = it.next();
    if (r.done === true) {
      if (r.value === 'limit') window.truncated = true;
      return r.value;
    }
    if (!window.add(r.value)) {
      it.return('start');
      return 'window';
    }
  }
}

async function scanGzip(path: string, window: RecentWindow): Promise<void> {
  closeSync(openRegularFile(path));
  window.files.push(path);
  // Forwards through the whole file; lines before the window are skipped by
  // RecentWindow only when read newest-first, so collect the window's lines here.
  const rl = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
  const probe = new RecentWindow(window.sinceMs);
  const keep: string[] = [];
  for await (const line of rl) {
    if (probe.add(line)) keep.push(line);
  }
  for (let i = keep.length - 1; i >= 0; i--) window.add(keep[i]!);
}

/** Summarises the events since `sinceMs` in `path` and, if needed, its rotated predecessor. */
export async function readRecent(path: string, sinceMs: number, opts: RecentOptions): Promise<RecentSummary> {
  const window = new RecentWindow(sinceMs, opts.timeline);
  const end = scanBackwards(path, window, opts);
  if (end === 'start') {
    if (existsSync(`${path}.1`)) scanBackwards(`${path}.1`, window, opts);
    else if (existsSync(`${path}.1.gz`)) await scanGzip(`${path}.1.gz`, window);
  }
  return window.summary();
}
