/**
 * nat_gateway_share: a shared NAT gateway (AWS NAT Gateway, Azure NAT Gateway,
 * a custom fleet-scope NAT) whose per-destination limit this host alone takes a
 * notable share of. One host cannot judge the gateway: the finding says what
 * this host holds and leaves the sum to Prometheus; it is a warning only when
 * this host alone holds as much as the warning threshold leaves.
 */
import { limitText, natEvidence, natFindingDestinations, natLabel, worstNatSeverity } from '../natContext.js';
import { gatewayFix } from '../natFix.js';
import type { FindingRule } from '../rule.js';
import { MAX_LISTED, pct, type Finding } from '../types.js';

export const natGatewayShare: FindingRule = {
  id: 'nat_gateway_share',
  evaluate({ nat }) {
    const out: Finding[] = [];
    for (const { nat: n, destinations: ds } of nat) {
      if (n.scope !== 'fleet' || ds.length === 0) continue;
      const worst = ds[0]!.destination;
      const { fix, effect } = gatewayFix(n, worst);
      const listed = ds.slice(0, MAX_LISTED).map(natEvidence);
      if (ds.length > MAX_LISTED) listed.push(`… and ${ds.length - MAX_LISTED} more`);
      out.push({
        id: 'nat_gateway_share',
        severity: worstNatSeverity(ds),
        summary:
          `${natLabel(n)}: this host alone holds ${worst.used} of the ${worst.capacity} connections the gateway allows towards ${worst.destination} ` +
          `(${pct(worst.share)}); every host routed through it adds its own`,
        evidence: [
          ...listed,
          limitText(n),
          `the gateway's total is the sum over its hosts: Prometheus adds up nginx_port_nat_destination_used{nat="${n.name}"} (NginxPortNatGatewayHeadroomLow/Critical, docs/runbook.md)`,
          ...n.notes,
        ],
        why:
          'A shared NAT gateway gives every host of the subnets routed to it the same per-destination limit: each connection to one ' +
          'destination (IP, port, protocol) needs a NAT (IP, port) of its own, for as long as it is open and a while after it closes. ' +
          'What one host holds is a lower bound of the gateway\'s use; when the sum reaches the limit, the gateway drops new connections ' +
          '(AWS: ErrorPortAllocation; Azure: failed SNAT connections) for every host at once.',
        fix,
        effect,
        destinations: natFindingDestinations(ds),
        upstreams: [],
      });
    }
    return out;
  },
};
