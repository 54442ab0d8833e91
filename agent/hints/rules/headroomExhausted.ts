/** headroom_exhausted: destinations with no free port; connect() fails with EADDRNOTAVAIL. */
import { levelFinding } from '../headroomLevel.js';
import type { FindingRule } from '../rule.js';

export const headroomExhausted: FindingRule = {
  id: 'headroom_exhausted',
  evaluate: (context) =>
    levelFinding(context, 'headroom_exhausted', 'critical', context.byLevel.exhausted, 'out of ephemeral ports: connect() fails with EADDRNOTAVAIL (99)'),
};
