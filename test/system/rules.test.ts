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
import { describeWith } from '../support/gate.js';
import { REPO, RULES_FILE, ruleTestFiles } from '../support/monitoring.js';

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
