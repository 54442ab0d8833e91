/**
 * The hint engine: (socket sample, sysctls, error-log window, nginx config model,
 * nginx version, host facts) → findings, most severe first. Pure.
 *
 * Each finding names its cause and carries the evidence, the mechanism, the
 * exact change and, where it can be computed, the effect of the change in
 * numbers. A rule whose premise cannot be checked (no config, unknown version)
 * says so in its evidence, or stays silent.
 */
import { CATEGORY_ORDER, FINDINGS, isObserved } from './catalogue.js';
import { buildRuleContext } from './context.js';
import { RULES } from './rules/index.js';
import type { Finding, FindingInput, Severity } from './types.js';

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 0, warning: 1, info: 2 };

const categoryRank = (f: Finding): number => CATEGORY_ORDER[FINDINGS[f.id].category];
const observed = (f: Finding): boolean => isObserved(FINDINGS[f.id].category);

/** The finding a one-line verdict should lead with: a cause found in nginx's config, else nginx's confirmation or a symptom, else the first. */
export function headline(findings: readonly Finding[], severity: Severity): Finding | undefined {
  const same = findings.filter((f) => f.severity === severity);
  return same.find((f) => FINDINGS[f.id].category === 'nginx_cause') ?? same.find(observed) ?? same[0];
}

/** A symptom whose every destination has a named cause points at that cause instead of repeating a template. */
function pointSymptomsAtCauses(findings: Finding[]): void {
  const causeOf = new Map<string, string[]>();
  for (const f of findings) {
    if (!FINDINGS[f.id].destinationCause) continue;
    for (const d of f.destinations) causeOf.set(d, [...(causeOf.get(d) ?? []), `${f.id}${f.upstreams.length > 0 ? ` (${f.upstreams.join(', ')})` : ''}`]);
  }
  for (const f of findings) {
    if (!observed(f) || f.destinations.length === 0 || !f.destinations.every((d) => causeOf.has(d))) continue;
    const causes = [...new Set(f.destinations.flatMap((d) => causeOf.get(d)!))];
    const changes = causes.filter((c) => !c.startsWith('time_wait_draining'));
    f.fix =
      changes.length > 0
        ? `See ${changes.join(', ')} above: that change removes the cause.`
        : `See ${causes.join(', ')} above: nothing to change now, the ports free by themselves within 60 s.`;
  }
}

export function computeFindings(input: FindingInput): Finding[] {
  const context = buildRuleContext(input);
  const findings = RULES.flatMap((rule) => rule.evaluate(context));
  pointSymptomsAtCauses(findings);
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => SEVERITY_RANK[a.finding.severity] - SEVERITY_RANK[b.finding.severity] || categoryRank(a.finding) - categoryRank(b.finding) || a.index - b.index)
    .map(({ finding }) => finding);
}

export type Status = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Monitoring-plugin exit codes. */
export const EXIT_CODES: Readonly<Record<Status, number>> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export function statusOf(findings: readonly Finding[], modelAvailable: boolean): Status {
  if (!modelAvailable) return 'UNKNOWN';
  if (findings.some((f) => f.severity === 'critical')) return 'CRITICAL';
  if (findings.some((f) => f.severity === 'warning')) return 'WARNING';
  return 'OK';
}
