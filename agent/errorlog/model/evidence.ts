/**
 * The error log's side of the evidence the hint engine weighs: what nginx wrote
 * in a recent window, by kind and destination. Pure types; filled by
 * `agent diagnose --since` (model/recent.ts) and the daemon's rolling window
 * (model/rolling.ts).
 */
import type { ErrorKind } from '../parse/classify.js';

/** What the error log said in a recent window (diagnose --since, or the daemon's rolling window). */
export interface ErrorLogEvidence {
  sinceMs: number;
  /** Events per destination by kind (the daemon's rolling window keeps only eaddrnotavail per destination). */
  byDestination: Readonly<Record<string, Partial<Record<ErrorKind, number>>>>;
  byKind: readonly { kind: ErrorKind; count: number; firstMs: number; lastMs: number; sample: string }[];
}

