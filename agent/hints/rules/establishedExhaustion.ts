/**
 * established_exhaustion: a destination is short of ports because connections
 * to it are open at once (ESTABLISHED), not because of TIME_WAIT. Each open
 * connection holds its 4-tuple while it lives (concurrency = request rate ×
 * response time), so keepalive cannot help; more 4-tuple space or shorter
 * responses can. Only ESTABLISHED sockets count here: the other states that hold
 * ports have findings of their own (syn_sent_exhaustion, fin_wait1_exhaustion,
 * fin_wait2_exhaustion, close_wait_exhaustion).
 */
import { heldGroups } from '../context.js';
import { heldEvidence } from '../heldState.js';
import { locationsOf, passContext, where } from '../nginxPool.js';
import type { FindingRule } from '../rule.js';
import { destinationName, pct, type Finding, type Severity } from '../types.js';

export const establishedExhaustion: FindingRule = {
  id: 'established_exhaustion',
  evaluate(context) {
    const nginx = context.nginx;
    if (nginx === null) return [];
    const out: Finding[] = [];
    // Destinations nginx's config does not reach are left to the headroom findings, as before.
    for (const { name, destinations: groupDestinations } of heldGroups(context, 'established').filter((g) => g.kind !== 'unmapped')) {
      const group = name === null ? undefined : nginx.config.upstreams.find((u) => u.name === name);
      const worstHeld = groupDestinations[0]!;
      const worst = worstHeld.destination;
      const passes = name === null ? [] : locationsOf(nginx.config, name);
      const bind = passes.find((p) => p.bind !== null)?.bind ?? null;
      const split = bind?.startsWith('$') === true ? nginx.config.splitClients.find((s) => s.variable === bind.split(/\s/)[0]) : undefined;
      const sourceIps = split?.values.length ?? 1;
      const primaries = group?.servers.filter((s) => !s.backup && !s.down) ?? [];
      const severity: Severity = groupDestinations.some((c) => c.severity === 'critical') ? 'critical' : groupDestinations.some((c) => c.severity === 'warning') ? 'warning' : 'info';
      out.push({
        id: 'established_exhaustion',
        severity,
        summary:
          `${name === null ? 'a proxied destination' : `upstream ${name}`} is short of ports because ${worstHeld.holding.count} connections to ${worst.destination} are open at once ` +
          `(ESTABLISHED, ${pct(worstHeld.holding.share)} of its used ports), not because of TIME_WAIT: keepalive will not fix it`,
        evidence: [
          ...heldEvidence(groupDestinations),
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
