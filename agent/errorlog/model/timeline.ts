/**
 * Error-log events by kind over time, in fixed buckets: what a chart of a past
 * window needs, bounded by the window's length rather than by the number of
 * lines. Pure: kinds and times in, sparse buckets out.
 */
import { KIND_INDEX, type ErrorKind } from '../parse/classify.js';
import { kindCountsOf, kindRow } from './evidence.js';

export interface TimelineBucket {
  /** Unix ms of the bucket's start (a multiple of bucketMs). */
  startMs: number;
  byKind: Partial<Record<ErrorKind, number>>;
}

export interface KindTimeline {
  bucketMs: number;
  /** Buckets with at least one event, oldest first. */
  buckets: TimelineBucket[];
}

/** Bucket widths a timeline may use, so the axis reads in round steps. */
const WIDTHS_MS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400].map((s) => s * 1000);

/** The narrowest round bucket that keeps a window of `windowMs` to at most `maxBuckets` buckets. */
export function timelineBucketMs(windowMs: number, maxBuckets = 60): number {
  const want = windowMs / maxBuckets;
  return WIDTHS_MS.find((w) => w >= want) ?? Math.ceil(want / 86_400_000) * 86_400_000;
}

/** Counts events into buckets of `bucketMs`; an event after `untilMs` counts at `untilMs` (a clock stepped back). */
export class TimelineCounter {
  /** Per bucket, counts by kind index (a record keyed by kind cost a keyed store with a different key line after line). */
  private readonly buckets = new Map<number, Float64Array>();
  /** The bucket the last event went to, and the times it covers: consecutive lines nearly always share one. */
  private last: Float64Array | null = null;
  private lastFrom = 0;
  private lastTo = 0;

  constructor(
    readonly bucketMs: number,
    readonly untilMs: number,
  ) {}

  add(kind: ErrorKind, timeMs: number, n = 1): void {
    this.addAt(KIND_INDEX.get(kind)!, timeMs, n);
  }

  /** add(), for a kind given by its index in ERROR_KINDS. */
  addAt(kindIndex: number, timeMs: number, n = 1): void {
    let b = this.last;
    if (b === null || !(timeMs >= this.lastFrom && timeMs < this.lastTo && timeMs <= this.untilMs)) {
      const start = Math.floor(Math.min(timeMs, this.untilMs) / this.bucketMs) * this.bucketMs;
      let found = this.buckets.get(start);
      if (found === undefined) this.buckets.set(start, (found = kindRow()));
      b = this.last = found;
      this.lastFrom = start;
      this.lastTo = start + this.bucketMs;
    }
    b[kindIndex]! += n;
  }

  timeline(): KindTimeline {
    return {
      bucketMs: this.bucketMs,
      buckets: [...this.buckets.entries()]
        .sort(([a], [b]) => a - b)
        .map(([startMs, row]) => ({ startMs, byKind: kindCountsOf(row) })),
    };
  }
}

/** One timeline from several with the same bucket width (several error logs). */
export function mergeTimelines(parts: readonly KindTimeline[]): KindTimeline | undefined {
  const first = parts[0];
  if (first === undefined) return undefined;
  const counter = new TimelineCounter(first.bucketMs, Number.POSITIVE_INFINITY);
  for (const p of parts) {
    if (p.bucketMs !== first.bucketMs) throw new RangeError(`cannot merge timelines of ${p.bucketMs} and ${first.bucketMs} ms buckets`);
    for (const b of p.buckets) for (const [kind, n] of Object.entries(b.byKind) as [ErrorKind, number][]) counter.add(kind, b.startMs, n);
  }
  return counter.timeline();
}
