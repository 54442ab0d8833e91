/**
 * conntrack_near_full: nf_conntrack_count is 80 % or more of nf_conntrack_max; a
 * full table drops new connections ("nf_conntrack: table full, dropping packet").
 */
import type { FindingRule } from '../rule.js';
import { pct } from '../types.js';

export const conntrackNearFull: FindingRule = {
  id: 'conntrack_near_full',
  evaluate({ input }) {
    const { conntrackCount: count, conntrackMax: max } = input.counters;
    if (count === null || max === null || max <= 0) return [];
    const ratio = count / max;
    if (ratio < 0.8) return [];
    return [
      {
        id: 'conntrack_near_full',
        severity: ratio >= 0.95 ? 'critical' : 'warning',
        summary: `conntrack table ${pct(ratio)} full: new connections are dropped when it fills`,
        evidence: [`nf_conntrack_count = ${count}`, `nf_conntrack_max = ${max}`],
        why:
          'Every tracked connection, TIME_WAIT included, takes a conntrack entry until its timeout; when the table is full the ' +
          'kernel drops new connections ("nf_conntrack: table full, dropping packet"), a failure that looks like a timeout, not EADDRNOTAVAIL.',
        fix: `# /etc/sysctl.d/60-conntrack.conf\nnet.netfilter.nf_conntrack_max = ${max * 2}\n# or exempt loopback/upstream traffic with a notrack rule in the raw table`,
        effect: `Table size ${max} → ${max * 2} entries (about 300 bytes of kernel memory each).`,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
