/** Error-log events by kind over time, in round buckets, for the HTML report's chart. */
import { describe, expect, it } from 'vitest';
import { mergeTimelines, TimelineCounter, timelineBucketMs } from '../../../agent/errorlog/model/timeline.js';

describe('timelineBucketMs', () => {
  it.each([
    [5 * 60_000, 10_000],
    [15 * 60_000, 15_000],
    [60 * 60_000, 60_000],
    [24 * 3_600_000, 1_800_000],
    [7 * 86_400_000, 21_600_000],
    [400 * 86_400_000, 7 * 86_400_000],
  ])('a window of %d ms gets buckets of %d ms', (windowMs, bucketMs) => {
    expect(timelineBucketMs(windowMs)).toBe(bucketMs);
  });
});

describe('TimelineCounter', () => {
  it('counts by kind in aligned buckets, oldest first; a line from the future counts at the end', () => {
    const t = new TimelineCounter(60_000, 600_000);
    t.add('eaddrnotavail', 125_000);
    t.add('econnrefused', 61_000);
    t.add('eaddrnotavail', 179_999);
    t.add('eaddrnotavail', 9_000_000);
    expect(t.timeline()).toEqual({
      bucketMs: 60_000,
      buckets: [
        { startMs: 60_000, byKind: { econnrefused: 1 } },
        { startMs: 120_000, byKind: { eaddrnotavail: 2 } },
        { startMs: 600_000, byKind: { eaddrnotavail: 1 } },
      ],
    });
  });

  it('merges the timelines of several logs', () => {
    const a = new TimelineCounter(60_000, 1e9);
    const b = new TimelineCounter(60_000, 1e9);
    a.add('emfile', 0);
    b.add('emfile', 30_000);
    b.add('enfile', 60_000);
    expect(mergeTimelines([a.timeline(), b.timeline()])).toEqual({
      bucketMs: 60_000,
      buckets: [
        { startMs: 0, byKind: { emfile: 2 } },
        { startMs: 60_000, byKind: { enfile: 1 } },
      ],
    });
    expect(mergeTimelines([])).toBeUndefined();
    expect(() => mergeTimelines([a.timeline(), new TimelineCounter(1000, 0).timeline()])).toThrow(RangeError);
  });
});
