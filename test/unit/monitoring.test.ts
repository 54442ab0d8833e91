/**
 * The alert rules, the Grafana dashboards and the runbook against each other and
 * against the agent's code: every metric they read is one the agent exports,
 * thresholds agree with the agent's defaults, every alert links to a runbook
 * section that exists and has promtool tests on both sides of its threshold,
 * and the dashboards have the structure Grafana and the operator expect.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../agent/config.js';
import { ErrorLogCounts } from '../../agent/errorlog/model/counts.js';
import { ERROR_LOG_METRIC, registerErrorLogMetrics } from '../../agent/export/errorLogMetrics.js';
import { AgentMetrics, METRIC } from '../../agent/export/metrics.js';
import {
  AGENT_JOB,
  REPO,
  RUNBOOK_BASE,
  alertNamed,
  alertRules,
  durationSeconds,
  labelValuesQuery,
  loadDashboards,
  loadRules,
  loadRuleTest,
  loadRunbook,
  metricNames,
  panelQueries,
  recordingRules,
  ruleTestFiles,
  runbookAnchors,
  thresholdOf,
  type Dashboard,
  type Panel,
  type Thresholds,
} from '../support/monitoring.js';

const rules = loadRules();
const alerts = alertRules(rules);
const dashboards = loadDashboards();
const recorded = new Set(recordingRules(rules).map((r) => r.record));

/** Every metric name the running daemon's registry serves, built the way agent/commands/run.ts builds it. */
async function agentMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  new AgentMetrics(registry, { maxDestinations: 100, defaultMetrics: true, version: '0.0.0-test', nat: true });
  registerErrorLogMetrics(registry, new ErrorLogCounts(100), () => ({ tooLong: 0, rotations: { rename: 0, copytruncate: 0, recreate: 0 } }), pino({ level: 'silent' }));
  return new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
}

/** The names the agent's code declares as constants. */
const CONSTANT_NAMES = new Set<string>([...Object.values(METRIC), ...Object.values(ERROR_LOG_METRIC)]);

/** Metric names quoted in annotation templates (`query (print "nginx_port_…" …)`). */
function templateMetricNames(text: string): string[] {
  return [...text.matchAll(/"[^"]*?\b(nginx_port_[a-z0-9_]+)/g)].map((m) => m[1]!);
}

const EXPECTED_HEADROOM_THRESHOLDS = (): Thresholds => ({
  mode: 'absolute',
  steps: [
    { color: 'red', value: null },
    { color: 'orange', value: thresholdOf(alertNamed(rules, 'NginxPortHeadroomCritical'), '<') },
    { color: 'green', value: thresholdOf(alertNamed(rules, 'NginxPortHeadroomLow'), '<') },
  ],
});

function isThresholds(v: unknown): v is Thresholds {
  return typeof v === 'object' && v !== null && 'steps' in v && Array.isArray(v.steps);
}

/** A panel's unit and thresholds, and those of each override that sets them. */
function fieldSettings(p: Panel): { unit: string | undefined; thresholds: Thresholds | undefined; from: string }[] {
  const out = [{ unit: p.fieldConfig?.defaults.unit, thresholds: p.fieldConfig?.defaults.thresholds, from: 'defaults' }];
  for (const o of p.fieldConfig?.overrides ?? []) {
    const unit = o.properties.find((x) => x.id === 'unit')?.value;
    const thresholds = o.properties.find((x) => x.id === 'thresholds')?.value;
    out.push({
      unit: typeof unit === 'string' ? unit : undefined,
      thresholds: isThresholds(thresholds) ? thresholds : undefined,
      from: `override ${JSON.stringify(o.matcher.options)}`,
    });
  }
  return out;
}

const dataPanels = (d: Dashboard): Panel[] => d.panels.filter((p) => p.type !== 'row');

/** An alert on a series summed across instances by a recording rule (nat_destination:…). */
const acrossInstances = (a: { expr: string }): boolean => [...metricNames(a.expr)].some((n) => n.startsWith('nat_destination:'));
const exprsOf = (p: Panel): string[] => (p.targets ?? []).map((t) => t.expr);

