/**
 * The headroom model: how many more connect() calls the kernel will accept to each
 * destination, right now. Pure: a socket table and kernel settings in, numbers out.
 *
 * The rules, from net/ipv4/inet_hashtables.c (__inet_hash_connect,
 * __inet_check_established) and net/ipv4/tcp_ipv4.c (tcp_twsk_unique):
 *
 * - connect() without bind() scans net.ipv4.ip_local_port_range, skipping ports
 *   in ip_local_reserved_ports and ports whose bind bucket was made by bind()
 *   (listeners, explicitly bound sockets): those are lost to every destination.
 *   /proc/net/tcp shows listeners, but not whether a connected socket's port came
 *   from bind(), so only listening ports are taken out here (docs/headroom.md,
 *   "What /proc cannot show"; test/system/headroom-oracle.test.ts pins the difference).
 * - Any other port is usable if the 4-tuple (source IP, source port, destination
 *   IP, destination port) is not in use. So capacity is per (source IP,
 *   destination IP, destination port), and a port used towards one destination is
 *   still free towards another.
 * - A TIME_WAIT socket holds its 4-tuple for TCP_TIMEWAIT_LEN (60 s) unless
 *   tcp_twsk_unique() lets a new connect() take it over: tcp_tw_reuse = 1, or 2
 *   with a loopback source or destination; TCP timestamps in use; and the
 *   TIME_WAIT socket older than tcp_tw_reuse_delay (ms, default 1000).
 * - An orphaned FIN_WAIT2 kept as a timewait socket is never reused (its state
 *   column reads 05, not 06) and counts as used like any other state.
 */
import { STATE_ESTABLISHED, STATE_TIME_WAIT, TCP_STATES, tcpStateName, type TcpStateName } from '../parse/procNetTcp.js';
import type { PortRange, PortSpan } from '../parse/sysctl.js';
import { TIME_WAIT_LEN_MS } from '../../core/tcp.js';
import { MIN_RATE_EVIDENCE, timeWaitConnectRate, timeWaitRate, type ConnectRate, type LowerBoundReason } from './rates.js';
import type { SocketTable } from './socketTable.js';

/** /proc/net/tcp prints timers in USER_HZ ticks (jiffies_delta_to_clock_t): 100 per second. */
export const MS_PER_TIMER_TICK = 10;
/** Window of the recent connect rate: short enough to tell churn that goes on from TIME_WAIT that drains. */
export const RECENT_RATE_WINDOW_MS = 10_000;
/**
 * The recent window is also counted in steps of this many ms (DestinationHeadroom.recentTimeWait):
 * just after nginx loads a config, only TIME_WAIT younger than the load is the new config's
 * (recentRateSince).
 */
export const RECENT_STEP_MS = 1000;
const RECENT_STEPS = RECENT_RATE_WINDOW_MS / RECENT_STEP_MS;
/** tcp_tw_reuse_delay default (ip-sysctl.rst); kernels without the sysctl use 1 s. */
export const DEFAULT_TW_REUSE_DELAY_MS = 1000;
/**
 * Below this share of free ports (and at 0) the range counts as exhausted for the
 * connect rate: attempts beyond it fail and leave no socket, so the rate read
 * from the sockets is a lower bound.
 */
export const EXHAUSTED_RATIO = 0.01;
/** Per-destination state counters: one slot per state number 0–15 (0 collects unknown numbers, as SocketTable.stateCounts). */
const STATE_SLOTS = 16;

export interface KernelSettings {
  portRange: PortRange;
  reservedPorts: readonly PortSpan[];
  /** net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only (the default). */
  tcpTwReuse: number;
  /** net.ipv4.tcp_timestamps: 0 off, 1 or 2 on. */
  tcpTimestamps: number;
  /** net.ipv4.tcp_tw_reuse_delay in ms. */
  tcpTwReuseDelayMs: number;
}

export interface HeadroomOptions {
  /** TIME_WAIT sockets younger than this many seconds count towards the connect rate (1–60). */
  rateWindowSeconds: number;
  /**
   * Ages in ms, ascending: for each, every destination counts its TIME_WAIT sockets
   * younger than it (DestinationHeadroom.timeWaitYoungerThan), in the same pass over
   * the sockets. A NAT whose own hold after close is shorter than the kernel's 60 s
   * (nat/model/) still holds the ports of those closed more recently than its timer.
   */
  timeWaitAgeThresholdsMs?: readonly number[];
}

export interface PortRangeSummary {
  low: number;
  high: number;
  /** Ports in the range, inclusive. */
  size: number;
  /** Reserved ports inside the range. */
  reserved: number;
  /** Listening ports inside the range that are not also reserved. */
  listenersInRange: number;
  /** Ports connect() may pick for any destination: size − reserved − listenersInRange. */
  usable: number;
}

