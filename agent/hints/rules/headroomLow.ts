/** headroom_low: destinations below the warning headroom ratio. */
import { levelFinding } from '../headroomLevel.js';
import type { FindingRule } from '../rule.js';
import { pct } from '../types.js';

export const headroomLow: FindingRule = {
  id: 'headroom_low',
  evaluate: (context) =>
    levelFinding(context, 'headroom_low', 'warning', context.byLevel.warning, `below ${pct(context.input.thresholds.warningHeadroomRatio)} ephemeral-port headroom`),
};
