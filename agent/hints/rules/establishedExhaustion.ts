/**
 * established_exhaustion: a destination is short of ports because connections
 * are open at once, not because of TIME_WAIT. Each open connection holds its
 * 4-tuple while it lives (concurrency = request rate × response time), so
 * keepalive cannot help; more 4-tuple space or shorter responses can.
 */
import type { DestinationContext } from '../context.js';
import { worstSeverity } from '../context.js';
import { locationsOf, passContext, where } from '../nginxPool.js';
import type { FindingRule } from '../rule.js';
import { destinationName, type Finding } from '../types.js';

export const establishedExhaustion: FindingRule = {
  id: 'established_exhaustion',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    const held: [string | null, DestinationContext[]][] = [...nginx.heldByGroup.entries(), ...(nginx.heldDirect.length > 0 ? [[null, nginx.heldDirect] as [null, DestinationContext[]]] : [])];
    for (const [name, groupDestinations] of held) {
      const group = name === null ? undefined : nginx.config.upstreams.find((u) => u.name === name);
      const worst = groupDestinations[0]!.destination;
      const passes = name === null ? [] : locationsOf(nginx.config, name);
      const bind = passes.find((p) => p.bind !== null)?.bind ?? null;
      const split = bind?.startsWith('$') === true ? nginx.config.splitClients.find((s) => s.variable === bind.split(/\s/)[0]) : undefined;
      const sourceIps = split?.values.length ?? 1;
      const primaries = group?.servers.filter((s) => !s.backup && !s.down) ?? [];
      out.push({
        id: 'established_exhaustion',
        severity: worstSeverity(groupDestinations),
        summary:
          `${name === null ? 'a proxied destination' : `upstream ${name}`} is short of ports because ${worst.established} connections are open at once, ` +
          'not because of TIME_WAIT: keepalive will not fix it',
        evidence: [
          ...groupDestinations.slice(0, 5).map(({ destination: d }) => `${destinationName(d)}: ${d.established} established, ${d.other} in other states, ${d.timeWait} TIME_WAIT; ${d.headroom}/${d.capacity} ports free`),
          ...(group !== undefined ? [`upstream ${group.name} at ${where(group.at)}: ${primaries.length} primary server(s)`] : []),
          bind === null ? 'no proxy_bind: one source IP' : `proxy_bind ${bind}${split !== undefined ? ` (split_clients over ${sourceIps} values)` : ''}`,
        ],
        why:
          'Each open connection holds its 4-tuple for as long as it lives. Concurrency = request rate × response time, so a slow ' +
          'upstream (or a pool sized for more connections than the range has) fills the range with ESTABLISHED sockets; ' +
          'reusing connections does not reduce how many are open at once.',
        fix: [
          '# 1. More 4-tuple space per destination: more source IPs (each adds a whole port range).',
          '#    Add addresses to this host (e.g. 10.0.0.21, 10.0.0.22), then in http {}:',
          'split_clients "$request_id" $upstream_source_ip {',
          `    50%  ${worst.sourceIp};`,
          '    *    10.0.0.21;   # an address of this host',
          '}',
          ...(passes.length > 0 ? passes.slice(0, 3).flatMap((p) => passContext(p, ['proxy_bind $upstream_source_ip;'])) : ['# in the location with the proxy_pass:', 'proxy_bind $upstream_source_ip;']),
          '# 2. More destination IPs: add servers to the upstream group (each IP:port gets its own range).',
          '# 3. Fewer connections held: find why responses are slow; cap with max_conns=N on the servers.',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
        effect: `With one more source IP, ports towards ${worst.destination}: ${worst.capacity * sourceIps} → ${worst.capacity * (sourceIps + 1)}.`,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: name === null ? [] : [name],
      });
    }
    return out;
  },
};