export interface DestinationHeadroom {
  sourceIp: string;
  destination: string;
  destinationIp: string;
  destinationPort: number;
  family: 4 | 6;
  capacity: number;
  used: number;
  headroom: number;
  headroomRatio: number;
  established: number;
  timeWait: number;
  timeWaitReusable: number;
  /** Sockets in states other than ESTABLISHED and TIME_WAIT (SYN_SENT, FIN_WAIT*, CLOSE_WAIT…): the sum of those in `states`. */
  other: number;
  /**
   * Sockets of this destination by kernel state (include/net/tcp_states.h), states
   * with none left out. An orphaned FIN_WAIT2 the kernel keeps as a timewait socket
   * reads fin_wait2, as in `ss`.
   */
  states: StateCounts;
  /** New connections per second towards this destination, how it was measured, and whether it is only a lower bound. */
  connectRate: ConnectRate;
  /** connectRate.perSecond (kept for the report's consumers). */
  connectRatePerSecond: number;
  /**
   * The TIME_WAIT estimate over the last RECENT_RATE_WINDOW_MS only (or rateWindowSeconds
   * when shorter): what churn goes on now, as opposed to TIME_WAIT sockets left over from earlier.
   */
  recentConnectRatePerSecond: number;
  /** capacity ÷ 60 s, or ÷ the reuse delay when TIME_WAIT reuse applies to this destination. */
  maxSustainableConnectRate: number;
  /** Whether tcp_twsk_unique() may hand this destination's TIME_WAIT 4-tuples to new connections. */
  timeWaitReuse: boolean;
  /** When the next blocking TIME_WAIT socket frees its port, or null if none blocks. */
  secondsUntilNextRelease: number | null;
  /**
   * TIME_WAIT sockets younger than each of HeadroomOptions.timeWaitAgeThresholdsMs, in
   * the same order; absent when no thresholds were asked for.
   */
  timeWaitYoungerThan?: number[];
  /**
   * TIME_WAIT sockets younger than 1 s, 2 s, … 10 s (RECENT_STEP_MS steps over the
   * recent window), running sums; absent when none is younger than 10 s.
   */
  recentTimeWait?: number[];
}

/** Socket counts by state name; states with no socket are absent. */
export type StateCounts = Partial<Record<TcpStateName, number>>;

export interface HeadroomModel {
  portRange: PortRangeSummary;
  destinations: DestinationHeadroom[];
  /** Smallest headroomRatio over all destinations, 1 when there are none. */
  headroomRatioMin: number;
  socketsByState: Record<TcpStateName, number>;
  /** Every listening port, any address family, sorted: what ip_local_reserved_ports should cover. */
  listenerPorts: number[];
  sockets: number;
  timeWait: number;
  malformedRows: number;
  malformedSamples: readonly string[];
}

/** Which ports connect() can never pick, and the range summary. */
export function summarisePortRange(
  range: PortRange,
  reserved: readonly PortSpan[],
  listenerPorts: ReadonlySet<number>,
): { summary: PortRangeSummary; blocked: Uint8Array } {
  const blocked = new Uint8Array(65536);
  let reservedCount = 0;
  for (const span of reserved) {
    const from = Math.max(span.from, range.low);
    const to = Math.min(span.to, range.high);
    for (let p = from; p <= to; p++) {
      if (blocked[p] === 0) {
        blocked[p] = 1;
        reservedCount++;
      }
    }
  }
  let listeners = 0;
  for (const p of listenerPorts) {
    if (p >= range.low && p <= range.high && blocked[p] === 0) {
      blocked[p] = 2;
      listeners++;
    }
  }
  const size = range.high - range.low + 1;
  return {
    summary: {
      low: range.low,
      high: range.high,
      size,
      reserved: reservedCount,
      listenersInRange: listeners,
      usable: size - reservedCount - listeners,
    },
    blocked,
  };
}

export function timeWaitReuseApplies(settings: KernelSettings, loopback: boolean): boolean {
  if (settings.tcpTimestamps === 0) return false;
  return settings.tcpTwReuse === 1 || (settings.tcpTwReuse === 2 && loopback);
}

function emptyStateCounts(): Record<TcpStateName, number> {
  const out = { unknown: 0 } as Record<TcpStateName, number>;
  for (const name of Object.values(TCP_STATES)) out[name] = 0;
  return out;
}

