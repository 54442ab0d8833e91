/**
 * keepalive_needs_http11: a group has a pool, but a location using it speaks
 * HTTP/1.0 or sends "Connection: close" (nginx's defaults before 1.29.7), so
 * every connection is closed after one response and the pool stays empty.
 */
import { churnEvidence, connectRateOf, worstSeverity } from '../context.js';
import { atLeast, KEEPALIVE_DEFAULTS_SINCE, keepaliveRequestsOf, passContext, where } from '../nginxPool.js';
import { describePool } from '../../nginxconf/model/pool.js';
import type { FindingRule } from '../rule.js';
import { aboutRate, destinationName, type Finding } from '../types.js';

export const keepaliveNeedsHttp11: FindingRule = {
  id: 'keepalive_needs_http11',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    for (const assessed of nginx.churningGroups) {
      if (assessed.verdict !== 'keepalive_needs_http11') continue;
      const { name, group, destinations: groupDestinations, pool } = assessed;
      const broken = assessed.locations.filter(({ missing }) => missing.lines.length > 0 || missing.mapFixes.length > 0);
      const versionUnknown = atLeast(nginx.evidence.version, KEEPALIVE_DEFAULTS_SINCE) === null;
      const rate = connectRateOf(groupDestinations);
      out.push({
        id: 'keepalive_needs_http11',
        severity: worstSeverity(groupDestinations),
        summary: `upstream ${name} has a keepalive pool that ${broken.length} location${broken.length > 1 ? 's' : ''} cannot reuse (HTTP/1.0 or "Connection: close")`,
        evidence: [
          `upstream ${name} at ${where(group.at)}: pool ${describePool(pool)}; ${nginx.versionText}`,
          ...broken.slice(0, 5).map(({ pass, missing }) => `${where(pass.at)} ${pass.context}: ${missing.notes.join('; ')}`),
          ...churnEvidence(groupDestinations),
          ...(versionUnknown ? [`the version is unknown: these lines are required before ${KEEPALIVE_DEFAULTS_SINCE} and harmless after`] : []),
        ],
        why:
          'nginx speaks HTTP/1.0 to upstreams and sends "Connection: close" unless told otherwise (before 1.29.7), so the upstream ' +
          'closes or nginx discards every connection after one response and the keepalive pool stays empty.',
        fix: [
          ...broken.filter(({ missing }) => missing.lines.length > 0).flatMap(({ pass, missing }) => passContext(pass, missing.lines)),
          ...new Set(broken.flatMap(({ missing }) => missing.mapFixes)),
          '',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
        effect: `New connections/s to the group fall from ${aboutRate(rate)} to ${aboutRate({ ...rate, perSecond: rate.perSecond / keepaliveRequestsOf(group, nginx.evidence.version).count })} once the pool is reused.`,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: [name],
      });
    }
    return out;
  },
};
