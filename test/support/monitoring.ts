/**
 * The Prometheus rules (rules/), the Grafana dashboards (grafana/) and the
 * runbook (docs/runbook.md) as data, for the tests that check them: typed
 * loaders, the PromQL of every panel and variable, and the metric names an
 * expression reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const RULES_FILE = `${REPO}rules/nginx-port-agent.rules.yml`;
export const RULE_TESTS_DIR = `${REPO}rules/tests/`;
export const DASHBOARDS_DIR = `${REPO}grafana/dashboards/`;
export const RUNBOOK = `${REPO}docs/runbook.md`;
export const RUNBOOK_BASE = 'https://github.com/nginx-port-agent/nginx-port-agent/blob/main/docs/runbook.md#';
/** The scrape job the rules (NginxPortAgentDown) and the documentation name. */
export const AGENT_JOB = 'nginx-port-agent';

// ------------------------------------------------------------------ rules

const ruleSchema = z.union([
  z.strictObject({ record: z.string(), expr: z.string(), labels: z.record(z.string(), z.string()).optional() }),
  z.strictObject({
    alert: z.string(),
    expr: z.string(),
    for: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
]);
const rulesFileSchema = z.strictObject({
  groups: z.array(z.strictObject({ name: z.string(), interval: z.string().optional(), rules: z.array(ruleSchema) })),
});
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type Rule = z.infer<typeof ruleSchema>;
export type AlertRule = Extract<Rule, { alert: string }>;
export type RecordingRule = Extract<Rule, { record: string }>;

export function loadRules(path = RULES_FILE): RulesFile {
  return rulesFileSchema.parse(parseYaml(readFileSync(path, 'utf8')));
}

export function alertRules(file: RulesFile): AlertRule[] {
  return file.groups.flatMap((g) => g.rules).filter((r): r is AlertRule => 'alert' in r);
}

export function recordingRules(file: RulesFile): RecordingRule[] {
  return file.groups.flatMap((g) => g.rules).filter((r): r is RecordingRule => 'record' in r);
}

export function alertNamed(file: RulesFile, name: string): AlertRule {
  const rule = alertRules(file).find((r) => r.alert === name);
  if (rule === undefined) throw new Error(`no alert ${name} in the rules`);
  return rule;
}

/** The number after `op` in an alert's expression, e.g. thresholdOf(rule, '<') for `x < 0.05`. */
export function thresholdOf(rule: AlertRule, op: '<' | '>' | '>=' | '<='): number {
  const escaped = op.replace(/[<>=]/g, (c) => `\\${c}`);
  const matches = [...rule.expr.matchAll(new RegExp(`(?<![<>=!])${escaped}(?!=)\\s*(-?[0-9.]+)`, 'g'))];
  if (matches.length !== 1) throw new Error(`${rule.alert}: expected one "${op} <number>" in ${rule.expr}, found ${matches.length}`);
  return Number(matches[0]![1]);
}

/** Prometheus durations as they appear in `for:` (e.g. 1m, 90s, 1h30m), in seconds. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+)(ms|s|m|h|d|w|y)/.exec(rest);
    if (m === null) throw new Error(`not a Prometheus duration: ${text}`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

const ruleTestSchema = z.object({
  rule_files: z.array(z.string()),
  evaluation_interval: z.string().optional(),
  tests: z.array(
    z.object({
      name: z.string().optional(),
      interval: z.string().optional(),
      input_series: z.array(z.object({ series: z.string(), values: z.string() })),
      alert_rule_test: z
        .array(z.object({ eval_time: z.string(), alertname: z.string(), exp_alerts: z.array(z.unknown()).nullable().optional() }))
        .optional(),
    }),
  ),
});
export type RuleTestFile = z.infer<typeof ruleTestSchema>;

export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((n) => n.endsWith('.test.yml'))
    .sort()
    .map((n) => `${RULE_TESTS_DIR}${n}`);
}

export function loadRuleTest(path: string): RuleTestFile {
  return ruleTestSchema.parse(parseYaml(readFileSync(path, 'utf8')));
}

// ------------------------------------------------------------- dashboards

const datasourceRef = z.object({ type: z.string(), uid: z.string() });
const targetSchema = z.object({
  refId: z.string(),
  expr: z.string(),
  datasource: datasourceRef,
  legendFormat: z.string().optional(),
  instant: z.boolean().optional(),
  range: z.boolean().optional(),
  format: z.string().optional(),
});
const thresholdsSchema = z.object({
  mode: z.literal('absolute'),
  steps: z.array(z.object({ color: z.string(), value: z.number().nullable() })),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;
const overrideSchema = z.object({
  matcher: z.object({ id: z.string(), options: z.unknown() }),
  properties: z.array(z.object({ id: z.string(), value: z.unknown() })),
});
const panelSchema = z.object({
  id: z.number(),
  type: z.string(),
  title: z.string(),
  description: z.string().optional(),
  gridPos: z.object({ h: z.number(), w: z.number(), x: z.number(), y: z.number() }),
  datasource: datasourceRef.optional(),
  targets: z.array(targetSchema).optional(),
  fieldConfig: z
    .object({
      defaults: z.object({ unit: z.string().optional(), thresholds: thresholdsSchema.optional(), min: z.number().optional(), max: z.number().optional() }),
      overrides: z.array(overrideSchema),
    })
    .optional(),
  panels: z.array(z.unknown()).optional(),
});
export type Panel = z.infer<typeof panelSchema>;
const variableSchema = z.object({
  type: z.string(),
  name: z.string(),
  query: z.union([z.string(), z.object({ query: z.string() })]),
  datasource: datasourceRef.optional(),
  multi: z.boolean().optional(),
  includeAll: z.boolean().optional(),
  allValue: z.string().optional(),
});
export type Variable = z.infer<typeof variableSchema>;
const dashboardSchema = z.object({
  uid: z.string(),
  title: z.string(),
  schemaVersion: z.number(),
  tags: z.array(z.string()),
  panels: z.array(panelSchema),
  templating: z.object({ list: z.array(variableSchema) }),
});
export type Dashboard = z.infer<typeof dashboardSchema> & { file: string };

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => ({ ...dashboardSchema.parse(JSON.parse(readFileSync(`${DASHBOARDS_DIR}${n}`, 'utf8'))), file: n }));
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

export function panelQueries(d: Dashboard): PanelQuery[] {
  return d.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ dashboard: d.uid, panel: p.title, refId: t.refId, expr: t.expr, instant: t.instant === true })),
  );
}

/** A query variable's `label_values(<selector>, <label>)`, split; null for other variable types. */
export function labelValuesQuery(v: Variable): { selector: string; label: string } | null {
  if (v.type !== 'query') return null;
  const q = typeof v.query === 'string' ? v.query : v.query.query;
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(q.trim());
  if (m === null) throw new Error(`variable ${v.name}: only label_values(selector, label) queries are expected, got ${q}`);
  return { selector: m[1]!.trim(), label: m[2]! };
}

/**
 * Replaces Grafana's variables in a query with values Prometheus accepts:
 * `$__rate_interval`, `$__interval`, `$__range` with durations, `$name` and
 * `${name}` with the given values (a regex for multi-value variables).
 */
export function substituteGrafanaVars(expr: string, vars: Readonly<Record<string, string>>, durations = { rateInterval: '1m', interval: '15s', range: '5m' }): string {
  const builtins: Record<string, string> = {
    __rate_interval: durations.rateInterval,
    __interval: durations.interval,
    __range: durations.range,
  };
  return expr.replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = builtins[name] ?? vars[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
}

// ------------------------------------------------------------------ PromQL

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/**
 * Metric names an expression selects. A small lexer, enough for the rules and
 * dashboards of this repository: strings, label matchers, label lists of
 * by/without/on/ignoring/group_*, range and subquery brackets and Grafana
 * variables are dropped; of what is left, an identifier not followed by `(`
 * and not a keyword is a metric name.
 */
export function metricNames(expr: string): Set<string> {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*/g, ' ')
    .replace(/#[^\n]*/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\boffset\s+-?[0-9a-z]+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const ident = m[2];
    if (ident === undefined || m[3] !== undefined || KEYWORDS.has(ident.toLowerCase())) continue;
    names.add(ident);
  }
  return names;
}

// ----------------------------------------------------------------- runbook

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens, -1, -2… for repeats. */
export function runbookAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/`/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

export function loadRunbook(): string {
  return readFileSync(RUNBOOK, 'utf8');
}
