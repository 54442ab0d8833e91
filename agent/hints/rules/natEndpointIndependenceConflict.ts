/**
 * nat_endpoint_independence_conflict: Cloud NAT with endpoint-independent
 * mapping pins a source IP and port to one NAT IP and port for every
 * destination. A new connection whose source port is pinned to a NAT port already
 * in use towards the same destination is dropped (ENDPOINT_INDEPENDENCE_CONFLICT),
 * before the VM's ports run out. How often is an estimate (the share of the
 * VM's NAT ports in use towards the destination, if pins spread evenly), so the
 * finding is informational; the measured headroom stays nat_ports_short's.
 */
import { natFindingDestinations, natLabel, rowsByDestination } from '../natContext.js';
import { eimFix } from '../natFix.js';
import type { FindingRule } from '../rule.js';
import { MAX_LISTED, pct, type Finding } from '../types.js';

/** From this estimated share of new connections dropped, the finding is worth reading. */
export const CONFLICT_RISK = 0.1;

export const natEndpointIndependenceConflict: FindingRule = {
  id: 'nat_endpoint_independence_conflict',
  evaluate({ input }) {
    const out: Finding[] = [];
    const rows = rowsByDestination(input);
    for (const n of input.nat ?? []) {
      if (!n.endpointIndependentMapping) continue;
      const ds = n.destinations.filter((d) => (d.endpointIndependenceConflictRisk ?? 0) >= CONFLICT_RISK);
      if (ds.length === 0) continue;
      const worst = ds[0]!;
      const { fix, effect } = eimFix(n, worst);
      out.push({
        id: 'nat_endpoint_independence_conflict',
        severity: 'info',
        summary: `${natLabel(n)}: endpoint-independent mapping; about ${pct(worst.endpointIndependenceConflictRisk ?? 0)} of new connections towards ${worst.destination} may be dropped as conflicts (an estimate)`,
        evidence: [
          ...ds.slice(0, MAX_LISTED).map((d) => `${d.destination}: ${d.used} of the VM's ${d.capacity} NAT ports in use towards it: a source port pinned to one of them conflicts (${pct(d.endpointIndependenceConflictRisk ?? 0)} if pins spread evenly)`),
          'Cloud NAT counts them in nat/dropped_sent_packets_count{reason="ENDPOINT_INDEPENDENCE_CONFLICT"} (https://docs.cloud.google.com/nat/docs/monitoring)',
        ],
        why:
          'With endpoint-independent mapping a source IP and port keep one NAT IP and port for every destination. Two source ports the VM ' +
          'uses may share a NAT port; when both connect to the same destination at once, the second 5-tuple collides and Cloud NAT drops it. ' +
          'Google: more ports per VM "decreases the probability" of that; without endpoint-independent mapping "the new connection from a given ' +
          'source IP address and port [may] use a different NAT source IP address and port" (https://docs.cloud.google.com/nat/docs/troubleshooting).',
        fix,
        effect,
        destinations: ds.flatMap((d) => natFindingDestinations([{ nat: n, destination: d, rows: rows.get(d.destination) ?? [], level: null, severity: 'info' }])),
        upstreams: [],
      });
    }
    return out;
  },
};
