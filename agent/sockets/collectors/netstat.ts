/**
 * netstat: TcpExt TCPTimeWaitOverflow in /proc/net/netstat, the connections closed
 * without a TIME_WAIT socket because tcp_max_tw_buckets was reached (tcp_time_wait()
 * in net/ipv4/tcp_minisocks.c counts it when inet_twsk_alloc() refuses).
 */
import { counter, parseHeaderValuePairs } from '../parse/procNetCounters.js';
import type { HostCounters } from '../model/types.js';
import { okStatus, optionalFileFailed, type Collector } from './collector.js';

export type NetstatCounters = Pick<HostCounters, 'timeWaitOverflow'>;

export const netstatCollector: Collector<'netstat', NetstatCounters> = {
  name: 'netstat',
  sources: ['netstat'],
  collect(ctx) {
    const r = ctx.buffer.readText(ctx.procRoot, 'net/netstat');
    if (!r.ok) return { status: [optionalFileFailed('netstat', r)], values: { timeWaitOverflow: null } };
    const parsed = parseHeaderValuePairs(r.value);
    return {
      status: [okStatus('netstat', parsed.problems)],
      values: { timeWaitOverflow: counter(parsed.groups, 'TcpExt', 'TCPTimeWaitOverflow') },
    };
  },
  empty: () => ({ timeWaitOverflow: null }),
};
