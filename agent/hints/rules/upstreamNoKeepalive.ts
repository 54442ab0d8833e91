/**
 * upstream_no_keepalive: an upstream group whose destinations are bound by
 * TIME_WAIT has no keepalive pool, so nginx closes each upstream connection
 * after one response and keeps its TIME_WAIT for 60 s.
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import { churnEvidence, connectRateOf, openConnectionsOf, worstSeverity } from '../context.js';
import {
  DEFAULT_POOL_SINCE_1_29_7,
  KEEPALIVE_DEFAULTS_SINCE,
  keepaliveRequestsOf,
  passContext,
  serverLine,
  suggestedPool,
  sustainable,
  upstreamBlock,
  where,
} from '../nginxPool.js';
import type { FindingRule } from '../rule.js';
import { aboutRate, destinationName, perSecond, rateText, type Finding } from '../types.js';

export const upstreamNoKeepalive: FindingRule = {
  id: 'upstream_no_keepalive',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    for (const assessed of nginx.churningGroups) {
      if (assessed.verdict !== 'upstream_no_keepalive') continue;
      const { name, group, destinations: groupDestinations, pool } = assessed;
      const worst = groupDestinations[0]!.destination;
      const rate = connectRateOf(groupDestinations);
      const poolSize = suggestedPool(openConnectionsOf(groupDestinations), nginx.workers.count, null);
      const passLines = assessed.locations.flatMap(({ pass, missing }) => passContext(pass, missing.lines));
      const requestsPerConnection = keepaliveRequestsOf(group, nginx.evidence.version).count;
      out.push({
        id: 'upstream_no_keepalive',
        severity: worstSeverity(groupDestinations),
        summary:
          `upstream ${name} (${groupDestinations.map((c) => c.destination.destination).join(', ')}) opens a new connection per request: ` +
          `${rateText(rate)} connections/s and no keepalive pool`,
        evidence: [
          `upstream ${name} at ${where(group.at)} has no keepalive directive` +
            (pool.source === 'unknown'
              ? ` (${nginx.versionText}: from ${KEEPALIVE_DEFAULTS_SINCE} it would keep ${DEFAULT_POOL_SINCE_1_29_7} by default)`
              : ` (${nginx.versionText})`),
          ...churnEvidence(groupDestinations),
          `${nginx.workers.text}; ${openConnectionsOf(groupDestinations)} connections open to the group now`,
        ],
        why:
          'Without a pool nginx closes each upstream connection after one response, and as the side that closes it keeps the ' +
          'TIME_WAIT socket for 60 s. The TIME_WAIT count towards a destination is then about new connections/s × 60, which ' +
          'runs into the port range long before the upstream is busy.',
        fix: [
          `# ${where(group.at)}`,
          ...upstreamBlock(name, group.servers.map(serverLine), [`keepalive ${poolSize};   # idle connections kept per worker`]),
          ...(passLines.length > 0 ? ['', ...passLines] : []),
          '',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
        effect:
          `New connections/s to the group fall from ${aboutRate(rate)} to ${aboutRate({ ...rate, perSecond: rate.perSecond / requestsPerConnection })} ` +
          `(one per ${requestsPerConnection} requests, keepalive_requests); the TIME_WAIT they need towards ${worst.destination} from ` +
          `${rate.lowerBound ? 'at least' : 'about'} ${Math.round(rate.perSecond * TIME_WAIT_SECONDS)} (the range has ${worst.capacity} ports) to about ` +
          `${Math.ceil((rate.perSecond / requestsPerConnection) * TIME_WAIT_SECONDS)}. The request rate one destination sustains rises from ${sustainable(worst.capacity)} ` +
          `to about ${perSecond((worst.capacity / TIME_WAIT_SECONDS) * requestsPerConnection)}/s.`,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: [name],
      });
    }
    return out;
  },
};
