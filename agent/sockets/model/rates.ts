/**
 * Rates: per-second figures from two readings of a monotonic kernel counter, and
 * the connect rate towards one destination, estimated from the ages of its
 * TIME_WAIT sockets and, where TIME_WAIT hides it, from Tcp ActiveOpens. Pure.
 *
 * docs/headroom.md ("The connect rate") documents the estimator and its error.
 */

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

/** What a connect rate was measured from. */
export type ConnectRateBasis = 'time_wait_ages' | 'active_opens';

/**
 * Why a connect rate is only a lower bound:
 * - exhausted: no port is free, so connect() calls beyond the range failed and left no socket;
 * - time_wait_reuse: tcp_twsk_unique() lets a new connection take over a TIME_WAIT
 *   4-tuple, and the socket it replaces leaves the table;
 * - time_wait_overflow: tcp_max_tw_buckets is reached, and closing sockets skip TIME_WAIT.
 */
export type LowerBoundReason = 'exhausted' | 'time_wait_reuse' | 'time_wait_overflow';

export interface ConnectRate {
  /** New connections per second towards the destination: the figure to quote. */
  perSecond: number;
  basis: ConnectRateBasis;
  /** The time the figure is averaged over, in seconds. */
  spanSeconds: number;
  /** TIME_WAIT sockets younger than the span: the evidence of time_wait_ages. */
  timeWaitSockets: number;
  /** The true rate may be higher than perSecond (see lowerBoundBecause). */
  lowerBound: boolean;
  lowerBoundBecause: LowerBoundReason[];
  /** How the figure was measured and, when it is a lower bound, why: one sentence for humans. */
  why: string;
}

/**
 * Fewer TIME_WAIT sockets than this in the window and the span is stretched
 * towards the whole window, in proportion: one or two fresh sockets are not a burst.
 */
export const MIN_RATE_EVIDENCE = 10;
/** The shortest span a rate is averaged over. */
export const MIN_RATE_SPAN_MS = 1000;

/**
 * The span of time `count` TIME_WAIT sockets, the oldest `oldestAgeMs` old, are
 * evidence for, within a window of `windowMs`.
 *
 * n closes spread evenly over the last T seconds put the oldest at T·n/(n+1) on
 * average, so T is estimated as oldest·(n+1)/n (the unbiased estimate of a
 * uniform distribution's end). A load that has run for longer than the window
 * reaches the window, and the rate is count ÷ window as before; a burst that
 * began 4 s ago is averaged over about 4 s, not 60. The span is at least
 * MIN_RATE_SPAN_MS, and with fewer than MIN_RATE_EVIDENCE sockets it is
 * stretched towards the window (by 1 − n/MIN_RATE_EVIDENCE of it), so a
 * handful of fresh sockets reads as a trickle, not as a burst.
 */
export function timeWaitSpanMs(count: number, oldestAgeMs: number, windowMs: number): number {
  if (count <= 0) return windowMs;
  const fromOldest = (oldestAgeMs * (count + 1)) / count;
  const stretched = windowMs * Math.max(0, 1 - count / MIN_RATE_EVIDENCE);
  return Math.min(windowMs, Math.max(MIN_RATE_SPAN_MS, fromOldest, stretched));
}

/** count ÷ timeWaitSpanMs, per second. */
export function timeWaitRate(count: number, oldestAgeMs: number, windowMs: number): number {
  return count <= 0 ? 0 : count / (timeWaitSpanMs(count, oldestAgeMs, windowMs) / 1000);
}

/** Seconds with at most one decimal, for the sentences. */
const seconds = (s: number): string => `${Number(s.toFixed(1))} s`;
/** A rate for the sentences: whole numbers from 100, one decimal from 1, two significant digits below. */
const rate = (r: number): string => (r >= 100 ? r.toFixed(0) : r >= 1 || r === 0 ? r.toFixed(1) : Number(r.toPrecision(2)).toString());

/** What each reason means, as the `why` sentence says it. */
export const LOWER_BOUND_TEXT: Readonly<Record<LowerBoundReason, string>> = {
  exhausted: 'no port is free: connect() calls beyond the range failed (EADDRNOTAVAIL) and left no socket',
  time_wait_reuse: 'tcp_tw_reuse applies: a new connection may take over a TIME_WAIT socket older than the reuse delay, which then leaves no trace',
  time_wait_overflow: 'tcp_max_tw_buckets is reached: closing sockets beyond it skip TIME_WAIT (TCPTimeWaitOverflow)',
};

function whyText(basisText: string, because: readonly LowerBoundReason[]): string {
  return because.length === 0 ? basisText : `${basisText}; a lower bound: ${because.map((r) => LOWER_BOUND_TEXT[r]).join('; ')}`;
}

function timeWaitBasisText(count: number, spanS: number): string {
  return count === 0 ? `no TIME_WAIT socket younger than ${seconds(spanS)}` : `${count} TIME_WAIT socket${count === 1 ? '' : 's'} closed in the last ${seconds(spanS)}`;
}

