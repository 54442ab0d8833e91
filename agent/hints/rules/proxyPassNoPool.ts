/**
 * proxy_pass_no_pool: a location proxies to a literal address or host name.
 * keepalive is a directive of an upstream {} block, so the implicit group nginx
 * makes for such a target has no pool, in every version.
 */
import { churnEvidence, connectRateOf, openConnectionsOf, worstSeverity } from '../context.js';
import { atLeast, KEEPALIVE_DEFAULTS_SINCE, suggestedPool, sustainable, upstreamBlock, where } from '../nginxPool.js';
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import type { FindingRule } from '../rule.js';
import { aboutRate, destinationName, perSecond, rateText, type Finding } from '../types.js';

export const proxyPassNoPool: FindingRule = {
  id: 'proxy_pass_no_pool',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    for (const [pass, groupDestinations] of nginx.churningDirect) {
      const worst = groupDestinations[0]!.destination;
      const rate = connectRateOf(groupDestinations);
      const address = pass.host === null ? worst.destination : `${pass.host.includes(':') ? `[${pass.host}]` : pass.host}:${pass.port ?? 80}`;
      const name = `backend_${address.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
      const target = /^(\w+:\/\/)([^/]+)(.*)$/.exec(pass.target);
      const uri = target?.[3] ?? '';
      const poolSize = suggestedPool(openConnectionsOf(groupDestinations), nginx.workers.count, null);
      out.push({
        id: 'proxy_pass_no_pool',
        severity: worstSeverity(groupDestinations),
        summary: `proxy_pass ${pass.target} at ${where(pass.at)} names the server directly, so no keepalive pool is possible: ${rateText(rate)} connections/s`,
        evidence: [`${where(pass.at)} ${pass.context}: proxy_pass ${pass.target} (no upstream block)`, ...churnEvidence(groupDestinations), nginx.versionText],
        why:
          'keepalive is a directive of an upstream {} block; a proxy_pass to a literal address or host name gets an implicit ' +
          'group without a pool, so every request opens and closes a connection and leaves TIME_WAIT for 60 s.',
        fix: [
          '# http {} context, e.g. a new file in conf.d/:',
          ...upstreamBlock(name, [`server ${address};`], [`keepalive ${poolSize};`]),
          '',
          `# ${where(pass.at)}, ${pass.context}: replace proxy_pass ${pass.target}; with`,
          `    proxy_pass ${target?.[1] ?? 'http://'}${name}${uri};`,
          ...(atLeast(nginx.evidence.version, KEEPALIVE_DEFAULTS_SINCE) === true ? [] : ['    proxy_http_version 1.1;', '    proxy_set_header Connection "";']),
          '',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
        effect:
          `New connections/s fall from ${aboutRate(rate)} to ${aboutRate({ ...rate, perSecond: rate.perSecond / 1000 })} (keepalive_requests 1000); ` +
          `the request rate ${worst.destination} sustains rises from ${sustainable(worst.capacity)} to about ${perSecond((worst.capacity / TIME_WAIT_SECONDS) * 1000)}/s.`,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: [],
      });
    }
    return out;
  },
};
