/**
 * The hint engine: (socket sample, sysctls, error-log window, nginx config model,
 * nginx version) → findings, most severe first. Pure.
 *
 * Each finding names its cause and carries the evidence, the mechanism, the
 * exact change and, where it can be computed, the effect of the change in
 * numbers. A rule whose premise cannot be checked (no config, unknown version)
 * says so in its evidence, or stays silent.
 */
import { errorLogFindings } from './errorLog.js';
import { genericHeadroomFix, kernelFindings, levelsOf } from './kernel.js';
import { nginxFindings } from './nginx.js';
import { DESTINATION_CAUSE_IDS, type Finding, type FindingId, type FindingInput } from './types.js';

export * from './types.js';

/** Causes first (nginx's config, then the kernel's), then the symptoms; nginx's own confirmation leads the symptoms. */
const CATEGORY: Record<FindingId, number> = {
  upstream_no_keepalive: 0,
  proxy_pass_no_pool: 0,
  keepalive_needs_http11: 0,
  keepalive_pool_churn: 0,
  established_exhaustion: 0,
  time_wait_draining: 0,
  fd_limit: 0,
  worker_connections_exhausted: 0,
  single_destination_ip: 1,
  port_range_narrow: 1,
  time_wait_reuse_off: 1,
  timestamps_off: 1,
  listener_in_range: 1,
  port_range_odd: 1,
  time_wait_overflow: 1,
  conntrack_near_full: 1,
  exhaustion_confirmed: 2,
  headroom_exhausted: 3,
  headroom_critical: 3,
  headroom_low: 3,
  connect_rate_near_limit: 3,
  exhaustion_recent: 3,
  upstream_no_live_servers: 3,
};
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

/** The finding a one-line verdict should lead with: a cause found in nginx's config, else the symptom, else the first. */
export function headline(findings: readonly Finding[], severity: Finding['severity']): Finding | undefined {
  const same = findings.filter((f) => f.severity === severity);
  return same.find((f) => CATEGORY[f.id] === 0) ?? same.find((f) => CATEGORY[f.id] >= 2) ?? same[0];
}

export function computeFindings(input: FindingInput): Finding[] {
  const byLevel = levelsOf(input);
  const findings = kernelFindings(input, byLevel);
  if (input.nginx !== undefined) findings.push(...nginxFindings(input.headroom.destinations, input.nginx, input.thresholds));
  const configNote = input.nginx === undefined ? 'nginx config not read' : input.nginx.config === null ? (input.nginx.configNote ?? 'nginx config not read') : null;
  if (input.errorLog !== undefined) {
    findings.push(
      ...errorLogFindings(input.errorLog, input.headroom, input.thresholds, input.nginx, (ds) => genericHeadroomFix(ds, input.settings, configNote)),
    );
  }

  // A symptom whose every destination has a named cause points at that cause instead of repeating a template.
  const causeOf = new Map<string, string[]>();
  for (const f of findings) {
    if (!(DESTINATION_CAUSE_IDS as readonly FindingId[]).includes(f.id)) continue;
    for (const d of f.destinations) causeOf.set(d, [...(causeOf.get(d) ?? []), `${f.id}${f.upstreams.length > 0 ? ` (${f.upstreams.join(', ')})` : ''}`]);
  }
  for (const f of findings) {
    if (CATEGORY[f.id] < 2 || f.destinations.length === 0 || !f.destinations.every((d) => causeOf.has(d))) continue;
    const causes = [...new Set(f.destinations.flatMap((d) => causeOf.get(d)!))];
    const changes = causes.filter((c) => !c.startsWith('time_wait_draining'));
    f.fix =
      changes.length > 0
        ? `See ${changes.join(', ')} above: that change removes the cause.`
        : `See ${causes.join(', ')} above: nothing to change now, the ports free by themselves within 60 s.`;
  }

  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_RANK[a.f.severity] - SEVERITY_RANK[b.f.severity] || CATEGORY[a.f.id] - CATEGORY[b.f.id] || a.i - b.i)
    .map(({ f }) => f);
}

export type Status = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Monitoring-plugin exit codes. */
export const EXIT_CODES: Record<Status, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export function statusOf(findings: readonly Finding[], modelAvailable: boolean): Status {
  if (!modelAvailable) return 'UNKNOWN';
  if (findings.some((f) => f.severity === 'critical')) return 'CRITICAL';
  if (findings.some((f) => f.severity === 'warning')) return 'WARNING';
  return 'OK';
}
