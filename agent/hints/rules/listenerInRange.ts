/**
 * listener_in_range: a listening port inside ip_local_port_range that is not in
 * ip_local_reserved_ports. __inet_hash_connect() skips a port bound by bind()
 * for every destination, and an outgoing connection holding it keeps a
 * restarting service from binding it.
 */
import { reservedPortList } from '../genericFix.js';
import type { FindingRule } from '../rule.js';

export const listenerInRange: FindingRule = {
  id: 'listener_in_range',
  evaluate({ input }) {
    const range = input.headroom.portRange;
    const reserved = input.sysctls.ipLocalReservedPorts ?? [];
    const listeners = input.headroom.listenerPorts.filter((p) => p >= range.low && p <= range.high && !reserved.some((s) => p >= s.from && p <= s.to));
    if (listeners.length === 0) return [];
    const reservedNow = reservedPortList(input.sysctls.ipLocalReservedPorts);
    const reserveList = [...new Set([...reservedNow, ...listeners.map(String)])].join(',');
    return [
      {
        id: 'listener_in_range',
        severity: 'info',
        summary: `${listeners.length} listening port${listeners.length > 1 ? 's are' : ' is'} inside ip_local_port_range and not reserved`,
        evidence: [
          `listening ports ${listeners.slice(0, 20).join(', ')}${listeners.length > 20 ? ', …' : ''} inside ${range.low}-${range.high}`,
          `net.ipv4.ip_local_reserved_ports = ${reservedNow.join(',') || '(empty)'}`,
        ],
        why:
          'A port bound by a listener is skipped for every destination, and while an outgoing connection happens to hold it a ' +
          'restarting service cannot bind it (EADDRINUSE). ip_local_reserved_ports keeps connect() away from it.',
        fix: `# /etc/sysctl.d/60-ephemeral-ports.conf\nnet.ipv4.ip_local_reserved_ports = ${reserveList}\n# apply now: sysctl --system`,
        effect: null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
