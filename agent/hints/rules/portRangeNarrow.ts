/**
 * port_range_narrow: destinations are short of ports and ip_local_port_range is
 * narrower than 1024-65535. Every destination gets as many 4-tuples as the range
 * has usable ports (ip-sysctl.rst, ip_local_port_range).
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import { DEFAULT_RANGE_SIZE, reservedPortList, WIDE_RANGE, WIDE_RANGE_SIZE } from '../genericFix.js';
import type { FindingRule } from '../rule.js';
import { destinationName, perSecond } from '../types.js';

export const portRangeNarrow: FindingRule = {
  id: 'port_range_narrow',
  evaluate({ input, troubled }) {
    const range = input.headroom.portRange;
    if (troubled.length === 0 || range.size >= WIDE_RANGE_SIZE) return [];
    const toReserve = input.headroom.listenerPorts.filter((p) => p >= WIDE_RANGE.low && p <= WIDE_RANGE.high).map(String);
    const reserveList = [...new Set([...reservedPortList(input.sysctls.ipLocalReservedPorts), ...toReserve])].join(',');
    const newUsable = WIDE_RANGE_SIZE - toReserve.length - range.reserved;
    return [
      {
        id: 'port_range_narrow',
        severity: 'warning',
        summary:
          `ip_local_port_range gives ${range.usable} usable ports per destination` + (range.size < DEFAULT_RANGE_SIZE ? ', fewer than the kernel default' : ''),
        evidence: [
          `net.ipv4.ip_local_port_range = ${range.low} ${range.high} (${range.size} ports; ${range.reserved} reserved, ${range.listenersInRange} held by listeners)`,
          `${troubled.length} destination(s) at or below the warning threshold`,
        ],
        why: 'Every destination gets as many 4-tuples as the range has usable ports; the default 32768-60999 is 28 232, and 1024-65535 is 64 512.',
        fix: [
          "# /etc/sysctl.d/60-ephemeral-ports.conf (per network namespace: in Kubernetes, the pod's securityContext.sysctls)",
          ...(reserveList !== '' ? [`net.ipv4.ip_local_reserved_ports = ${reserveList}   # listening ports stay out of the range`] : []),
          `net.ipv4.ip_local_port_range = ${WIDE_RANGE.low} ${WIDE_RANGE.high}`,
          '# apply now: sysctl --system',
        ].join('\n'),
        effect:
          `Usable ports per destination: ${range.usable} → about ${newUsable}; sustainable new connections/s per destination without reuse: ` +
          `${perSecond(range.usable / TIME_WAIT_SECONDS)} → ${perSecond(newUsable / TIME_WAIT_SECONDS)}.`,
        destinations: troubled.map(destinationName),
        upstreams: [],
      },
    ];
  },
};