describe('metricNames (the PromQL lexer the checks below rely on)', () => {
  it.each([
    ['nginx_port_destination_headroom_ratio < 0.05', ['nginx_port_destination_headroom_ratio']],
    ['rate(nginx_port_error_log_events_total{kind="eaddrnotavail",destination=~"a|b"}[2m]) > 0', ['nginx_port_error_log_events_total']],
    ['sum by (kind, destination) (rate(x_total{job="$job"}[$__rate_interval])) > 0', ['x_total']],
    ['a / on (instance) group_left (version) b', ['a', 'b']],
    ['count(up{job="j"} == 0) or vector(0)', ['up']],
    ['predict_linear(m[30m], 1800) < 0\nand m < 0.5', ['m']],
    ['time() - nginx_port_last_sample_timestamp_seconds > 1e3', ['nginx_port_last_sample_timestamp_seconds']],
    ['kind_destination:nginx_port_error_log_events:rate2m{kind="emfile"} offset 5m', ['kind_destination:nginx_port_error_log_events:rate2m']],
    ['label_values(nginx_port_build_info{job="$job"}, instance)', ['nginx_port_build_info', 'instance']],
  ])('%s', (expr, names) => {
    expect([...metricNames(expr)].sort()).toEqual([...names].sort());
  });
});

