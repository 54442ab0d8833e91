/**
 * The socket sample's sources, one collector per file, run in this order by
 * takeSocketSample() (../sample.ts). The order is also the order of the sample's
 * `sources`, which the report, /metrics and their golden files show.
 *
 *   sysctl.ts     sys/net/ipv4/*: the port range (required) and the reuse settings
 *   tcp.ts        net/tcp (required) and net/tcp6, into one socket table
 *   snmp.ts       net/snmp: Tcp ActiveOpens, PassiveOpens, AttemptFails
 *   netstat.ts    net/netstat: TcpExt TCPTimeWaitOverflow
 *   sockstat.ts   net/sockstat, net/sockstat6: the kernel's socket counts
 *   conntrack.ts  sys/net/netfilter/nf_conntrack_{count,max}, when the module is loaded
 *
 * Each exports a `Collector` (collector.ts): a name, the sources it reports, and
 * collect(ctx) → { status, values }. A collector that reads another's values
 * names it in its third type parameter and reads it from `ctx.earlier`; tcp reads
 * sysctl's port range that way. collectorTable() refuses, at compile time, a table
 * in which a collector runs before one it reads.
 *
 * Adding a source, say net/snmp6:
 *
 *   1. snmp6.ts here:  export const snmp6Collector: Collector<'snmp6', Snmp6Counters> = {…}
 *   2. its line below: COLLECTORS = collectorTable([…, conntrackCollector, snmp6Collector])
 *
 * The compiler then asks for the rest, which is the sample's contract rather than
 * collection: the name in SOURCES and any new values in SocketSample
 * (model/types.ts), and where takeSocketSample puts them.
 */
import { collectorTable } from './collector.js';
import { conntrackCollector } from './conntrack.js';
import { netstatCollector } from './netstat.js';
import { snmpCollector } from './snmp.js';
import { sockstatCollector } from './sockstat.js';
import { sysctlCollector } from './sysctl.js';
import { tcpCollector } from './tcp.js';

export const COLLECTORS = collectorTable([sysctlCollector, tcpCollector, snmpCollector, netstatCollector, sockstatCollector, conntrackCollector]);

export type Collectors = typeof COLLECTORS;
