/**
 * The three headroom symptoms (exhausted, critical, warning) share one shape:
 * the destinations at that level, what they hold, and the template fix. Pure.
 */
import type { DestinationHeadroom } from '../sockets/model/headroom.js';
import { TIME_WAIT_SECONDS } from '../core/tcp.js';
import type { FindingId } from './catalogue.js';
import type { RuleContext } from './context.js';
import { describeDestination } from './destinations.js';
import { destinationName, MAX_LISTED, rateText, type Finding, type Severity } from './types.js';

const LEVEL_WHY =
  'connect() without bind() needs a free (source IP, source port, destination IP, destination port) 4-tuple. ' +
  'Per destination there are as many as ip_local_port_range has usable ports; every ESTABLISHED connection and every ' +
  'TIME_WAIT socket (60 s, unless tcp_tw_reuse may take it over) holds one. At zero, connect() fails with EADDRNOTAVAIL (99) ' +
  'and nginx answers 502 (net/ipv4/inet_hashtables.c, __inet_hash_connect).';

export function levelFinding(context: RuleContext, id: FindingId, severity: Severity, ds: readonly DestinationHeadroom[], what: string): Finding[] {
  if (ds.length === 0) return [];
  const settings = context.input.settings;
  const listed = ds.slice(0, MAX_LISTED).map(describeDestination);
  if (ds.length > MAX_LISTED) listed.push(`… and ${ds.length - MAX_LISTED} more`);
  const worst = ds[0]!;
  const holdSeconds = worst.timeWaitReuse ? settings.tcpTwReuseDelayMs / 1000 : TIME_WAIT_SECONDS;
  return [
    {
      id,
      severity,
      summary: `${ds.length} destination${ds.length > 1 ? 's' : ''} ${what}`,
      evidence: listed,
      why: LEVEL_WHY,
      fix: context.headroomFix(ds),
      effect:
        worst.connectRatePerSecond > 0
          ? `${worst.connectRate.lowerBound ? 'With' : 'At'} ${rateText(worst.connectRate)} new connections/s ${destinationName(worst)} needs ${worst.connectRate.lowerBound ? 'at least' : 'about'} ` +
            `${Math.round(worst.connectRatePerSecond * holdSeconds)} ports for TIME_WAIT alone; it has ${worst.capacity}.`
          : null,
      destinations: ds.map(destinationName),
      upstreams: [],
    },
  ];
}
