/**
 * `agent diagnose` wired end to end in-process, on the captured exhaustion, with a
 * clock that says when "now" is: the --since window is read relative to it, the
 * report is stamped with it, and nothing sleeps.
 */
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
    const result = await diagnose(config({ since: '5m' }), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.exitCode).toBe(2);
    expect(result.report.generatedAt).toBe(new Date(NOW).toISOString());
    expect(result.report.errorLog).toMatchObject({ since: new Date(NOW - 300_000).toISOString(), lines: 40 });
    expect(result.report.findings.map((f) => f.id)).toContain('exhaustion_confirmed');
    expect(JSON.parse(result.output)).toMatchObject({ status: 'CRITICAL' });
  });

  it('leaves lines older than the window out: an hour later the same log says nothing', async () => {
    const result = await diagnose(config({ since: '15m' }), { format: 'text', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW + 3_600_000) });
    expect(result.report.errorLog).toMatchObject({ lines: 0, byKind: [] });
    expect(result.report.findings.map((f) => f.id)).not.toContain('exhaustion_confirmed');
    expect(result.output).toMatch(/^NGINX-PORTS CRITICAL - /);
  });

  it('does not measure the connect rate when told not to wait', async () => {
    const result = await diagnose(config({}), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.report.hostSockets?.connectAttemptsPerSecond).toBeNull();
  });
});
