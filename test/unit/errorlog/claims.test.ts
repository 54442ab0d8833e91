/**
 * The claim table threads share to read one file's parts (read/recent.ts): each
 * part goes to exactly one thread, newest first; once a part's scan meets a line
 * older than the window, the parts after it are skipped, never read; and the
 * command's thread knows which workers to wait for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClaimTable } from '../../../agent/errorlog/read/recent.js';

describe('ClaimTable', () => {
  it('hands out every part once, newest first, to whichever thread asks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 200 }), (parts, askers) => {
        const t = ClaimTable.create(parts);
        const got: number[] = [];
        const by = new Map<number, number>();
        for (const thread of askers) {
          const i = t.claim(thread);
          if (i < 0) continue;
          got.push(i);
          by.set(i, thread);
        }
        // Once none is left, every thread hears so.
        for (let thread = 0; thread < 4; thread++) while (t.claim(thread) >= 0);
        expect(got).toEqual(Array.from({ length: Math.min(parts, got.length) }, (_, i) => i));
        expect([...t.workersThatClaimed()].sort()).toEqual([...new Set([...by.values()].filter((x) => x > 0))].sort());
      }),
    );
  });

  it('skips the parts after the one where the window ends, and only those', () => {
    const t = ClaimTable.create(10);
    expect([t.claim(0), t.claim(1), t.claim(0)]).toEqual([0, 1, 2]);
    t.windowEndsIn(3); // part 3 is being read by someone; it met an old line
    t.windowEndsIn(5); // a later, higher part cannot move the stop back up
    expect(t.claim(1)).toBe(3); // part 3 was not claimed yet here: it is still read (the merge stops after it)
    expect(t.claim(0)).toBe(-1);
    expect(t.claim(1)).toBe(-1);
    expect([...t.workersThatClaimed()]).toEqual([1]);
  });

  it('works across threads: the table is shared memory', () => {
    const t = ClaimTable.create(4);
    const other = new ClaimTable(t.buffer, 4); // what a worker builds from the request
    expect([t.claim(0), other.claim(2), t.claim(0), other.claim(2), t.claim(0)]).toEqual([0, 1, 2, 3, -1]);
    expect([...t.workersThatClaimed()]).toEqual([2]);
  });
});