describe('alert rules', () => {
  it('have the alerts the product promises', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'NginxFileDescriptorsExhausted',
        'NginxPortAgentDown',
        'NginxPortAgentSampleStale',
        'NginxPortAgentSourceDown',
        'NginxPortConnectRateHigh',
        'NginxPortConntrackFull',
        'NginxPortConntrackNearFull',
        'NginxPortEaddrnotavail',
        'NginxPortExhaustionPredicted',
        'NginxPortHeadroomCritical',
        'NginxPortHeadroomLow',
        'NginxPortNatGatewayHeadroomCritical',
        'NginxPortNatGatewayHeadroomLow',
        'NginxPortNatHeadroomCritical',
        'NginxPortNatHeadroomLow',
        'NginxUpstreamConnectFailures',
        'NginxWorkerConnectionsExhausted',
      ].sort(),
    );
  });

  it('leave the evaluation interval to Prometheus (no group sets one)', () => {
    for (const g of rules.groups) expect(g.interval, g.name).toBeUndefined();
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s: severity, annotations that show the values, a for: that avoids flapping', (_name, a) => {
    expect(['warning', 'critical']).toContain(a.labels?.['severity']);
    const ann = a.annotations ?? {};
    expect(Object.keys(ann).sort()).toEqual(['description', 'runbook_url', 'summary']);
    const text = `${ann['summary']} ${ann['description']}`;
    // An alert on a sum across instances (a shared NAT gateway) has no instance: it names the gateway and lists the hosts instead.
    if (acrossInstances(a)) {
      expect(text).toContain('$labels.nat');
      expect(text).toContain('.Labels.instance');
    } else {
      expect(text).toContain('$labels.instance');
    }
    // Every alert shows its value, but those on a state that is always 0 when they fire (up, source_up).
    if (!/== 0$/.test(a.expr.trim())) expect(text).toContain('$value');
    // Alerts on per-destination or per-kind series name the destination.
    if ([...metricNames(a.expr)].some((n) => /destination|error_log_events/.test(n))) expect(text).toContain('$labels.destination');
    expect(a.for, 'an alert without for: fires on a single evaluation').toBeDefined();
    const forSeconds = durationSeconds(a.for ?? '0s');
    expect(forSeconds).toBeGreaterThanOrEqual(60);
    expect(forSeconds).toBeLessThanOrEqual(a.labels?.['severity'] === 'critical' ? 120 : 600);
  });

  it('use the agent\'s default headroom thresholds, as ratios', () => {
    expect(thresholdOf(alertNamed(rules, 'NginxPortHeadroomLow'), '<')).toBe(DEFAULTS.warningHeadroomRatio);
    expect(thresholdOf(alertNamed(rules, 'NginxPortHeadroomCritical'), '<')).toBe(DEFAULTS.criticalHeadroomRatio);
    expect(thresholdOf(alertNamed(rules, 'NginxPortConnectRateHigh'), '>')).toBe(0.5);
    // Behind a NAT: the VM's own allocation at the same ratios; a shared gateway's summed share at their complements.
    expect(thresholdOf(alertNamed(rules, 'NginxPortNatHeadroomLow'), '<')).toBe(DEFAULTS.warningHeadroomRatio);
    expect(thresholdOf(alertNamed(rules, 'NginxPortNatHeadroomCritical'), '<')).toBe(DEFAULTS.criticalHeadroomRatio);
    expect(thresholdOf(alertNamed(rules, 'NginxPortNatGatewayHeadroomLow'), '>')).toBeCloseTo(1 - DEFAULTS.warningHeadroomRatio, 9);
    expect(thresholdOf(alertNamed(rules, 'NginxPortNatGatewayHeadroomCritical'), '>')).toBeCloseTo(1 - DEFAULTS.criticalHeadroomRatio, 9);
    for (const name of ['NginxPortNatHeadroomLow', 'NginxPortNatHeadroomCritical']) expect(alertNamed(rules, name).for).toBe(alertNamed(rules, name.replace('Nat', '')).for);
    for (const name of ['NginxPortNatGatewayHeadroomLow', 'NginxPortNatGatewayHeadroomCritical']) {
      expect(alertNamed(rules, name).for).toBe(alertNamed(rules, name.replace('NatGateway', '')).for);
    }
    // Socket counts never appear as thresholds: every per-destination comparison is on a ratio.
    for (const a of alerts) {
      for (const name of metricNames(a.expr)) {
        if (/^nginx_port_destination_(used|headroom|capacity|time_wait|established)$/.test(name)) throw new Error(`${a.alert} compares a socket count: ${a.expr}`);
      }
    }
  });

  it('select the scrape job the documentation names', () => {
    expect(alertNamed(rules, 'NginxPortAgentDown').expr).toBe(`up{job="${AGENT_JOB}"} == 0`);
    expect(readFileSync(`${REPO}README.md`, 'utf8').includes(`job_name: ${AGENT_JOB}`), 'README: a scrape config example with this job name').toBe(true);
  });

  it('link each alert to a runbook section with its name, and every anchor exists', () => {
    const runbook = loadRunbook();
    const anchors = runbookAnchors(runbook);
    for (const a of alerts) {
      const url = a.annotations?.['runbook_url'] ?? '';
      expect(url.startsWith(RUNBOOK_BASE), url).toBe(true);
      const anchor = url.slice(RUNBOOK_BASE.length);
      expect(anchors.has(anchor), `${a.alert}: no heading for #${anchor} in docs/runbook.md`).toBe(true);
      expect(anchor).toBe(a.alert.toLowerCase());
    }
    // The runbook's own links between sections resolve too.
    for (const m of runbook.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors.has(m[1]!), `#${m[1]}`).toBe(true);
  });

  it('record only what some alert reads, under level:metric:operation names', () => {
    const read = new Set(alerts.flatMap((a) => [...metricNames(a.expr)]));
    for (const r of recordingRules(rules)) {
      expect(r.record).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
      expect(read.has(r.record), `${r.record} is recorded but no alert reads it`).toBe(true);
    }
  });

  it('have promtool tests on both sides of every alert, and a healthy host that raises none', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    let healthy = new Set<string>();
    for (const path of ruleTestFiles()) {
      const file = loadRuleTest(path);
      expect(file.rule_files).toEqual(['../nginx-port-agent.rules.yml']);
      const checks = file.tests.flatMap((t) => t.alert_rule_test ?? []);
      if (path.endsWith('/healthy.test.yml')) {
        healthy = new Set(checks.map((c) => c.alertname));
        for (const c of checks) expect(c.exp_alerts ?? [], `${c.alertname} at ${c.eval_time}`).toEqual([]);
        continue;
      }
      for (const c of checks) ((c.exp_alerts ?? []).length > 0 ? firing : quiet).add(c.alertname);
    }
    for (const a of alerts) {
      expect(firing.has(a.alert), `${a.alert}: no test in which it fires`).toBe(true);
      expect(quiet.has(a.alert), `${a.alert}: no near miss that must not fire`).toBe(true);
      expect(healthy.has(a.alert), `${a.alert}: not checked on the healthy host`).toBe(true);
    }
  });
});

