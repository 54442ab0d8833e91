/**
 * diagnose's scan threads (read/recent.ts, ScanThreads): the command's thread
 * does not read while the workers do, so what no worker claims it must read at
 * the end. A scan whose workers never start is still read whole, with the
 * counts of a one-thread scan; and which files are read in parts at all.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateErrorLog } from '../../../bench/errorlog/generate.js';
import { PARALLEL_MIN_BYTES, readInParts, readRecent, ScanThreads } from '../../../agent/errorlog/read/recent.js';

const dir = mkdtempSync(join(tmpdir(), 'npa-scanthreads-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A file of `bytes` (sparse: nothing written to disk). */
function sized(name: string, bytes: number): string {
  const p = join(dir, name);
  const fd = openSync(p, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  return p;
}

describe('readInParts', () => {
  it('a plain file of PARALLEL_MIN_BYTES or more, and nothing else', () => {
    expect(readInParts(sized('big.log', PARALLEL_MIN_BYTES))).toBe(true);
    expect(readInParts(sized('small.log', PARALLEL_MIN_BYTES - 1))).toBe(false);
    expect(readInParts(sized('big.log.gz', PARALLEL_MIN_BYTES))).toBe(false); // one stream
    expect(readInParts(join(dir, 'missing.log'))).toBe(false); // its read says why
  });
});

describe('ScanThreads: workers that never start', () => {
  // A module that fails as it loads, in place of the scan's.
  const BROKEN = new URL('data:text/javascript,throw new Error("this scan thread cannot start")');

  it('leave every part to the command’s thread, which counts what one thread counts', { timeout: 60_000 }, async () => {
    const log = join(dir, 'error.log');
    // About 110 000 lines: over the size from which a file is read in parts.
    generateErrorLog(log, { lines: 110_000, seed: 3 });
    expect(readInParts(log)).toBe(true);
    const window = { sinceMs: 0, untilMs: Number.POSITIVE_INFINITY };
    const one = await readRecent(log, window, { maxScanBytes: Number.POSITIVE_INFINITY });
    expect(one.lines).toBeGreaterThan(100_000);

    for (const wait of [0, 500]) {
      // Asked at once, the workers are still starting (they answer when they fail);
      // asked later, they have failed already and answer at once. Neither claims a part.
      const threads = new ScanThreads(2, BROKEN);
      try {
        await new Promise((r) => setTimeout(r, wait));
        expect(await readRecent(log, window, { maxScanBytes: Number.POSITIVE_INFINITY, threads })).toEqual(one);
      } finally {
        await threads.close();
      }
    }
  });
});
