/**
 * The error log's side of the evidence the hint engine weighs: what nginx wrote
 * in a window, by kind and destination. Pure: types, the rows counts are kept in, and their conversion. Filled by `agent diagnose`
 * (model/recent.ts, over --since or --from/--until) and the daemon's rolling
 * window (model/rolling.ts).
 */
import { ERROR_KINDS, type ErrorKind } from '../parse/classify.js';

/** Counts by kind, for one key (a destination, an upstream group, a proxy_bind address). */
export type KindCounts = Partial<Record<ErrorKind, number>>;

/**
 * A row of counts by kind index, all zero: how diagnose's window keeps them on
 * the per-line path. A typed array has one map whoever makes it. Rows made by
 * `ERROR_KINDS.map(() => 0)` did not: the ones a scan thread made before V8
 * optimised RecentWindow.add and the ones the optimised code made (with the
 * map() inlined) came out with different elements kinds, and each thread threw
 * its optimised add() away twice at the first row of the other kind
 * (`--trace-deopt`: "wrong map" at the row's increment) and compiled it again,
 * 7–11 ms of compiling a time (bench/README.md). A double holds any count
 * exactly up to 2^53.
 */
export function kindRow(): Float64Array {
  return new Float64Array(ERROR_KINDS.length);
}

/** A row of counts by kind index (how the counters keep them on the per-line path) as KindCounts: the kinds counted, by name. */
export function kindCountsOf(row: ArrayLike<number>): KindCounts {
  const out: KindCounts = {};
  for (let k = 0; k < row.length; k++) {
    const n = row[k]!;
    if (n > 0) out[ERROR_KINDS[k]!] = n;
  }
  return out;
}

/** What the error log said in a window (diagnose's, or the daemon's rolling window). */
export interface ErrorLogEvidence {
  /** The window: lines stamped from sinceMs up to untilMs (Unix ms). */
  sinceMs: number;
  untilMs: number;
  /** True when the window ended before the sockets were sampled (diagnose --until): its findings are about then, the sockets about now. */
  past: boolean;
  /** Events per destination by kind (the daemon's rolling window keeps only eaddrnotavail per destination). */
  byDestination: Readonly<Record<string, KindCounts>>;
  /** "no live upstreams" per upstream group its lines name. */
  byUpstreamGroup: Readonly<Record<string, number>>;
  /** bind() failures (proxy_bind_unavailable, eaddrinuse) per proxy_bind address its lines name. */
  byBindAddress: Readonly<Record<string, KindCounts>>;
  byKind: readonly { kind: ErrorKind; count: number; firstMs: number; lastMs: number; sample: string }[];
}

/** At most this many distinct names per map in a window: a log that names more (a proxy_bind variable with many values) still counts every line by kind. */
export const MAX_NAMES = 1000;
