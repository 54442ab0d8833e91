/**
 * nat_private_endpoint: a destination that matters through a NAT is a cloud
 * provider's own API, as nginx's configuration names it (an address alone is no
 * proof, so without a host name there is no finding). The provider's private
 * path (VPC endpoint, Private Google Access, Private Link) takes that traffic
 * off the NAT altogether.
 */
import { natFindingDestinations, natLabel, type NatDestinationContext } from '../natContext.js';
import { providerApi, type ProviderApi } from '../natPrivateEndpoints.js';
import type { FindingRule } from '../rule.js';
import { pct, type Finding } from '../types.js';
import type { RuleContext } from '../context.js';

/** Host names nginx's config gives the destination: its proxy_pass targets and the servers of its upstream groups. */
function hostNames(context: RuleContext, destination: string): string[] {
  const nginx = context.nginx;
  const route = nginx?.evidence.routes.get(destination);
  if (nginx === null || route === undefined) return [];
  const port = Number(destination.slice(destination.lastIndexOf(':') + 1));
  const fromGroups = route.upstreams.flatMap((name) => nginx.config.upstreams.find((u) => u.name === name)?.servers.filter((s) => s.port === port).map((s) => s.host) ?? []);
  const names = [...route.direct.map((p) => p.host), ...fromGroups].filter((h): h is string => h !== null && /[a-z]/i.test(h) && !h.includes(':'));
  return [...new Set(names)];
}

export const natPrivateEndpoint: FindingRule = {
  id: 'nat_private_endpoint',
  evaluate(context) {
    const out: Finding[] = [];
    for (const { nat: n, destinations } of context.nat) {
      const named: { c: NatDestinationContext; api: ProviderApi }[] = [];
      for (const c of destinations) {
        const api = hostNames(context, c.destination.destination).map((h) => providerApi(h, n.profile)).find((a) => a !== null);
        if (api != null) named.push({ c, api });
      }
      if (named.length === 0) continue;
      const { c, api } = named[0]!;
      const d = c.destination;
      out.push({
        id: 'nat_private_endpoint',
        severity: 'info',
        summary: `${natLabel(n)}: ${d.destination} is ${api.host}, the provider's own API (${api.service}): a private endpoint takes its ${d.used} mappings off the NAT`,
        evidence: named.map(({ c: x, api: a }) => `${x.destination.destination} is ${a.host} in nginx's config; ${x.destination.used} of ${x.destination.capacity} NAT mappings towards it (${pct(x.destination.share)})`),
        why:
          'Traffic to a cloud provider\'s own services can stay inside the provider\'s network: AWS gateway and interface endpoints, ' +
          'Google\'s Private Google Access, Azure Private Link and service endpoints reach them from private addresses, without the NAT.',
        fix: named.flatMap(({ api: a }) => a.fix).filter((line, i, all) => all.indexOf(line) === i).join('\n'),
        effect: named.map(({ c: x }) => `${x.destination.destination}: ${x.destination.used} mappings (${pct(x.destination.share)} of the limit) leave the NAT`).join('; ') + '.',
        destinations: natFindingDestinations(named.map(({ c: x }) => x)),
        upstreams: [],
      });
    }
    return out;
  },
};
