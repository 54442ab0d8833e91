/**
 * The daemon's recent error-log window, for the hint engine: events of the last
 * few minutes by kind and destination. Pure: events and times in, a summary out.
 *
 * Events land in fixed time buckets keyed by the time nginx wrote them, so the
 * window slides without keeping every line. Destinations per bucket are bounded;
 * the surplus is counted without a destination.
 */
import { ERROR_KINDS, escapeUntrusted, type ErrorKind, type ErrorLogEvent } from '../parse/classify.js';
import type { ErrorLogEvidence } from '../../hints/types.js';

/** Width of one bucket. */
const BUCKET_MS = 10_000;

interface KindEntry {
  count: number;
  firstMs: number;
  lastMs: number;
  sample: string;
}

interface Bucket {
  startMs: number;
  kinds: Map<ErrorKind, KindEntry>;
  byDestination: Map<string, Partial<Record<ErrorKind, number>>>;
}

export class RollingErrorWindow {
  private buckets: Bucket[] = [];

  constructor(
    readonly windowMs: number,
    private readonly maxDestinations: number,
  ) {}

  add(event: ErrorLogEvent, line: string, nowMs: number): void {
    if (event.kind === 'other') return;
    if (event.timeMs < nowMs - this.windowMs) return;
    // nginx stamps lines from the clock the agent reads, so a line from the future
    // comes from a clock stepped back, a time-zone mismatch or a file that is not
    // nginx's. It is counted as happening now: a bucket per future stamp would be
    // kept until that time came (a flood of such lines took hundreds of MB and
    // seconds of the event loop), and the window must stay windowMs long.
    const atMs = Math.min(event.timeMs, nowMs);
    const startMs = Math.floor(atMs / BUCKET_MS) * BUCKET_MS;
    let b = this.buckets.find((x) => x.startMs === startMs);
    if (b === undefined) {
      b = { startMs, kinds: new Map(), byDestination: new Map() };
      this.buckets.push(b);
      this.buckets.sort((x, y) => x.startMs - y.startMs);
      this.prune(nowMs);
    }
    const k = b.kinds.get(event.kind);
    if (k === undefined) b.kinds.set(event.kind, { count: 1, firstMs: atMs, lastMs: atMs, sample: escapeUntrusted(line, 600) });
    else {
      k.count++;
      if (atMs < k.firstMs) k.firstMs = atMs;
      if (atMs > k.lastMs) k.lastMs = atMs;
    }
    if (event.destination !== null) {
      let d = b.byDestination.get(event.destination);
      if (d === undefined && b.byDestination.size < this.maxDestinations) {
        d = {};
        b.byDestination.set(event.destination, d);
      }
      if (d !== undefined) d[event.kind] = (d[event.kind] ?? 0) + 1;
    }
  }

  private prune(nowMs: number): void {
    const oldest = nowMs - this.windowMs - BUCKET_MS;
    this.buckets = this.buckets.filter((b) => b.startMs >= oldest);
  }

  /** Events written in the last windowMs (to bucket precision). */
  evidence(nowMs: number): ErrorLogEvidence {
    this.prune(nowMs);
    const sinceMs = nowMs - this.windowMs;
    const kinds = new Map<ErrorKind, KindEntry>();
    const byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
    for (const b of this.buckets) {
      if (b.startMs + BUCKET_MS <= sinceMs) continue;
      for (const [kind, e] of b.kinds) {
        const k = kinds.get(kind);
        if (k === undefined) kinds.set(kind, { ...e });
        else {
          k.count += e.count;
          k.firstMs = Math.min(k.firstMs, e.firstMs);
          if (e.lastMs >= k.lastMs) {
            k.lastMs = e.lastMs;
            k.sample = e.sample;
          }
        }
      }
      for (const [dest, counts] of b.byDestination) {
        const d = (byDestination[dest] ??= {});
        for (const [kind, n] of Object.entries(counts) as [ErrorKind, number][]) d[kind] = (d[kind] ?? 0) + n;
      }
    }
    return {
      sinceMs,
      byDestination,
      byKind: ERROR_KINDS.flatMap((kind) => {
        const k = kinds.get(kind);
        return k === undefined ? [] : [{ kind, ...k }];
      }),
    };
  }
}
