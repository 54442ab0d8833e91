/**
 * `agent diagnose` wired end to end in-process, on the captured exhaustion, with a
 * clock that says when "now" is: the --since window is read relative to it, the
 * report is stamped with it, and nothing sleeps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../agent/commands/diagnose.js';
import { resolveConfig, type Config } from '../../../agent/config.js';
import { FakeClock } from '../../support/fakeClock.js';

const FIXTURE = 'test/fixtures/real-tw-exhaustion';
/** 08:44:00 UTC, seven seconds after the captured lines (08:43:53, local time = UTC under the suite's TZ). */
const NOW = Date.UTC(2026, 10, 21, 8, 44, 0);

function config(flags: Record<string, unknown>): Config {
  const r = resolveConfig({ env: {}, flags: { procRoot: `${FIXTURE}/proc`, nginxConf: '', errorLogs: [`${FIXTURE}/error.log`], ...flags } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

describe('diagnose with a fake clock', () => {
  it('reads the error-log window back from the clock, stamps the report with it and exits CRITICAL', async () => {
    const result = await diagnose(config({ since: '5m' }), { json: true, rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.exitCode).toBe(2);
    expect(result.report.generatedAt).toBe(new Date(NOW).toISOString());
    expect(result.report.errorLog).toMatchObject({ since: new Date(NOW - 300_000).toISOString(), lines: 40 });
    expect(result.report.findings.map((f) => f.id)).toContain('exhaustion_confirmed');
    expect(JSON.parse(result.output)).toMatchObject({ status: 'CRITICAL' });
  });

  it('leaves lines older than the window out: an hour later the same log says nothing', async () => {
    const result = await diagnose(config({ since: '15m' }), { json: false, rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW + 3_600_000) });
    expect(result.report.errorLog).toMatchObject({ lines: 0, byKind: [] });
    expect(result.report.findings.map((f) => f.id)).not.toContain('exhaustion_confirmed');
    expect(result.output).toMatch(/^NGINX-PORTS CRITICAL - /);
  });

  it('does not measure the connect rate when told not to wait', async () => {
    const result = await diagnose(config({}), { json: true, rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.report.hostSockets?.connectAttemptsPerSecond).toBeNull();
  });
});

describe('the nginx version from the error log', () => {
  const startup = (d: Date, version: string): string => {
    const p = (n: number): string => String(n).padStart(2, '0');
    return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} [notice] 6660#6660: nginx/${version}`;
  };

  it('the start-up line in the window gives the version when nothing stronger does, and decides the pools', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npa-diagnose-version-'));
    try {
      writeFileSync(join(dir, 'nginx.conf'), 'events {}\nhttp {\n  upstream backend { server 127.0.0.2:9000; }\n}\n');
      writeFileSync(join(dir, 'error.log'), `${startup(new Date(NOW - 120_000), '1.30.6')}\n`);
      const flags = { nginxConf: join(dir, 'nginx.conf'), nginxRoot: '', errorLogs: [join(dir, 'error.log')], since: '5m', dnsTimeoutMs: 100 };
      const result = await diagnose(config(flags), { json: true, rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
      expect(result.report.nginx).toMatchObject({ version: '1.30.6', versionFrom: 'error-log' });
      expect(result.report.nginx!.versionSource).toMatch(/^error-log: nginx's start-up line of .* in .*error\.log: ".*\[notice\] 6660#6660: nginx\/1\.30\.6"$/);
      expect(result.report.nginx!.upstreams[0]!.pool).toMatchObject({ size: 32, source: 'default' });
      // Outside the window: unknown, and the report says what each source said.
      const later = await diagnose(config(flags), { json: true, rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW + 3_600_000) });
      expect(later.report.nginx).toMatchObject({ version: null, versionFrom: null });
      expect(later.report.nginx!.versionSource).toMatch(/^unknown: process: no nginx process under .*; error-log: no start-up line .* since .*; give --nginx-version or --nginx-bin$/);
      expect(later.report.nginx!.upstreams[0]!.pool.source).toBe('unknown');
      // --nginx-version wins over the log.
      const flagged = await diagnose(config({ ...flags, nginxVersion: '1.22.1' }), { json: true, rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
      expect(flagged.report.nginx).toMatchObject({ version: '1.22.1', versionFrom: 'flag', versionSource: 'flag: --nginx-version' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
