/**
 * upstream_no_keepalive: an upstream group whose destinations are bound by
 * TIME_WAIT keeps no idle connections on the nginx version in use (its effective
 * pool, nginxconf/model/pool.ts): no keepalive line before 1.29.7, `keepalive 0`,
 * or a keepalive line nginx drops because the balancer comes after it. nginx then
 * closes each upstream connection after one response and keeps its TIME_WAIT for
 * 60 s.
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import { churnEvidence, connectRateOf, openConnectionsOf, worstSeverity } from '../context.js';
import { editedUpstreamBlock, keepaliveLine, keepaliveRequestsOf, passContext, suggestedPool, sustainable, where, type Pool } from '../nginxPool.js';
import { describePool } from '../../nginxconf/model/pool.js';
import type { FindingRule } from '../rule.js';
import type { UpstreamGroup } from '../../nginxconf/model/types.js';
import { aboutRate, destinationName, perSecond, rateText, type Finding } from '../types.js';

/** Why there is no pool, for the summary. */
function noPoolReason(group: UpstreamGroup, pool: Pool): string {
  if (pool.source === 'disabled') return 'its pool is turned off (keepalive 0)';
  if (group.keepaliveBeforeBalancer === true && group.balancer != null) return `no keepalive pool (the keepalive line comes before ${group.balancer.name})`;
  return 'no keepalive pool';
}

export const upstreamNoKeepalive: FindingRule = {
  id: 'upstream_no_keepalive',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    for (const assessed of nginx.churningGroups) {
      if (assessed.verdict !== 'upstream_no_keepalive') continue;
      const { name, group, destinations: groupDestinations, pool } = assessed;
      const version = nginx.evidence.version;
      const worst = groupDestinations[0]!.destination;
      const rate = connectRateOf(groupDestinations);
      const poolSize = suggestedPool(openConnectionsOf(groupDestinations), nginx.workers.count, null);
      const passLines = assessed.locations.filter(({ missing }) => missing.lines.length > 0).flatMap(({ pass, missing }) => passContext(pass, missing.lines));
      const requestsPerConnection = keepaliveRequestsOf(group, version).count;
      // keepalive 0 on 1.29.7+: removing it gives the default (32, local) when that is the size wanted.
      const keepalive = keepaliveLine(poolSize, version, 'idle connections kept per worker');
      out.push({
        id: 'upstream_no_keepalive',
        severity: worstSeverity(groupDestinations),
        summary:
          `upstream ${name} (${groupDestinations.map((c) => c.destination.destination).join(', ')}) opens a new connection per request: ` +
          `${rateText(rate)} connections/s and ${noPoolReason(group, pool)}`,
        evidence: [
          `upstream ${name} at ${where(group.at)}: pool ${describePool(pool)}`,
          ...(version === null ? [nginx.versionText] : []),
          ...churnEvidence(groupDestinations),
          `${nginx.workers.text}; ${openConnectionsOf(groupDestinations)} connections open to the group now`,
          ...assessed.locations.flatMap(({ missing }) => missing.notes.filter((n) => n.startsWith('proxy_http_version 2'))),
        ],
        why:
          'Without a pool nginx closes each upstream connection after one response, and as the side that closes it keeps the ' +
          'TIME_WAIT socket for 60 s. The TIME_WAIT count towards a destination is then about new connections/s × 60, which ' +
          'runs into the port range long before the upstream is busy.',
        fix: [
          `# ${where(group.at)}`,
          ...editedUpstreamBlock(group, [['keepalive', keepalive]]),
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
