/**
 * sockstat: the kernel's own socket counts in /proc/net/sockstat (TCP inuse,
 * orphan, tw) and /proc/net/sockstat6 (TCP6 inuse). sockstat6 is read only with
 * sockstat and is optional (absent without IPv6): it adds a value, not a source.
 */
import { counter, parseSockstat } from '../parse/procNetCounters.js';
import type { HostCounters } from '../model/types.js';
import { okStatus, optionalFileFailed, type Collector } from './collector.js';

export type SockstatCounters = Pick<HostCounters, 'tcpInUse' | 'tcpOrphan' | 'tcpTimeWait' | 'tcp6InUse'>;

const EMPTY: SockstatCounters = { tcpInUse: null, tcpOrphan: null, tcpTimeWait: null, tcp6InUse: null };

export const sockstatCollector: Collector<'sockstat', SockstatCounters> = {
  name: 'sockstat',
  sources: ['sockstat'],
  collect(ctx) {
    const r = ctx.buffer.readText(ctx.procRoot, 'net/sockstat');
    if (!r.ok) return { status: [optionalFileFailed('sockstat', r)], values: { ...EMPTY } };
    const parsed = parseSockstat(r.value);
    const values: SockstatCounters = {
      tcpInUse: counter(parsed.groups, 'TCP', 'inuse'),
      tcpOrphan: counter(parsed.groups, 'TCP', 'orphan'),
      tcpTimeWait: counter(parsed.groups, 'TCP', 'tw'),
      tcp6InUse: null,
    };
    const six = ctx.buffer.readText(ctx.procRoot, 'net/sockstat6');
    if (six.ok) values.tcp6InUse = counter(parseSockstat(six.value).groups, 'TCP6', 'inuse');
    return { status: [okStatus('sockstat', parsed.problems)], values };
  },
  empty: () => ({ ...EMPTY }),
};