/** Every socket of the table by state name, numbers the kernel does not define counted as unknown. */
function stateTotals(table: SocketTable): Record<TcpStateName, number> {
  const out = emptyStateCounts();
  for (const [num, name] of Object.entries(TCP_STATES)) out[name] = table.stateCounts[Number(num)] ?? 0;
  let unknown = 0;
  table.stateCounts.forEach((c, i) => {
    if (!(i in TCP_STATES)) unknown += c;
  });
  out.unknown = unknown;
  return out;
}

/** The non-zero state counters of destination `k`, by name. */
function statesOf(byState: Float64Array, k: number): StateCounts {
  const out: StateCounts = {};
  for (let s = 0; s < STATE_SLOTS; s++) {
    const n = byState[k * STATE_SLOTS + s]!;
    if (n === 0) continue;
    const name = tcpStateName(s);
    out[name] = (out[name] ?? 0) + n;
  }
  return out;
}

export function computeHeadroom(table: SocketTable, settings: KernelSettings, options: HeadroomOptions): HeadroomModel {
  const { summary, blocked } = summarisePortRange(settings.portRange, settings.reservedPorts, table.listenerPorts);
  const capacity = summary.usable;
  const n = table.keys.length;
  // One counter per (destination, state): the loop below runs once per socket, so it only indexes typed arrays.
  const byState = new Float64Array(n * STATE_SLOTS);
  const reusable = new Float64Array(n);
  const recent = new Float64Array(n);
  const recentShort = new Float64Array(n);
  /** Age of the oldest TIME_WAIT socket inside each window, ms (0 when none). */
  const oldest = new Float64Array(n);
  const oldestShort = new Float64Array(n);
  const nextRelease = new Float64Array(n).fill(Infinity);
  const reuse = table.keys.map((k) => timeWaitReuseApplies(settings, k.loopback));
  const delayMs = settings.tcpTwReuseDelayMs;
  const windowMs = options.rateWindowSeconds * 1000;
  const shortWindowMs = Math.min(windowMs, RECENT_RATE_WINDOW_MS);
  const thresholds = Float64Array.from(options.timeWaitAgeThresholdsMs ?? []);
  const nT = thresholds.length;
  /** Per destination, nT counters: TIME_WAIT sockets whose first threshold above their age is this one (summed up after the loop). */
  const younger = new Float64Array(n * nT);
  /** Per destination, RECENT_STEPS counters: TIME_WAIT sockets by whole seconds of age under the recent window. */
  const steps = new Uint32Array(n * RECENT_STEPS);

  for (let i = 0; i < table.recordCount; i++) {
    // A socket on a listening or reserved port does not take a port from the
    // connect() pool: the port is out of the pool already.
    if (blocked[table.recordPort[i]!] !== 0) continue;
    const key = table.recordKey[i]!;
    const state = table.recordState[i]!;
    byState[key * STATE_SLOTS + (state < STATE_SLOTS ? state : 0)]!++;
    if (state !== STATE_TIME_WAIT) continue;
    const leftMs = Math.min(table.recordTimer[i]! * MS_PER_TIMER_TICK, TIME_WAIT_LEN_MS);
    const ageMs = TIME_WAIT_LEN_MS - leftMs;
    // Ascending thresholds: count the socket once, at the first one it is younger than.
    for (let t = 0; t < nT; t++) {
      if (ageMs < thresholds[t]!) {
        younger[key * nT + t]!++;
        break;
      }
    }
    if (ageMs <= windowMs) {
      recent[key]!++;
      if (ageMs > oldest[key]!) oldest[key] = ageMs;
    }
    if (ageMs < RECENT_RATE_WINDOW_MS) steps[key * RECENT_STEPS + Math.floor(ageMs / RECENT_STEP_MS)]!++;
    if (ageMs <= shortWindowMs) {
      recentShort[key]!++;
      if (ageMs > oldestShort[key]!) oldestShort[key] = ageMs;
    }
    // tcp_twsk_unique(): reusable once time_after32(now, entry + delay), i.e. strictly older.
    if (reuse[key] && ageMs > delayMs) {
      reusable[key]!++;
    } else {
      const releaseMs = reuse[key] ? delayMs - ageMs : leftMs;
      if (releaseMs < nextRelease[key]!) nextRelease[key] = releaseMs;
    }
  }

  const destinations: DestinationHeadroom[] = [];
  for (let k = 0; k < n; k++) {
    const key = table.keys[k]!;
    let total = 0;
    for (let s = 0; s < STATE_SLOTS; s++) total += byState[k * STATE_SLOTS + s]!;
    if (total === 0) continue; // every socket of this key sat on a blocked port
    const established = byState[k * STATE_SLOTS + STATE_ESTABLISHED]!;
    const timeWait = byState[k * STATE_SLOTS + STATE_TIME_WAIT]!;
    const used = total - reusable[k]!;
    const headroom = Math.max(0, capacity - used);
    const reuseHere = reuse[k]!;
    const lifetimeS = reuseHere ? delayMs / 1000 : TIME_WAIT_LEN_MS / 1000;
    const because: LowerBoundReason[] = [];
    if (headroom === 0 || headroom < EXHAUSTED_RATIO * capacity) because.push('exhausted');
    if (reuseHere && timeWait > 0) because.push('time_wait_reuse');
    const connectRate = timeWaitConnectRate(recent[k]!, oldest[k]!, windowMs, because);
    destinations.push({
      sourceIp: key.sourceIp,
      destination: key.destination,
      destinationIp: key.destinationIp,
      destinationPort: key.destinationPort,
      family: key.family,
      capacity,
      used,
      headroom,
      headroomRatio: capacity > 0 ? headroom / capacity : 0,
      established,
      timeWait,
      timeWaitReusable: reusable[k]!,
      other: total - established - timeWait,
      states: statesOf(byState, k),
      connectRate,
      connectRatePerSecond: connectRate.perSecond,
      recentConnectRatePerSecond: timeWaitRate(recentShort[k]!, oldestShort[k]!, shortWindowMs),
      maxSustainableConnectRate: lifetimeS > 0 ? capacity / lifetimeS : Infinity,
      timeWaitReuse: reuseHere,
      secondsUntilNextRelease: Number.isFinite(nextRelease[k]!) ? Math.max(0, nextRelease[k]!) / 1000 : null,
      ...(nT > 0 ? { timeWaitYoungerThan: cumulative(younger, k * nT, nT) } : {}),
      ...(hasAny(steps, k * RECENT_STEPS, RECENT_STEPS) ? { recentTimeWait: cumulative(steps, k * RECENT_STEPS, RECENT_STEPS) } : {}),
    });
  }
  destinations.sort(compareDestinations);

  const socketsByState = stateTotals(table);

  return {
    portRange: summary,
    destinations,
    headroomRatioMin: destinations.reduce((min, d) => Math.min(min, d.headroomRatio), 1),
    socketsByState,
    listenerPorts: [...table.listenerPorts].sort((a, b) => a - b),
    sockets: table.rows,
    timeWait: socketsByState.time_wait,
    malformedRows: table.malformedRows,
    malformedSamples: table.malformedSamples,
  };
}

