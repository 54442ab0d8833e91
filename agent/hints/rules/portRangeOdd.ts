/**
 * port_range_odd: an odd-sized ip_local_port_range; __inet_hash_connect() rounds
 * the scan down to an even count, so the last free port may be missed.
 */
import type { FindingRule } from '../rule.js';

export const portRangeOdd: FindingRule = {
  id: 'port_range_odd',
  evaluate({ input }) {
    const range = input.headroom.portRange;
    if (range.size <= 1 || range.size % 2 === 0) return [];
    return [
      {
        id: 'port_range_odd',
        severity: 'info',
        summary: 'ip_local_port_range has an odd number of ports: each connect() scan covers one port fewer',
        evidence: [`net.ipv4.ip_local_port_range = ${range.low} ${range.high} (${range.size} ports)`],
        why: '__inet_hash_connect() rounds the scan down to an even count, so the last free port may be missed (headroom may read one high).',
        fix: `sysctl -w net.ipv4.ip_local_port_range="${range.low} ${range.high + 1 <= 65535 ? range.high + 1 : range.high - 1}"`,
        effect: null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
