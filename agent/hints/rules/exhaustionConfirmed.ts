/** exhaustion_confirmed: nginx logged EADDRNOTAVAIL towards destinations that are still short of ports. */
import { EADDRNOTAVAIL_WHY, exhaustionEvidence } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';
import { destinationName, MAX_LISTED } from '../types.js';

export const exhaustionConfirmed: FindingRule = {
  id: 'exhaustion_confirmed',
  evaluate(context) {
    const exhaustion = exhaustionEvidence(context);
    if (exhaustion === null || exhaustion.confirmed.length === 0) return [];
    return [
      {
        id: 'exhaustion_confirmed',
        severity: 'critical',
        summary: `exhaustion confirmed by nginx: connect() failed with EADDRNOTAVAIL ${exhaustion.window} and headroom is low now`,
        evidence: [...exhaustion.confirmed.slice(0, MAX_LISTED), `sample: ${exhaustion.kind.sample}`],
        why: EADDRNOTAVAIL_WHY,
        fix: context.headroomFix(exhaustion.confirmedDestinations),
        effect: null,
        destinations: exhaustion.confirmedDestinations.map(destinationName),
        upstreams: exhaustion.upstreams,
      },
    ];
  },
};
