/**
 * timestamps_off: tcp_tw_reuse is set but TCP timestamps are off, so
 * tcp_twsk_unique() never reuses a TIME_WAIT 4-tuple (PAWS needs them).
 */
import type { FindingRule } from '../rule.js';

export const timestampsOff: FindingRule = {
  id: 'timestamps_off',
  evaluate({ input, troubled }) {
    const { settings, headroom } = input;
    if (settings.tcpTimestamps !== 0 || settings.tcpTwReuse === 0 || headroom.timeWait === 0) return [];
    return [
      {
        id: 'timestamps_off',
        severity: troubled.length > 0 ? 'warning' : 'info',
        summary: 'tcp_tw_reuse is set but TCP timestamps are off, so TIME_WAIT 4-tuples are never reused',
        evidence: [`net.ipv4.tcp_tw_reuse = ${settings.tcpTwReuse}`, 'net.ipv4.tcp_timestamps = 0', `${headroom.timeWait} TIME_WAIT sockets host-wide`],
        why: 'tcp_twsk_unique() reuses a TIME_WAIT 4-tuple only when the old connection carried TCP timestamps (PAWS protects the new one).',
        fix: '# /etc/sysctl.d/60-ephemeral-ports.conf\nnet.ipv4.tcp_timestamps = 1\n# apply now: sysctl --system',
        effect: null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
