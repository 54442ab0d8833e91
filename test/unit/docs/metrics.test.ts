/**
 * docs/metrics.md documents every metric the daemon registers, and no other: one
 * row per metric with its type, its labels and its HELP text word for word. The
 * registry is built as agent/commands/run.ts builds it (AgentMetrics, with a NAT
 * configured so its families are there too, then the error-log metrics); prom-client's default process_* and nodejs_* metrics are
 * left out on purpose: the page names them as a group.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ErrorLogCounts } from '../../../agent/errorlog/model/counts.js';
import { registerErrorLogMetrics } from '../../../agent/export/errorLogMetrics.js';
import { AgentMetrics } from '../../../agent/export/metrics.js';

const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');

/** prom-client's default metrics, which the daemon turns on and this page does not list one by one. */
const DEFAULT_METRIC = /^(process|nodejs)_/;

interface Registered {
  name: string;
  type: string;
  help: string;
  labels: readonly string[];
}

async function daemonMetrics(): Promise<Registered[]> {
  const registry = new Registry();
  new AgentMetrics(registry, { maxDestinations: 100, defaultMetrics: true, version: '0.0.0-test', nat: true });
  registerErrorLogMetrics(
    registry,
    new ErrorLogCounts(100),
    () => ({ tooLong: 0, rotations: { rename: 0, copytruncate: 0, recreate: 0 } }),
    pino({ level: 'silent' }),
  );
  const json = await registry.getMetricsAsJSON();
  return json.map((m) => {
    // prom-client keeps a metric's label names on the metric; its types do not say so.
    const labels = (registry.getSingleMetric(m.name) as unknown as { labelNames?: readonly string[] } | undefined)?.labelNames;
    if (labels === undefined) throw new Error(`${m.name}: no labelNames on the registered metric`);
    return { name: m.name, type: String(m.type), help: m.help, labels };
  });
}

const registered = (await daemonMetrics()).filter((m) => !DEFAULT_METRIC.test(m.name));

/** Table rows whose first cell is a `metric`: name → [type, labels, HELP]. */
const rows = new Map(
  [...doc.matchAll(/^\| `([a-z_:]+)` \|(.*)\|\s*$/gm)].map((m) => [m[1]!, m[2]!.split(' | ').map((c) => c.trim())] as const),
);

describe('docs/metrics.md', () => {
  it('the daemon registers only nginx_port_* metrics besides the default ones', () => {
    expect(registered.length).toBeGreaterThan(30);
    expect(registered.map((m) => m.name).filter((n) => !n.startsWith('nginx_port_'))).toEqual([]);
  });

  it('has a row for every metric the daemon registers', () => {
    expect(registered.map((m) => m.name).filter((n) => !rows.has(n))).toEqual([]);
  });

  it.each(registered.map((m) => [m.name, m] as const))('%s: its type, its labels and its HELP, word for word', (name, m) => {
    const [type, labels, help] = rows.get(name) ?? [];
    expect(type).toBe(m.type);
    expect(labels).toBe(m.labels.map((l) => `\`${l}\``).join(', '));
    expect(help).toBe(m.help);
  });

  it('documents no nginx_port_* metric the daemon does not register', () => {
    const names = new Set(registered.map((m) => m.name));
    // A name ending in `*` or `_` stands for the metrics it begins.
    const unknown = [...doc.matchAll(/nginx_port_[a-z0-9_]+\*?/g)]
      .map(([token]) => token)
      .filter((token) => {
        const prefix = token.replace(/\*$/, '');
        return prefix === token && !token.endsWith('_') ? !names.has(token) : ![...names].some((n) => n.startsWith(prefix));
      });
    expect([...new Set(unknown)]).toEqual([]);
  });
});
