/**
 * time_wait_overflow: tcp_max_tw_buckets was reached (TcpExt TCPTimeWaitOverflow
 * > 0): inet_twsk_alloc() failed and closing sockets skipped TIME_WAIT, so
 * TIME_WAIT counts understate the churn.
 */
import type { FindingRule } from '../rule.js';

export const timeWaitOverflow: FindingRule = {
  id: 'time_wait_overflow',
  evaluate({ input }) {
    const { counters, sysctls, headroom } = input;
    if (counters.timeWaitOverflow === null || counters.timeWaitOverflow <= 0) return [];
    const atCap = sysctls.tcpMaxTwBuckets !== null && headroom.timeWait >= 0.9 * sysctls.tcpMaxTwBuckets;
    return [
      {
        id: 'time_wait_overflow',
        severity: atCap ? 'warning' : 'info',
        summary: 'tcp_max_tw_buckets was reached: TIME_WAIT sockets were destroyed early, so TIME_WAIT counts understate the churn',
        evidence: [
          `TcpExt TCPTimeWaitOverflow = ${counters.timeWaitOverflow} since boot`,
          `net.ipv4.tcp_max_tw_buckets = ${sysctls.tcpMaxTwBuckets ?? 'unknown'}, ${headroom.timeWait} TIME_WAIT sockets now`,
        ],
        why:
          'Above tcp_max_tw_buckets the kernel skips TIME_WAIT for closing sockets (inet_twsk_alloc fails). Ports come back sooner, ' +
          'but the connect rate read from TIME_WAIT ages, and any TIME_WAIT-based dashboard, undercounts the real churn.',
        fix: atCap
          ? 'Reduce the churn at its source (upstream keepalive; see the other findings). Raising tcp_max_tw_buckets only makes the churn visible again.'
          : null,
        effect: null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
