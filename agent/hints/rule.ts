/**
 * The contract every finding rule meets, as node_exporter's collectors meet
 * theirs: one small interface, one file per rule under rules/, registered in one
 * table (rules/index.ts). A rule reads the shared context and returns the
 * findings of its id (none when its premise does not hold). Pure.
 */
import type { FindingId } from './catalogue.js';
import type { RuleContext } from './context.js';
import type { Finding } from './types.js';

export interface FindingRule {
  readonly id: FindingId;
  evaluate(context: RuleContext): Finding[];
}
