/** Per-second rates from two readings of a monotonic kernel counter. Pure. */
export interface CounterReading {
  value: number;
  atMs: number;
}

/**
 * null when there is no previous reading, no time has passed, or the counter went
 * backwards (a reboot, or a different network namespace behind --proc-root).
 */
export function counterRate(prev: CounterReading | null, cur: CounterReading | null): number | null {
  if (prev === null || cur === null) return null;
  const dt = (cur.atMs - prev.atMs) / 1000;
  if (dt <= 0 || cur.value < prev.value) return null;
  return (cur.value - prev.value) / dt;
}