describe('metric names in rules and dashboards', () => {
  interface Use {
    where: string;
    name: string;
  }
  const uses: Use[] = [
    ...rules.groups.flatMap((g) =>
      g.rules.flatMap((r) => {
        const where = 'alert' in r ? `alert ${r.alert}` : `record ${r.record}`;
        const fromTemplates = 'alert' in r ? Object.values(r.annotations ?? {}).flatMap(templateMetricNames) : [];
        return [...metricNames(r.expr), ...fromTemplates].map((name) => ({ where, name }));
      }),
    ),
    ...dashboards.flatMap((d) => [
      ...panelQueries(d).flatMap((q) => [...metricNames(q.expr)].map((name) => ({ where: `${d.uid} / ${q.panel} / ${q.refId}`, name }))),
      ...d.templating.list.flatMap((v) => {
        const lv = labelValuesQuery(v);
        return lv === null ? [] : [...metricNames(lv.selector)].map((name) => ({ where: `${d.uid} / variable ${v.name}`, name }));
      }),
    ]),
  ];

  it('finds the uses (the checks below are not vacuous)', () => {
    expect(uses.length).toBeGreaterThan(100);
    expect(new Set(uses.map((u) => u.name)).has(METRIC.headroomRatio)).toBe(true);
  });

  it('are all exported by the agent, declared as constants in agent/export, recorded by the rules, or up', async () => {
    const exported = await agentMetricNames();
    // Sanity: the registry is the daemon's, default metrics included.
    expect(exported.has(METRIC.headroomRatio)).toBe(true);
    expect(exported.has('process_resident_memory_bytes')).toBe(true);
    const unknown = uses.filter((u) => !(exported.has(u.name) || recorded.has(u.name) || u.name === 'up'));
    expect(unknown).toEqual([]);
    const notConstant = uses.filter((u) => u.name.startsWith('nginx_port_') && !CONSTANT_NAMES.has(u.name));
    expect(notConstant).toEqual([]);
  });

  it('include the findings gauge of the hint engine', () => {
    expect(uses.some((u) => u.name === 'nginx_port_finding_active' && u.where.startsWith('nginx-port-agent-host'))).toBe(true);
    expect(uses.some((u) => u.name === 'nginx_port_finding_active' && u.where.startsWith('nginx-port-agent-fleet'))).toBe(true);
  });

  it('in dashboards are raw metrics, so the dashboards work without the recording rules', () => {
    expect(uses.filter((u) => !u.where.startsWith('alert') && !u.where.startsWith('record') && u.name.includes(':'))).toEqual([]);
  });
});