function hasAny(counts: ArrayLike<number>, at: number, n: number): boolean {
  for (let t = 0; t < n; t++) if (counts[at + t]! > 0) return true;
  return false;
}

/**
 * The connect rate towards `d` since nginx loaded its config `sinceMs` ago, from the
 * TIME_WAIT sockets younger than that alone: those older were closed under the
 * config before, and after a reload that adds a pool they would be blamed on it.
 * Over the whole recent window (recentConnectRatePerSecond) once the config is
 * older than it; otherwise over the whole seconds since the load (the last step
 * under it), or fewer when the sockets are all younger, and null under one
 * second: too soon to tell.
 */
export function recentRateSince(d: DestinationHeadroom, sinceMs: number): { perSecond: number; spanSeconds: number } | null {
  if (sinceMs >= RECENT_RATE_WINDOW_MS) return { perSecond: d.recentConnectRatePerSecond, spanSeconds: RECENT_RATE_WINDOW_MS / 1000 };
  const whole = Math.floor(sinceMs / RECENT_STEP_MS);
  if (whole < 1) return null;
  const counts = d.recentTimeWait ?? [];
  const count = counts[whole - 1] ?? 0;
  // As timeWaitSpanMs does for the whole window: churn that began after the load (a burst, load
  // that came later) is averaged over the seconds that hold its sockets, up to the oldest one's,
  // not over quiet seconds before it. With few sockets the whole span stands.
  let oldestStep = whole - 1;
  while (count >= MIN_RATE_EVIDENCE && oldestStep > 0 && (counts[oldestStep - 1] ?? 0) === count) oldestStep--;
  const spanSeconds = ((oldestStep + 1) * RECENT_STEP_MS) / 1000;
  return { perSecond: count / spanSeconds, spanSeconds };
}

/** Running sums of `n` counters from `at`: younger than threshold t = those first counted at t or before. */
function cumulative(counts: ArrayLike<number>, at: number, n: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let t = 0; t < n; t++) out.push((sum += counts[at + t]!));
  return out;
}

/** Least headroom first; ties broken by most used, then by name, so output is stable. */
export function compareDestinations(a: DestinationHeadroom, b: DestinationHeadroom): number {
  return (
    a.headroom - b.headroom ||
    b.used - a.used ||
    (a.sourceIp < b.sourceIp ? -1 : a.sourceIp > b.sourceIp ? 1 : 0) ||
    (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0)
  );
}
