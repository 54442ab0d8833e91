/**
 * deploy/kubernetes/prometheusrule.yaml is generated from rules/*.yml
 * (scripts/gen-prometheusrule.mjs): it must hold exactly those rule groups, and
 * the committed file must be what the generator makes from today's rules.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const COMMITTED = join(REPO, 'deploy/kubernetes/prometheusrule.yaml');

interface Group {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}

const generated = (): string => execFileSync(process.execPath, [join(REPO, 'scripts/gen-prometheusrule.mjs'), '--stdout'], { encoding: 'utf8' });

const ruleFileGroups = (): Group[] =>
  readdirSync(join(REPO, 'rules'))
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .flatMap((f) => (parse(readFileSync(join(REPO, 'rules', f), 'utf8')) as { groups: Group[] }).groups);

describe('PrometheusRule', () => {
  it('the committed file is what the generator makes from rules/*.yml', () => {
    const fresh = generated();
    const committed = readFileSync(COMMITTED, 'utf8');
    if (fresh !== committed) {
      expect.fail('deploy/kubernetes/prometheusrule.yaml is out of date with rules/*.yml: run npm run gen:prometheusrule');
    }
  });

  it('holds every group of rules/*.yml, unchanged, as a PrometheusRule', () => {
    const doc = parse(generated()) as { apiVersion: string; kind: string; metadata: { name: string }; spec: { groups: Group[] } };
    expect(doc).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'nginx-port-agent' } });
    const groups = ruleFileGroups();
    expect(groups.length).toBeGreaterThan(0);
    expect(doc.spec.groups).toEqual(groups);
    expect(new Set(groups.map((g) => g.name)).size).toBe(groups.length);
    for (const g of doc.spec.groups) {
      for (const r of g.rules) {
        expect(typeof r.expr, `${g.name}: ${r.alert ?? r.record ?? '?'}`).toBe('string');
        expect([r.alert, r.record].filter((x) => x !== undefined), g.name).toHaveLength(1);
      }
    }
  });
});
