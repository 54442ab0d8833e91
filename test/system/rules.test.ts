/**
 * The Prometheus rules through Debian's promtool: `check rules` (syntax, PromQL,
 * templates) and `test rules` (rules/tests/*.test.yml: each alert fires on its
 * series and stays quiet on the near misses). Skipped without promtool, a
 * failure under AGENT_TEST_STRICT=1.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { describeWith } from '../support/gate.js';
import { REPO, RULES_FILE, ruleTestFiles, type RulesFile } from '../support/monitoring.js';

const execFileP = promisify(execFile);

interface Run {
  code: number;
  out: string;
}

async function promtool(args: readonly string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP('promtool', args, { cwd: REPO, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describeWith(['command:promtool'], 'Prometheus rules (promtool)', () => {
  it('promtool check rules accepts the rules file', async () => {
    const r = await promtool(['check', 'rules', RULES_FILE]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool test rules passes every unit test file', { timeout: 120_000 }, async () => {
    const files = ruleTestFiles();
    expect(files.length).toBeGreaterThanOrEqual(5);
    const r = await promtool(['test', 'rules', ...files]);
    expect(r.code, r.out).toBe(0);
    expect(r.out.match(/SUCCESS/g)?.length, r.out).toBe(files.length);
  });

  /** rules/tests/nat.test.yml against a copy of the rules with one NAT alert changed: it must fail, naming the alert. */
  async function natTestsWith(alert: string, change: (rule: { expr: string; for?: string | undefined }) => void): Promise<Run> {
    const dir = mkdtempSync(join(tmpdir(), 'npa-rules-'));
    try {
      const rules = parseYaml(readFileSync(RULES_FILE, 'utf8')) as RulesFile;
      const rule = rules.groups.flatMap((g) => g.rules).find((r) => 'alert' in r && r.alert === alert);
      if (rule === undefined) throw new Error(`no alert ${alert}`);
      change(rule);
      writeFileSync(join(dir, basename(RULES_FILE)), stringifyYaml(rules));
      mkdirSync(join(dir, 'tests'));
      const test = join(dir, 'tests', 'nat.test.yml');
      copyFileSync(ruleTestFiles().find((f) => f.endsWith('/nat.test.yml'))!, test);
      return await promtool(['test', 'rules', test]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.each([
    ['NginxPortNatHeadroomCritical', '< 0.05', '< 0.0501'],
    ['NginxPortNatHeadroomCritical', '< 0.05', '< 0.0498'],
    ['NginxPortNatHeadroomLow', '< 0.2', '< 0.2001'],
    ['NginxPortNatHeadroomLow', '< 0.2', '< 0.1998'],
    ['NginxPortNatGatewayHeadroomCritical', '> 0.95', '> 0.9499'],
    ['NginxPortNatGatewayHeadroomCritical', '> 0.95', '> 0.9521'],
    ['NginxPortNatGatewayHeadroomLow', '> 0.8', '> 0.7999'],
    ['NginxPortNatGatewayHeadroomLow', '> 0.8', '> 0.8011'],
  ])('promtool test rules fails when %s moves from %s to %s', { timeout: 120_000 }, async (alert, from, to) => {
    const r = await natTestsWith(alert, (rule) => {
      expect(rule.expr).toContain(from);
      rule.expr = rule.expr.replace(from, to);
    });
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain(alert);
  });

  it.each([
    ['NginxPortNatHeadroomCritical', '30s'],
    ['NginxPortNatHeadroomCritical', '2m'],
    ['NginxPortNatHeadroomLow', '4m'],
    ['NginxPortNatHeadroomLow', '6m'],
    ['NginxPortNatGatewayHeadroomCritical', '30s'],
    ['NginxPortNatGatewayHeadroomCritical', '2m'],
    ['NginxPortNatGatewayHeadroomLow', '4m'],
    ['NginxPortNatGatewayHeadroomLow', '6m'],
  ])('promtool test rules fails when the for: of %s becomes %s', { timeout: 120_000 }, async (alert, duration) => {
    const r = await natTestsWith(alert, (rule) => {
      rule.for = duration;
    });
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain(alert);
  });

  it('promtool test rules fails when an alert threshold moves (the tests can fail)', { timeout: 120_000 }, async () => {
    // The same tests against a copy of the rules whose critical headroom
    // threshold is a hair higher: the near miss at exactly 5 % must catch it.
    const dir = mkdtempSync(join(tmpdir(), 'npa-rules-'));
    try {
      const rules = readFileSync(RULES_FILE, 'utf8');
      const moved = rules.replace('expr: nginx_port_destination_headroom_ratio < 0.05', 'expr: nginx_port_destination_headroom_ratio < 0.0501');
      expect(moved).not.toBe(rules);
      writeFileSync(join(dir, basename(RULES_FILE)), moved);
      mkdirSync(join(dir, 'tests'));
      const test = join(dir, 'tests', 'headroom.test.yml');
      copyFileSync(ruleTestFiles().find((f) => f.endsWith('/headroom.test.yml'))!, test);
      const r = await promtool(['test', 'rules', test]);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain('NginxPortHeadroomCritical');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
