/** Small helpers shared by the socket benchmark's processes. */

export interface Summary {
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
}

/** Linear-interpolated quantile of an ascending-sorted array (q in [0, 1]). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function summarise(samplesMs: readonly number[]): Summary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    runs: sorted.length,
    medianMs: quantile(sorted, 0.5),
    p90Ms: quantile(sorted, 0.9),
    minMs: sorted[0] ?? Number.NaN,
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    meanMs: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

/** Rows of a /proc/net/tcp{,6} buffer by kernel state number (header line excluded). */
export function countRows(buf: Uint8Array, length: number): { rows: number; byState: Record<string, number> } {
  const byState: Record<string, number> = {};
  let rows = 0;
  let pos = buf.indexOf(10);
  if (pos < 0 || pos >= length) return { rows, byState };
  pos++;
  while (pos < length) {
    let eol = buf.indexOf(10, pos);
    if (eol < 0 || eol > length) eol = length;
    // "  sl: local remote st ..." — the state is the 4th whitespace-separated field.
    let p = pos;
    let field = 0;
    let stateStart = -1;
    while (p < eol) {
      while (p < eol && buf[p] === 32) p++;
      if (p >= eol) break;
      if (field === 3) {
        stateStart = p;
        break;
      }
      while (p < eol && buf[p] !== 32) p++;
      field++;
    }
    if (stateStart >= 0) {
      rows++;
      const st = String.fromCharCode(buf[stateStart]!, buf[stateStart + 1]!);
      byState[st] = (byState[st] ?? 0) + 1;
    }
    pos = eol + 1;
  }
  return { rows, byState };
}

export const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
