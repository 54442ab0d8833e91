/**
 * connect_rate_near_limit: a destination opens connections at 80 % or more of
 * the rate its port range sustains (capacity ÷ 60 s TIME_WAIT, or ÷ the reuse
 * delay where tcp_twsk_unique() may reuse).
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import type { FindingRule } from '../rule.js';
import { destinationName, MAX_LISTED, perSecond, rateText } from '../types.js';

export const connectRateNearLimit: FindingRule = {
  id: 'connect_rate_near_limit',
  evaluate(context) {
    const settings = context.input.settings;
    const fast = context.input.headroom.destinations.filter(
      (d) => d.headroom > 0 && d.maxSustainableConnectRate > 0 && d.connectRatePerSecond >= 0.8 * d.maxSustainableConnectRate,
    );
    if (fast.length === 0) return [];
    return [
      {
        id: 'connect_rate_near_limit',
        severity: 'warning',
        summary: `${fast.length} destination${fast.length > 1 ? 's are' : ' is'} opening connections at 80 % or more of the rate the port range sustains`,
        evidence: fast
          .slice(0, MAX_LISTED)
          .map(
            (d) =>
              `${destinationName(d)}: ${rateText(d.connectRate)} connections/s, sustainable ${perSecond(d.maxSustainableConnectRate)}/s ` +
              `(${d.capacity} ports ÷ ${d.timeWaitReuse ? `${settings.tcpTwReuseDelayMs / 1000} s reuse delay` : `${TIME_WAIT_SECONDS} s TIME_WAIT`}); ` +
              `measured from ${d.connectRate.why}`,
          ),
        why:
          'Each connection the client side closes leaves a TIME_WAIT socket holding its 4-tuple for 60 s, so one destination ' +
          'sustains at most usable ports ÷ 60 s new connections per second (÷ tcp_tw_reuse_delay when reuse applies). ' +
          'The rate is measured from the ages of TIME_WAIT sockets (count ÷ the span they cover), or from Tcp ActiveOpens where ' +
          'reuse or tcp_max_tw_buckets hides them; "at least" marks a lower bound.',
        fix: context.headroomFix(fast),
        effect: null,
        destinations: fast.map(destinationName),
        upstreams: [],
      },
    ];
  },
};