/** The connect rate a destination's TIME_WAIT sockets show: `count` younger than the window, the oldest of them `oldestAgeMs` old. */
export function timeWaitConnectRate(count: number, oldestAgeMs: number, windowMs: number, because: readonly LowerBoundReason[]): ConnectRate {
  // Milliseconds are what the timer column resolves (10 ms ticks): no more digits than that.
  const spanS = Math.round(timeWaitSpanMs(count, oldestAgeMs, windowMs)) / 1000;
  return {
    perSecond: count === 0 ? 0 : count / spanS,
    basis: 'time_wait_ages',
    spanSeconds: spanS,
    timeWaitSockets: count,
    lowerBound: because.length > 0,
    lowerBoundBecause: [...because],
    why: whyText(timeWaitBasisText(count, spanS), because),
  };
}

/** The destination fields the host-wide refinement reads and rewrites. */
export interface RatedDestination {
  connectRate: ConnectRate;
  connectRatePerSecond: number;
}

export interface HostRateEvidence {
  /** Tcp ActiveOpens per second, between two readings; null when not measured. */
  connectAttemptsPerSecond: number | null;
  /** tcp_max_tw_buckets is reached now, and TCPTimeWaitOverflow says sockets skipped TIME_WAIT. */
  timeWaitOverflowing: boolean;
}

const hidden = (c: ConnectRate): boolean => c.lowerBoundBecause.some((r) => r === 'time_wait_reuse' || r === 'time_wait_overflow');

/**
 * What the host-wide evidence adds to each destination's TIME_WAIT figure:
 *
 * - tcp_max_tw_buckets overflowing makes every TIME_WAIT figure a lower bound.
 * - Tcp ActiveOpens counts every connect() that sent a SYN in this network
 *   namespace (tcp_connect() in net/ipv4/tcp_output.c), whatever became of it. It
 *   is host-wide, so it bounds the sum over all destinations. Where TIME_WAIT
 *   hides a destination's rate (reuse, overflow), the attempts the other
 *   destinations' TIME_WAIT does not account for are attributed to the hidden
 *   ones, in proportion to their own TIME_WAIT figures (equally when those are
 *   all 0); a destination keeps its TIME_WAIT figure when that is higher. With
 *   one hidden destination the result is an upper estimate: connections that
 *   left no TIME_WAIT here (closed by the peer first, still open, failed) count
 *   in ActiveOpens too.
 *
 * Returns new destination objects; the ones given are not changed.
 */
export function withHostRates<D extends RatedDestination>(destinations: readonly D[], evidence: HostRateEvidence): D[] {
  const out = destinations.map((d) => {
    const c = d.connectRate;
    if (!evidence.timeWaitOverflowing || c.basis !== 'time_wait_ages' || c.lowerBoundBecause.includes('time_wait_overflow')) return d;
    const because: LowerBoundReason[] = [...c.lowerBoundBecause, 'time_wait_overflow'];
    return { ...d, connectRate: { ...c, lowerBound: true, lowerBoundBecause: because, why: whyText(timeWaitBasisText(c.timeWaitSockets, c.spanSeconds), because) } };
  });
  const attempts = evidence.connectAttemptsPerSecond;
  if (attempts === null) return out;
  const hiddenOnes = out.filter((d) => hidden(d.connectRate));
  if (hiddenOnes.length === 0) return out;
  const accounted = out.reduce((sum, d) => (hidden(d.connectRate) ? sum : sum + d.connectRate.perSecond), 0);
  const residual = Math.max(0, attempts - accounted);
  const hiddenTotal = hiddenOnes.reduce((sum, d) => sum + d.connectRate.perSecond, 0);
  return out.map((d) => {
    if (!hidden(d.connectRate)) return d;
    const share = hiddenTotal > 0 ? d.connectRate.perSecond / hiddenTotal : 1 / hiddenOnes.length;
    const estimate = residual * share;
    if (estimate <= d.connectRate.perSecond) return d;
    // ActiveOpens sees every attempt that got a port, whatever TIME_WAIT did; it cannot see the ones that failed for want of one.
    const because = d.connectRate.lowerBoundBecause.filter((r) => r === 'exhausted');
    const others = accounted > 0 ? `, less the ${rate(accounted)}/s the other destinations' TIME_WAIT accounts for` : '';
    const split = hiddenOnes.length > 1 ? `, shared among ${hiddenOnes.length} destinations whose TIME_WAIT is hidden by their TIME_WAIT figures` : '';
    const basisText =
      `host-wide Tcp ActiveOpens, ${rate(attempts)}/s${others}${split}: an upper estimate, as every outgoing connection of this network namespace counts in it ` +
      `(TIME_WAIT here showed ${rate(d.connectRate.perSecond)}/s: ${d.connectRate.lowerBoundBecause.filter((r) => r !== 'exhausted').map((r) => LOWER_BOUND_TEXT[r]).join('; ')})`;
    const connectRate: ConnectRate = {
      perSecond: estimate,
      basis: 'active_opens',
      spanSeconds: d.connectRate.spanSeconds,
      timeWaitSockets: d.connectRate.timeWaitSockets,
      lowerBound: because.length > 0,
      lowerBoundBecause: because,
      why: whyText(basisText, because),
    };
    return { ...d, connectRate, connectRatePerSecond: estimate };
  });
}