describe('Grafana dashboards', () => {
  const byUid = new Map(dashboards.map((d) => [d.uid, d]));

  it('are the host and the fleet dashboard, with unique uids', () => {
    expect(dashboards.map((d) => [d.file, d.uid])).toEqual([
      ['nginx-port-agent-fleet.json', 'nginx-port-agent-fleet'],
      ['nginx-port-agent-host.json', 'nginx-port-agent-host'],
    ]);
    for (const d of dashboards) {
      expect(d.tags).toContain('nginx-port-agent');
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    }
  });

  it('have a data source variable and job, instance and destination variables', () => {
    const vars = (uid: string) => byUid.get(uid)!.templating.list;
    for (const d of dashboards) {
      const ds = d.templating.list.find((v) => v.name === 'datasource');
      expect(ds?.type).toBe('datasource');
      expect(ds?.query).toBe('prometheus');
      for (const v of d.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${datasource}');
    }
    expect(vars('nginx-port-agent-host').map((v) => v.name)).toEqual(['datasource', 'job', 'instance', 'destination']);
    expect(vars('nginx-port-agent-fleet').map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
    const dest = vars('nginx-port-agent-host').find((v) => v.name === 'destination')!;
    expect([dest.multi, dest.includeAll, dest.allValue]).toEqual([true, true, '.*']);
    expect(labelValuesQuery(dest)).toEqual({ selector: 'nginx_port_destination_headroom_ratio{job="$job",instance="$instance"}', label: 'destination' });
    const fleetInstance = vars('nginx-port-agent-fleet').find((v) => v.name === 'instance')!;
    expect([fleetInstance.multi, fleetInstance.includeAll, fleetInstance.allValue]).toEqual([true, true, '.*']);
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: panels read the selected data source, job and instance, with a unit and a description', (_uid, d) => {
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const instanceMatcher = d.uid === 'nginx-port-agent-host' ? 'instance="$instance"' : 'instance=~"$instance"';
    for (const p of dataPanels(d)) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.description, p.title).toMatch(/\S/);
      expect(p.fieldConfig?.defaults.unit, p.title).toMatch(/\S/);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.datasource.uid, `${p.title} ${t.refId}`).toBe('${datasource}');
        // Every selector is scoped to the chosen job and instance(s).
        for (const m of t.expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)) {
          expect(m[1], `${p.title}: ${t.expr}`).toContain('job="$job"');
          expect(m[1], `${p.title}: ${t.expr}`).toContain(instanceMatcher);
        }
        expect(t.expr, `${p.title}: a bare metric name`).not.toMatch(/\b(nginx_port_[a-z0-9_]+|up|process_[a-z_]+)\b(?![{a-z0-9_])/);
      }
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: panels fit the 24-column grid without overlapping', (_uid, d) => {
    const cells = new Set<string>();
    for (const p of d.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const key = `${i},${j}`;
          expect(cells.has(key), `${p.title} overlaps at ${key}`).toBe(false);
          cells.add(key);
        }
      }
    }
  });

  it('show headroom as a percentage with the alert thresholds: red below critical, orange below warning', () => {
    const expected = EXPECTED_HEADROOM_THRESHOLDS();
    expect(expected.steps.map((s) => s.value)).toEqual([null, DEFAULTS.criticalHeadroomRatio, DEFAULTS.warningHeadroomRatio]);
    let checked = 0;
    for (const d of dashboards) {
      for (const p of dataPanels(d)) {
        const exprs = exprsOf(p);
        if (!exprs.some((e) => /nginx_port_(destination_headroom_ratio|headroom_ratio_min)\{/.test(e))) continue;
        // Counts of destinations or instances under a threshold compare with the alert thresholds.
        for (const e of exprs) {
          for (const m of e.matchAll(/headroom_ratio(?:_min)?\{[^}]*\}\s*<\s*([0-9.]+)/g)) {
            expect([DEFAULTS.criticalHeadroomRatio, DEFAULTS.warningHeadroomRatio], `${p.title}: ${e}`).toContain(Number(m[1]));
          }
        }
        if (p.fieldConfig?.defaults.unit === 'none' && exprs.every((e) => /^count\(/.test(e))) continue;
        const ratio = fieldSettings(p).filter((s) => s.unit === 'percentunit');
        expect(ratio.length, `${d.uid} / ${p.title}: no percentunit field`).toBeGreaterThan(0);
        for (const s of ratio) expect(s.thresholds, `${d.uid} / ${p.title} (${s.from})`).toEqual(expected);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('use the conntrack, connect-rate and staleness thresholds of the alerts', () => {
    const nearFull = thresholdOf(alertNamed(rules, 'NginxPortConntrackNearFull'), '>=');
    const full = thresholdOf(alertNamed(rules, 'NginxPortConntrackFull'), '>=');
    const rate = thresholdOf(alertNamed(rules, 'NginxPortConnectRateHigh'), '>');
    const stale = thresholdOf(alertNamed(rules, 'NginxPortAgentSampleStale'), '>');
    const seen = { conntrack: 0, rate: 0, stale: 0 };
    for (const d of dashboards) {
      for (const p of dataPanels(d)) {
        const exprs = exprsOf(p).join('\n');
        const settings = fieldSettings(p);
        if (/nginx_port_conntrack_entries\{/.test(exprs)) {
          expect(settings[0]!.thresholds?.steps.map((s) => s.value), p.title).toEqual([null, nearFull, full]);
          seen.conntrack++;
        }
        if (/nginx_port_destination_connect_rate\{[^}]*\}\s*\/\s*\(nginx_port_destination_max_sustainable_connect_rate/.test(exprs)) {
          expect(settings[0]!.thresholds?.steps.map((s) => s.value), p.title).toEqual([null, rate, 1]);
          seen.rate++;
        }
        if (/0\.5 \* nginx_port_destination_max_sustainable_connect_rate/.test(exprs)) {
          expect(exprs).toContain(`${rate} * nginx_port_destination_max_sustainable_connect_rate`);
        }
        if (/time\(\) - nginx_port_last_sample_timestamp_seconds/.test(exprs)) {
          const age = settings.find((s) => s.unit === 's');
          expect(age?.thresholds?.steps.map((s) => s.value), p.title).toEqual([null, stale]);
          seen.stale++;
        }
      }
    }
    expect(seen).toEqual({ conntrack: 1, rate: 1, stale: 2 });
  });

  it('show NAT headroom with the NAT alerts\' thresholds, and a shared gateway\'s summed share with the gateway alerts\'', () => {
    const host = EXPECTED_HEADROOM_THRESHOLDS();
    host.steps[1]!.value = thresholdOf(alertNamed(rules, 'NginxPortNatHeadroomCritical'), '<');
    host.steps[2]!.value = thresholdOf(alertNamed(rules, 'NginxPortNatHeadroomLow'), '<');
    const gateway: Thresholds = {
      mode: 'absolute',
      steps: [
        { color: 'green', value: null },
        { color: 'orange', value: thresholdOf(alertNamed(rules, 'NginxPortNatGatewayHeadroomLow'), '>') },
        { color: 'red', value: thresholdOf(alertNamed(rules, 'NginxPortNatGatewayHeadroomCritical'), '>') },
      ],
    };
    const seen = { host: 0, gateway: 0 };
    for (const d of dashboards) {
      for (const p of dataPanels(d)) {
        const exprs = exprsOf(p).join('\n');
        if (/nginx_port_nat_destination_headroom_ratio\{/.test(exprs)) {
          expect(d.uid).toBe('nginx-port-agent-host');
          expect(fieldSettings(p)[0], p.title).toMatchObject({ unit: 'percentunit', thresholds: host });
          seen.host++;
        }
        if (/nginx_port_nat_info\{[^}]*scope="fleet"/.test(exprs)) {
          expect(d.uid).toBe('nginx-port-agent-fleet');
          // The same sum as the recording rule, over raw metrics, divided by the same limit.
          expect(exprs).toMatch(/^sum by \(nat, destination\) \(nginx_port_nat_destination_used\{.*\} and on \(job, instance, nat\) nginx_port_nat_info\{.*\}\) \/ on \(nat, destination\) max by \(nat, destination\) \(nginx_port_nat_destination_capacity\{.*\}\)$/);
          expect(fieldSettings(p)[0], p.title).toMatchObject({ unit: 'percentunit', thresholds: gateway });
          seen.gateway++;
        }
      }
    }
    expect(seen).toEqual({ host: 1, gateway: 1 });
  });

  it('come with provisioning files for the dashboards and a data source', () => {
    const provider = parseYaml(readFileSync(`${REPO}grafana/provisioning/dashboards/nginx-port-agent.yml`, 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.apiVersion).toBe(1);
    expect(provider.providers[0]?.type).toBe('file');
    expect(provider.providers[0]?.options.path).toMatch(/^\//);
    const ds = parseYaml(readFileSync(`${REPO}grafana/provisioning/datasources/prometheus.yml`, 'utf8')) as {
      apiVersion: number;
      datasources: { type: string }[];
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources[0]?.type).toBe('prometheus');
  });
});
