/**
 * The socket benchmark's settings and targets, with the environment knobs for
 * quick runs (the defaults are the benchmark):
 *
 *   BENCH_SIZES            comma-separated socket counts, ascending (default the
 *                          curve: 50000,120000,250000,500000; BENCH_SIZES=120000
 *                          for one quick size)
 *   BENCH_TIME_WAIT_SHARE  share of each size held in TIME_WAIT (default 0.5)
 *   BENCH_RUNS             measured rounds per size (default 9, after 1 warm-up)
 *   BENCH_SI_MAX_SOCKETS   largest size at which systeminformation runs (default
 *                          120000: it takes 3–8 s a call at 120 k and grows with
 *                          the count); BENCH_SI_RUNS its rounds (default 3)
 *   BENCH_METRICS_SECONDS  back-to-back /metrics seconds per size (default 10)
 *   BENCH_NAT_THRESHOLDS_MS NAT timers under 60 s the sample counts TIME_WAIT under
 *                          (inner.ts; default none, as a host without a NAT)
 *   BENCH_DEADLINE_SECONDS the whole run is stopped (and cleaned up) past this
 *                          (default 1500)
 */

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

function envShare(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new Error(`${name} must be a number in [0, 1), got ${v}`);
  return n;
}

function envSizes(name: string, dflt: number[]): number[] {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return dflt;
  const sizes = v.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) throw new Error(`${name} must list socket counts ≥ 1000, got ${v}`);
  for (let i = 1; i < sizes.length; i++) {
    if (sizes[i]! <= sizes[i - 1]!) throw new Error(`${name} must be ascending (the sockets of one size are kept for the next), got ${v}`);
  }
  return sizes;
}

export const CONFIG = {
  sizes: envSizes('BENCH_SIZES', [50_000, 120_000, 250_000, 500_000]),
  timeWaitShare: envShare('BENCH_TIME_WAIT_SHARE', 0.5),
  /** ESTABLISHED connections per holder process; the rest of RLIMIT_NOFILE is Node's own. */
  nofileMargin: 1000,
  serverPorts: [5001, 5002, 5003, 5004, 5005],
  serverAddressesPerHolder: 4,
  connectConcurrency: 200,
  churners: 2,
  churnAddresses: 16,
  churnPorts: [6001, 6002, 6003, 6004],
  /**
   * Handshakes in flight per churner (a connection leaves the count once it is
   * connected and closed; its close finishes in the kernel). While the floor and
   * the sample read a 500 k table, a loopback handshake took 20 ms on average and
   * up to 150 ms. When this capped whole connections, from connect() to the
   * socket's close (~266 ms at 500 k), 512 per churner let the two make ~3 850 a second
   * of the ~4 200 that expire, and the count sank 5–6% in that phase; 1 024 held it,
   * but its bursts took enough of the two cores to move the measurements
   * themselves (a 500 k run: sample 1.45× the floor).
   */
  churnConcurrency: 512,
  churnTickMs: 50,
  /**
   * The churners fill a new size at this many times the steady rate (timeWait / 60 s,
   * what keeps the count once the sockets' ages are spread): barely above it, so the
   * sockets' ages come out spread evenly over the 60 s and expire as evenly (a fast
   * fill expires as a wave 60 s later, which a busy machine could not refill in time:
   * the count sagged 13%). Filling takes ~55 s a size. They refill up to churnRefill
   * times the steady rate (at least churnRefillMin a second) to catch up after a lag.
   */
  churnFill: 1.1,
  /**
   * The count the churners hold is a sawtooth (churner.ts): the kernel drops the
   * TIME_WAIT sockets made during 2.048 s at once, 2.048 / 60 = 3.4% of the count
   * at the steady rate, and the churners refill them. Held at the target, the
   * count spends its time from 3.4% (plus the churners' lag) below the target up to
   * it; the churners aim half a tooth above it, so the tooth straddles the target:
   * ±1.7%, plus the lag below.
   */
  churnAim: 1 + 2.048 / 60 / 2,
  churnRefill: 3,
  churnRefillMin: 1000,
  /** The TIME_WAIT count must be within this share of its target before a size is measured. */
  settleShare: 0.02,
  settleTimeoutS: 150,
  runs: envInt('BENCH_RUNS', 9),
  warmups: 1,
  breakdownRuns: 3,
  siMaxSockets: envInt('BENCH_SI_MAX_SOCKETS', 120_000),
  siRuns: envInt('BENCH_SI_RUNS', 3),
  siWarmups: 1,
  metricsSeconds: envInt('BENCH_METRICS_SECONDS', 10),
  steadySeconds: 10,
  steadyRate: 20,
  daemonPort: 9842,
  sampleIntervalMs: 200,
  maxDestinations: 100,
  portRange: '10000 65535',
  deadlineSeconds: envInt('BENCH_DEADLINE_SECONDS', 1500),
};

export const TARGETS = {
  sampleOverFloorMax: 1.3,
  speedupOverSiMin: 4,
  metricsP99MsMax: 50,
  /** Daemon peak RSS: the earlier 150 MB target up to 120 k sockets, 200 MB above. */
  daemonRssMbMax: (size: number): number => (size <= 120_000 ? 150 : 200),
  /** TIME_WAIT drift during a phase, as a share of the target (held, not a batch that melts). */
  timeWaitDriftMax: 0.05,
  /** The decision rule for a netlink path: at least this many times faster than the /proc floor at the largest size. */
  netlinkSpeedupMin: 3,
};

/** How one size splits into ESTABLISHED connections (two sockets each) and TIME_WAIT sockets. */
export function mix(size: number): { timeWait: number; connections: number } {
  const timeWait = Math.round(size * CONFIG.timeWaitShare);
  return { timeWait, connections: Math.round((size - timeWait) / 2) };
}
