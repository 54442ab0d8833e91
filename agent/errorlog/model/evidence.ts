/**
 * The error log's side of the evidence the hint engine weighs: what nginx wrote
 * in a window, by kind and destination. Pure: types, and one conversion. Filled by `agent diagnose`
 * (model/recent.ts, over --since or --from/--until) and the daemon's rolling
 * window (model/rolling.ts).
 */
import { ERROR_KINDS, type ErrorKind } from '../parse/classify.js';

/** Counts by kind, for one key (a destination, an upstream group, a proxy_bind address). */
export type KindCounts = Partial<Record<ErrorKind, number>>;

/** A row of counts by kind index (how the counters keep them on the per-line path) as KindCounts: the kinds counted, by name. */
export function kindCountsOf(row: readonly number[]): KindCounts {
  const out: KindCounts = {};
  row.forEach((n, k) => {
    if (n > 0) out[ERROR_KINDS[k]!] = n;
  });
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
