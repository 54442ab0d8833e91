/**
 * conntrack: nf_conntrack_count and nf_conntrack_max, the connection-tracking
 * table that also fills under connection churn. nf_conntrack is a module: the
 * files are absent unless it is loaded, and then they are per network namespace.
 */
import type { HostCounters } from '../model/types.js';
import { readInteger, type Collector } from './collector.js';

export type ConntrackCounters = Pick<HostCounters, 'conntrackCount' | 'conntrackMax'>;

export const conntrackCollector: Collector<'conntrack', ConntrackCounters> = {
  name: 'conntrack',
  sources: ['conntrack'],
  collect(ctx) {
    const count = readInteger(ctx, 'sys/net/netfilter/nf_conntrack_count', 'nf_conntrack_count');
    const max = readInteger(ctx, 'sys/net/netfilter/nf_conntrack_max', 'nf_conntrack_max');
    const values = { conntrackCount: count.value, conntrackMax: max.value };
    const problems = [count.problem, max.problem].filter((p) => p !== null);
    if (problems.length > 0) return { status: [{ source: 'conntrack', state: 'error', detail: problems.join('; ') }], values };
    if (count.missing) return { status: [{ source: 'conntrack', state: 'unavailable', detail: 'nf_conntrack not loaded in this network namespace' }], values };
    return { status: [{ source: 'conntrack', state: 'ok' }], values };
  },
  empty: () => ({ conntrackCount: null, conntrackMax: null }),
};
