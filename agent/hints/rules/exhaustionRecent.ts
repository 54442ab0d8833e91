/** exhaustion_recent: nginx logged EADDRNOTAVAIL towards destinations that have recovered since. */
import { EADDRNOTAVAIL_WHY, exhaustionEvidence } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';
import { MAX_LISTED } from '../types.js';

export const exhaustionRecent: FindingRule = {
  id: 'exhaustion_recent',
  evaluate(context) {
    const exhaustion = exhaustionEvidence(context);
    if (exhaustion === null || exhaustion.recovered.length === 0) return [];
    return [
      {
        id: 'exhaustion_recent',
        severity: 'warning',
        summary: `nginx ran out of ephemeral ports ${exhaustion.window}; headroom has recovered since`,
        evidence: [...exhaustion.recovered.slice(0, MAX_LISTED), `sample: ${exhaustion.kind.sample}`],
        why: EADDRNOTAVAIL_WHY,
        fix: 'The load that exhausted the range may return: apply the fixes the other findings give (upstream keepalive, tcp_tw_reuse, a wider range) before it does.',
        effect: null,
        destinations: exhaustion.recoveredDestinations,
        upstreams: exhaustion.upstreams,
      },
    ];
  },
};
