/**
 * time_wait_reuse_off: TIME_WAIT holds most of a troubled destination's ports
 * and tcp_twsk_unique() (net/ipv4/tcp_ipv4.c) may not hand them to new
 * connections: tcp_tw_reuse is 0, or 2 for a destination that is not loopback.
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import type { FindingRule } from '../rule.js';
import { destinationName, MAX_LISTED, perSecond } from '../types.js';

export const timeWaitReuseOff: FindingRule = {
  id: 'time_wait_reuse_off',
  evaluate({ input, troubled }) {
    const settings = input.settings;
    const timeWaitBound = troubled.filter((d) => !d.timeWaitReuse && d.timeWait - d.timeWaitReusable >= d.used / 2);
    if (timeWaitBound.length === 0 || settings.tcpTimestamps === 0) return [];
    const worst = timeWaitBound[0]!;
    return [
      {
        id: 'time_wait_reuse_off',
        severity: 'warning',
        summary: 'TIME_WAIT sockets hold most used ports and the kernel may not reuse them for these destinations',
        evidence: [
          `net.ipv4.tcp_tw_reuse = ${settings.tcpTwReuse}` +
            (settings.tcpTwReuse === 2 ? ' (reuse for loopback connections only; these destinations are not loopback)' : ' (off)'),
          ...timeWaitBound.slice(0, MAX_LISTED).map((d) => `${destinationName(d)}: ${d.timeWait} of ${d.used} used ports are TIME_WAIT`),
        ],
        why:
          'tcp_twsk_unique() lets a new outgoing connection take over a TIME_WAIT 4-tuple only with tcp_tw_reuse = 1 (or 2 over ' +
          'loopback), TCP timestamps on, and the TIME_WAIT socket older than tcp_tw_reuse_delay. PAWS (RFC 7323) makes that safe.',
        fix: '# /etc/sysctl.d/60-ephemeral-ports.conf (outgoing connections only)\nnet.ipv4.tcp_tw_reuse = 1\n# apply now: sysctl --system',
        effect:
          `TIME_WAIT 4-tuples free after ${settings.tcpTwReuseDelayMs} ms instead of 60 s: sustainable new connections/s to ` +
          `${destinationName(worst)} ${perSecond(worst.capacity / TIME_WAIT_SECONDS)} → ${perSecond(worst.capacity / (settings.tcpTwReuseDelayMs / 1000))}.`,
        destinations: timeWaitBound.map(destinationName),
        upstreams: [],
      },
    ];
  },
};
