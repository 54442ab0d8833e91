/**
 * single_destination_ip: a troubled group sends all its traffic to one address.
 * Exhaustion is per (source IP, destination IP, destination port), so each more
 * upstream address gets a port range of its own.
 */
import type { DestinationContext } from '../context.js';
import type { FindingRule } from '../rule.js';
import { destinationName, type Finding } from '../types.js';

export const singleDestinationIp: FindingRule = {
  id: 'single_destination_ip',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const single = new Map<string, DestinationContext[]>();
    const troubledGroups: [string, DestinationContext[]][] = [
      ...nginx.churningGroups.map((g): [string, DestinationContext[]] => [g.name, g.destinations]),
      ...[...nginx.heldByGroup.values()].flatMap((byGroup) => [...byGroup]),
    ];
    for (const [name, groupDestinations] of troubledGroups) {
      const group = nginx.config.upstreams.find((u) => u.name === name);
      if (group === undefined) continue;
      const primaries = group.servers.filter((s) => !s.backup && !s.down);
      if (primaries.length !== 1) continue;
      // A group can be here more than once (TIME_WAIT-bound, and held by a state): each destination once.
      const known = single.get(name) ?? [];
      const fresh = groupDestinations.filter((c) => c.level !== 'ok' && !known.some((k) => k.destination === c.destination));
      if (known.length + fresh.length > 0) single.set(name, [...known, ...fresh]);
    }
    const out: Finding[] = [];
    for (const [name, groupDestinations] of single) {
      const worst = groupDestinations[0]!.destination;
      out.push({
        id: 'single_destination_ip',
        severity: 'info',
        summary: `upstream ${name} sends all its traffic to one address (${worst.destination}), so it has one port range`,
        evidence: [`upstream ${name}: 1 primary server; ${worst.headroom}/${worst.capacity} ports free towards ${worst.destination}`],
        why: 'Exhaustion is per (source IP, destination IP, destination port): each more upstream address gets a port range of its own.',
        fix: `# the upstream ${name} block: add servers (more IPs, or more ports on the same host)\n    server <second-ip>:${worst.destinationPort};`,
        effect: `Ports towards the group: ${worst.capacity} → ${worst.capacity * 2} with a second server.`,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: [name],
      });
    }
    return out;
  },
};
