/** exhaustion_confirmed: nginx logged EADDRNOTAVAIL towards destinations that are still short of ports. */
import { EADDRNOTAVAIL_WHY, exhaustionEvidence } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';
import { destinationName, MAX_LISTED } from '../types.js';

export const exhaustionConfirmed: FindingRule = {
  id: 'exhaustion_confirmed',
  evaluate(context) {
    const e = exhaustionEvidence(context);
    if (e === null || e.confirmed.length === 0) return [];
    return [
      {
        id: 'exhaustion_confirmed',
        severity: 'critical',
        summary: `exhaustion confirmed by nginx: connect() failed with EADDRNOTAVAIL ${e.window} and headroom is low now`,
        evidence: [...e.confirmed.slice(0, MAX_LISTED), `sample: ${e.kind.sample}`],
        why: EADDRNOTAVAIL_WHY,
        fix: context.headroomFix(e.confirmedDestinations),
        effect: null,
        destinations: e.confirmedDestinations.map(destinationName),
        upstreams: e.upstreams,
      },
    ];
  },
};
