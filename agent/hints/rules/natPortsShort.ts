/**
 * nat_ports_short: a host-scope NAT (the VM's own allocation: GCP Cloud NAT,
 * an Azure load balancer's outbound rule, App Service) is short of mappings
 * towards a destination, long before the kernel is. The provider's own change
 * comes with it (natFix.ts), sized so the worst destination is at most half used.
 */
import { limitText, natEvidence, natFindingDestinations, natLabel, worstNatSeverity } from '../natContext.js';
import { allocationFix } from '../natFix.js';
import type { FindingRule } from '../rule.js';
import { MAX_LISTED, type Finding } from '../types.js';

const WHY =
  'The NAT translates each of this host\'s connections to a NAT (IP, port) and keeps the mapping while the connection is open and, ' +
  'after it closes, for its own hold timer. Towards one destination (IP, port, protocol) every mapping needs a NAT port of its own, and a ' +
  'VM has only the ports its allocation gives it: when they are all held, the NAT drops new connections to that destination ' +
  '(Cloud NAT: OUT_OF_RESOURCES; Azure: failed SNAT connections), while the kernel still has thousands of ports.';

export const natPortsShort: FindingRule = {
  id: 'nat_ports_short',
  evaluate({ nat, input }) {
    const out: Finding[] = [];
    for (const { nat: n, destinations: ds } of nat) {
      if (n.scope !== 'host' || ds.length === 0) continue;
      const worst = ds[0]!.destination;
      const { fix, effect } = allocationFix(n, worst);
      const kernel = ds[0]!.rows[0]?.capacity ?? input.headroom.portRange.usable;
      const listed = ds.slice(0, MAX_LISTED).map(natEvidence);
      if (ds.length > MAX_LISTED) listed.push(`… and ${ds.length - MAX_LISTED} more`);
      out.push({
        id: 'nat_ports_short',
        severity: worstNatSeverity(ds),
        summary:
          `${natLabel(n)}: ${ds.length} destination${ds.length === 1 ? '' : 's'} short of NAT ports; ${worst.used} mappings towards ${worst.destination} ` +
          `(open, or closed and still held), the VM has ${worst.capacity} (the kernel allows ${kernel})`,
        evidence: [...listed, limitText(n), ...n.notes],
        why: WHY,
        fix: `${fix}\n# if ${worst.destination} is a cloud provider's API, a private endpoint takes its traffic off the NAT (nat_private_endpoint names it when nginx's config does)`,
        effect,
        destinations: natFindingDestinations(ds),
        upstreams: [],
      });
    }
    return out;
  },
};
