/** headroom_critical: destinations below the critical headroom ratio. */
import { levelFinding } from '../headroomLevel.js';
import type { FindingRule } from '../rule.js';
import { pct } from '../types.js';

export const headroomCritical: FindingRule = {
  id: 'headroom_critical',
  evaluate: (context) =>
    levelFinding(context, 'headroom_critical', 'critical', context.byLevel.critical, `below ${pct(context.input.thresholds.criticalHeadroomRatio)} ephemeral-port headroom`),
};
