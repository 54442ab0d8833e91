/**
 * A sample's connect rates with the host-wide evidence added (rates.ts,
 * withHostRates): the Tcp ActiveOpens rate measured between two readings, which
 * only the commands have (the daemon between samples, diagnose over
 * --rate-interval-ms), and whether tcp_max_tw_buckets overflows now. Pure.
 */
import { withHostRates } from './rates.js';
import type { SocketSample } from './types.js';

/** The share of tcp_max_tw_buckets at which TIME_WAIT counts as at the cap (as the time_wait_overflow finding judges it). */
export const TW_BUCKETS_AT_CAP = 0.9;

/** Whether tcp_max_tw_buckets is reached now and the kernel has destroyed TIME_WAIT sockets for it (TCPTimeWaitOverflow). */
export function timeWaitOverflowing(sample: Pick<SocketSample, 'counters' | 'sysctls' | 'headroom'>): boolean {
  const overflow = sample.counters.timeWaitOverflow;
  const buckets = sample.sysctls.tcpMaxTwBuckets;
  return overflow !== null && overflow > 0 && buckets !== null && sample.headroom !== null && sample.headroom.timeWait >= TW_BUCKETS_AT_CAP * buckets;
}

/** The sample with every destination's connect rate refined by the host-wide evidence; the sample given is not changed. */
export function withHostRateEvidence(sample: SocketSample, connectAttemptsPerSecond: number | null): SocketSample {
  const h = sample.headroom;
  if (h === null) return sample;
  const destinations = withHostRates(h.destinations, { connectAttemptsPerSecond, timeWaitOverflowing: timeWaitOverflowing(sample) });
  return { ...sample, headroom: { ...h, destinations } };
}
