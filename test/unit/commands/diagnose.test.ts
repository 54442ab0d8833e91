/**
 * `agent diagnose` wired end to end in-process, on the captured exhaustion, with a
 * clock that says when "now" is: the --since window is read relative to it, the
 * report is stamped with it, and nothing sleeps.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../../agent/commands/diagnose.js';
import { resolveConfig, type Config } from '../../../agent/config.js';
import { FakeClock } from '../../support/fakeClock.js';

const FIXTURE = 'test/fixtures/real-tw-exhaustion';
/** 08:44:00 UTC, seven seconds after the captured lines (08:43:53, local time = UTC under the suite's TZ). */
const NOW = Date.UTC(2026, 10, 21, 8, 44, 0);

async function config(flags: Record<string, unknown>): Promise<Config> {
  const r = await resolveConfig({ env: {}, flags: { procRoot: `${FIXTURE}/proc`, nginxConf: '', errorLogs: [`${FIXTURE}/error.log`], ...flags } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

describe('diagnose with a fake clock', () => {
  it('reads the error-log window back from the clock, stamps the report with it and exits CRITICAL', async () => {
    const result = await diagnose(await config({ since: '5m' }), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.exitCode).toBe(2);
    expect(result.report.generatedAt).toBe(new Date(NOW).toISOString());
    expect(result.report.errorLog).toMatchObject({ since: new Date(NOW - 300_000).toISOString(), lines: 40 });
    expect(result.report.findings.map((f) => f.id)).toContain('exhaustion_confirmed');
    expect(JSON.parse(result.output)).toMatchObject({ status: 'CRITICAL' });
  });

  it('leaves lines older than the window out: an hour later the same log says nothing', async () => {
    const result = await diagnose(await config({ since: '15m' }), { format: 'text', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW + 3_600_000) });
    expect(result.report.errorLog).toMatchObject({ lines: 0, byKind: [] });
    expect(result.report.findings.map((f) => f.id)).not.toContain('exhaustion_confirmed');
    expect(result.output).toMatch(/^NGINX-PORTS CRITICAL - /);
  });

  it('renders --format html as the status page of the one report (its renderer is imported for html only)', async () => {
    const result = await diagnose(await config({}), { format: 'html', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.output).toMatch(/^<!doctype html>/);
    expect(result.output).toContain('<title>CRITICAL');
  });

  it('does not measure the connect rate when told not to wait', async () => {
    const result = await diagnose(await config({}), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    expect(result.report.hostSockets?.connectAttemptsPerSecond).toBeNull();
  });
});

const dir = mkdtempSync(join(tmpdir(), 'npa-diagnose-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const CAPTURED = readFileSync(`${FIXTURE}/error.log`, 'utf8');
/** The captured log with its peer written as nginx writes an IPv4-mapped one, or towards another destination. */
function logWith(name: string, transform: (text: string) => string): string {
  const path = join(dir, name);
  writeFileSync(path, transform(CAPTURED));
  return path;
}

describe('diagnose joins what the log says to the sockets and the config', () => {
  it('an IPv4-mapped peer ([::ffff:127.0.0.2]:9000) is the exhausted IPv4 destination: confirmed, not recovered', async () => {
    const log = logWith('mapped.log', (t) => t.replaceAll('127.0.0.2:9000', '[::ffff:127.0.0.2]:9000'));
    expect(readFileSync(log, 'utf8')).toContain('connect() to [::ffff:127.0.0.2]:9000 failed');
    const result = await diagnose(await config({ since: '5m', errorLogs: [log] }), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
    const ids = result.report.findings.map((f) => f.id);
    expect(ids).toContain('exhaustion_confirmed');
    expect(ids).not.toContain('exhaustion_recent');
    expect(result.report.errorLog?.byDestination).toEqual({ '127.0.0.2:9000': { eaddrnotavail: 40 } });
    expect(result.report.destinations.find((d) => d.destination === '127.0.0.2:9000')?.recentErrors).toEqual({ eaddrnotavail: 40 });
  });

  it('a destination only the log names (no socket now) is mapped to its upstream group', async () => {
    const log = logWith('other.log', (t) => t.replaceAll('127.0.0.2:9000', '127.0.0.3:9000'));
    const result = await diagnose(await config({ since: '5m', errorLogs: [log], nginxConf: `${FIXTURE}/nginx.conf` }), {
      format: 'json',
      rateIntervalMs: 0,
      hostFacts: false,
      clock: new FakeClock(NOW),
    });
    const recent = result.report.findings.find((f) => f.id === 'exhaustion_recent');
    expect(recent?.upstreams).toEqual(['other']);
    expect(recent?.evidence[0]).toContain('connecting to 127.0.0.3:9000 (upstream other)');
  });
});

describe('diagnose on a past window (post-mortem)', () => {
  it('reads --from/--until on a .gz archive of any age, marks the window past and says the sockets are of now', async () => {
    const archive = join(dir, 'error.log-20261121.gz');
    writeFileSync(archive, gzipSync(CAPTURED));
    const later = NOW + 30 * 86_400_000;
    const result = await diagnose(await config({ errorLogs: [archive], from: '2026-11-21T08:40:00Z', until: '2026-11-21 08:50' }), {
      format: 'text',
      rateIntervalMs: 0,
      hostFacts: false,
      clock: new FakeClock(later),
    });
    expect(result.report.errorLog).toMatchObject({
      since: '2026-11-21T08:40:00.000Z',
      until: '2026-11-21T08:50:00.000Z',
      past: true,
      lines: 40,
      files: [archive],
    });
    expect(result.output).toContain('Error log from 2026-11-21T08:40:00.000Z until 2026-11-21T08:50:00.000Z');
    expect(result.output).toContain(`the sockets (and their findings) are as sampled at ${new Date(later).toISOString()}`);
  });

  it('reads bare times in --error-log-timezone', async () => {
    // The captured lines say 08:43:53; read as Berlin time (UTC+1 in November) they are 07:43:53 UTC.
    const result = await diagnose(await config({ errorLogs: [`${FIXTURE}/error.log`], errorLogTimezone: 'Europe/Berlin', from: '2026-11-21 08:40', until: '2026-11-21 08:50' }), {
      format: 'json',
      rateIntervalMs: 0,
      hostFacts: false,
      clock: new FakeClock(NOW),
    });
    expect(result.report.errorLog).toMatchObject({ since: '2026-11-21T07:40:00.000Z', until: '2026-11-21T07:50:00.000Z', timeZone: 'Europe/Berlin', lines: 40 });
    expect(result.report.errorLog?.byKind[0]).toMatchObject({ first: '2026-11-21T07:43:53.000Z' });
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
      const result = await diagnose(await config(flags), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
      expect(result.report.nginx).toMatchObject({ version: '1.30.6', versionFrom: 'error-log' });
      expect(result.report.nginx!.versionSource).toMatch(/^error-log: nginx's start-up line of .* in .*error\.log: ".*\[notice\] 6660#6660: nginx\/1\.30\.6"$/);
      expect(result.report.nginx!.upstreams[0]!.pool).toMatchObject({ size: 32, source: 'default' });
      // Outside the window: unknown, and the report says what each source said.
      const later = await diagnose(await config(flags), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW + 3_600_000) });
      expect(later.report.nginx).toMatchObject({ version: null, versionFrom: null });
      expect(later.report.nginx!.versionSource).toMatch(/^unknown: process: no nginx process under .*; error-log: no start-up line .* since .*; give --nginx-version or --nginx-bin$/);
      expect(later.report.nginx!.upstreams[0]!.pool.source).toBe('unknown');
      // --nginx-version wins over the log.
      const flagged = await diagnose(await config({ ...flags, nginxVersion: '1.22.1' }), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });
      expect(flagged.report.nginx).toMatchObject({ version: '1.22.1', versionFrom: 'flag', versionSource: 'flag: --nginx-version' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
