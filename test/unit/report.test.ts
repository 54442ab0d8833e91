import { describe, expect, it } from 'vitest';
import { diagnoseSample, type DiagnosisInput } from '../../agent/diagnosis/diagnosis.js';
import { renderReport } from '../../agent/export/render/report.js';
import { EXIT_CODES } from '../../agent/hints/findings.js';
import { ProcBuffer } from '../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../agent/sockets/sample.js';
import { type SocketSample } from '../../agent/sockets/model/types.js';
import { readFileSync } from 'node:fs';
import { RecentWindow } from '../../agent/errorlog/model/recent.js';
import { readNginxConfig } from '../../agent/nginxconf/read/config.js';
import { nginxEvidence, nginxProblems, type NginxSnapshot } from '../../agent/nginxconf/model/evidence.js';

// Relative, so the golden files do not depend on where the repository lives.
const PROC = 'test/fixtures/real-tw-exhaustion/proc';
const T = { warningHeadroomRatio: 0.2, criticalHeadroomRatio: 0.05 };
const AT = Date.UTC(2026, 10, 21, 8, 44, 0);
/** The findings and the report, as `agent diagnose` makes them, on a two-CPU host in UTC. */
const buildReport = (input: Omit<DiagnosisInput, 'context'>) => diagnoseSample({ ...input, context: { cpuCount: 2, nowMs: AT, timeZone: 'UTC' } });

function fixtureSample(): SocketSample {
  return takeSocketSample({ procRoot: PROC, endianness: 'LE', rateWindowSeconds: 60 }, new ProcBuffer(), AT);
}

const report = (sample: SocketSample, connectAttemptsPerSecond: number | null = 24_812.5) =>
  buildReport({ sample, thresholds: T, top: 10, host: null, connectAttemptsPerSecond, generatedAtMs: AT });

describe('diagnose report on the captured exhaustion', () => {
  const r = report(fixtureSample());

  it('is CRITICAL with exit code 2', () => {
    expect(r.status).toBe('CRITICAL');
    expect(EXIT_CODES[r.status]).toBe(2);
  });

  it('has the JSON shape docs/cli.md documents', () => {
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining(['status', 'portRange', 'sysctls', 'destinations', 'findings']),
    );
    expect(r.portRange).toEqual({ low: 40000, high: 40099, size: 100, reserved: 0, listenersInRange: 0, usable: 100 });
    expect(r.destinations[0]).toMatchObject({
      sourceIp: '127.0.0.1',
      destination: '127.0.0.2:9000',
      capacity: 100,
      used: 100,
      headroom: 0,
      headroomRatio: 0,
      established: 0,
      timeWait: 100,
      timeWaitReusable: 0,
    });
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([
      ['headroom_exhausted', 'critical'],
      ['port_range_narrow', 'warning'],
      ['time_wait_reuse_off', 'warning'],
    ]);
    for (const f of r.findings) {
      expect(f.evidence.length).toBeGreaterThan(0);
      expect(f.why.length).toBeGreaterThan(20);
      expect(f.fix).toMatch(/net\.ipv4\.|keepalive/);
    }
  });

  it('renders text as in the golden file', async () => {
    await expect(renderReport(r, 'text', T)).toMatchFileSnapshot('../golden/diagnose-real-tw-exhaustion.txt');
  });

  it('renders JSON as in the golden file', async () => {
    await expect(renderReport(r, 'json', T)).toMatchFileSnapshot('../golden/diagnose-real-tw-exhaustion.json');
  });
});

describe('diagnose report with the captured error log', () => {
  // The 40 captured lines, all "(99: Cannot assign requested address)" to 127.0.0.2:9000 at 08:43:53.
  const window = new RecentWindow(AT - 15 * 60_000);
  const lines = readFileSync('test/fixtures/real-tw-exhaustion/error.log', 'utf8').trimEnd().split('\n');
  for (const line of lines.reverse()) window.add(line);
  window.files.push('test/fixtures/real-tw-exhaustion/error.log');
  const r = buildReport({
    sample: fixtureSample(),
    thresholds: T,
    top: 10,
    host: null,
    connectAttemptsPerSecond: null,
    generatedAtMs: AT,
    errorLog: { summary: window.summary(), problems: [] },
  });

  it('confirms the exhaustion with nginx\'s own words and shows the errors on the destination row', () => {
    expect(r.findings[1]).toMatchObject({ id: 'headroom_exhausted' });
    const confirmed = r.findings[0];
    expect(confirmed).toMatchObject({ severity: 'critical', destinations: ['127.0.0.1 → 127.0.0.2:9000'] });
    expect(confirmed?.evidence[0]).toBe('nginx logged 40 × "(99: Cannot assign requested address)" connecting to 127.0.0.2:9000; now 0/100 ports free from 127.0.0.1');
    expect(r.destinations[0]?.recentErrors).toEqual({ eaddrnotavail: 40 });
    expect(r.errorLog?.byKind).toEqual([
      expect.objectContaining({ kind: 'eaddrnotavail', count: 40, first: '2026-11-21T08:43:53.000Z', last: '2026-11-21T08:43:53.000Z' }),
    ]);
  });

  it('renders as in the golden file', async () => {
    await expect(renderReport(r, 'text', T)).toMatchFileSnapshot('../golden/diagnose-real-tw-exhaustion-with-error-log.txt');
  });
});

describe('diagnose report with the captured nginx config', async () => {
  // The nginx.conf the capture ran with: upstream backend (127.0.0.2:9000) has no keepalive.
  const read = await readNginxConfig('test/fixtures/real-tw-exhaustion/nginx.conf', { resolveHosts: false });
  const snapshot: NginxSnapshot = { read, configPath: 'test/fixtures/real-tw-exhaustion/nginx.conf', configNote: null, version: '1.22.1', versionFrom: 'flag', versionSource: 'flag: --nginx-version', configChangedAtMs: null };
  const sample = fixtureSample();
  const evidence = nginxEvidence(snapshot, sample.headroom!.destinations.map((d) => d.destination), AT);
  const r = buildReport({
    sample,
    thresholds: T,
    top: 10,
    host: null,
    connectAttemptsPerSecond: null,
    generatedAtMs: AT,
    nginx: { evidence, configPath: snapshot.configPath, files: read.model.files, problems: nginxProblems(snapshot), versionSource: snapshot.versionSource, versionFrom: snapshot.versionFrom ?? null },
  });

  it('leads with the missing keepalive pool of upstream backend, with the lines to add', () => {
    expect(r.findings[0]).toMatchObject({ id: 'upstream_no_keepalive', severity: 'critical', upstreams: ['backend'] });
    expect(r.summary).toMatch(/^upstream backend \(127\.0\.0\.2:9000\) opens a new connection per request/);
    // The location already has the HTTP/1.1 lines: only keepalive is missing.
    expect(r.findings[0]!.fix).toMatch(/upstream backend \{\n {4}server 127\.0\.0\.2:9000;\n {4}keepalive 32;/);
    expect(r.findings[0]!.fix).not.toContain('proxy_http_version');
    expect(r.destinations.map((d) => [d.destination, d.upstreams])).toEqual([
      ['127.0.0.2:9000', ['backend']],
      ['127.0.0.1:8080', []],
    ]);
  });

  it('states each group\'s effective pool on this version, in the JSON', () => {
    const conf = `${process.cwd()}/test/fixtures/real-tw-exhaustion/nginx.conf`;
    const json = JSON.parse(renderReport(r, 'json', T)) as typeof r;
    expect(json.nginx!.upstreams.map((u) => [u.name, u.keepalive, u.pool])).toEqual([
      ['backend', null, { size: null, source: 'none', detail: 'none: no keepalive directive and nginx 1.22.1 < 1.29.7', at: null, local: false }],
      ['other', 8, { size: 8, source: 'directive', detail: `keepalive 8 at ${conf}:8`, at: `${conf}:8`, local: false }],
    ]);
    // The same config on 1.30: the group without keepalive keeps 32 per worker, and no pool finding names it.
    const on130 = { ...snapshot, version: '1.30.6' };
    const report130 = buildReport({
      sample,
      thresholds: T,
      top: 10,
      host: null,
      connectAttemptsPerSecond: null,
      generatedAtMs: AT,
      nginx: { evidence: nginxEvidence(on130, sample.headroom!.destinations.map((d) => d.destination), AT), configPath: on130.configPath, files: read.model.files, problems: nginxProblems(on130), versionSource: on130.versionSource },
    });
    expect(report130.nginx!.upstreams[0]!.pool).toEqual({ size: 32, source: 'default', detail: '1.29.7+ default, local (nginx 1.30.6; no keepalive directive)', at: null, local: true });
    expect(report130.findings.map((f) => f.id)).not.toContain('upstream_no_keepalive');
    expect(report130.findings[0]!.id).toBe('keepalive_pool_churn');
  });

  it('renders as in the golden file', async () => {
    const text = renderReport(r, 'text', T).replaceAll(`${process.cwd()}/`, '');
    await expect(text).toMatchFileSnapshot('../golden/diagnose-real-tw-exhaustion-with-nginx-conf.txt');
  });
});

describe('status and exit codes', () => {
  const base = fixtureSample();
  const withHeadroom = (headroom: number): SocketSample => {
    const s = structuredClone(base);
    const h = s.headroom!;
    h.destinations = h.destinations.map((d) => ({ ...d, headroom, used: d.capacity - headroom, headroomRatio: headroom / d.capacity, timeWait: 0, connectRatePerSecond: 0 }));
    return s;
  };
  it.each([
    [100, 'OK', 0],
    [20, 'OK', 0],
    [19, 'WARNING', 1],
    [5, 'WARNING', 1],
    [4, 'CRITICAL', 2],
    [1, 'CRITICAL', 2],
    [0, 'CRITICAL', 2],
  ])('headroom %i of 100 → %s (%i)', (headroom, status, code) => {
    const r = report(withHeadroom(headroom));
    expect(r.status).toBe(status);
    expect(EXIT_CODES[r.status]).toBe(code);
  });

  it('UNKNOWN (3) when a required source is missing, with the reason in the verdict', () => {
    const s = structuredClone(base);
    s.headroom = null;
    s.sources = s.sources.map((x) => (x.source === 'tcp' ? { source: 'tcp', state: 'error', detail: '/proc/net/tcp: permission denied', code: 'AGENT_ERR_PROC_UNREADABLE' } : x));
    const r = report(s);
    expect(r.status).toBe('UNKNOWN');
    expect(EXIT_CODES[r.status]).toBe(3);
    expect(renderReport(r, 'text', T).split('\n')[0]).toBe(
      'NGINX-PORTS UNKNOWN - cannot compute headroom: AGENT_ERR_PROC_UNREADABLE: /proc/net/tcp: permission denied | headroom_ratio_min=1.0000;0.2;0.05;0;1 destinations=0',
    );
  });
});

describe('what holds the ports, and how honest the rate is', () => {
  const s = fixtureSample();
  const h = s.headroom!;
  const [worst, loopback] = h.destinations;
  h.destinations = [worst!, { ...loopback!, states: { established: 1, time_wait: 2, fin_wait1: 7, syn_sent: 3, close_wait: 7 }, other: 17, established: 1 }];
  const r = report(s);

  it('lists the other states a destination holds, most first, in place of a bare count', () => {
    const lines = renderReport(r, 'text', T).split('\n');
    const header = lines.find((l) => l.includes('OTHER STATES'))!;
    expect(header.trimEnd().endsWith('OTHER STATES')).toBe(true);
    const row = (dst: string): string => lines.find((l) => l.startsWith(`  127.0.0.1  ${dst}`))!.trimEnd();
    expect(row('127.0.0.1:8080')).toMatch(/ {2}close_wait 7, fin_wait1 7, syn_sent 3$/);
    expect(row('127.0.0.2:9000')).toMatch(/ {2}-$/);
  });

  it('marks a rate that is only a lower bound, and says why in the JSON', () => {
    const text = renderReport(r, 'text', T);
    expect(text).toMatch(/ {2}127\.0\.0\.1 {2}127\.0\.0\.2:9000 .* ≥24\.1 /);
    expect(text).toContain('≥: a lower bound');
    const json = JSON.parse(renderReport(r, 'json', T)) as { destinations: { states: object; connectRate: { lowerBound: boolean; basis: string; why: string }; connectRatePerSecond: number }[] };
    expect(json.destinations[0]!.states).toEqual({ time_wait: 100 });
    expect(json.destinations[0]!.connectRate).toMatchObject({ basis: 'time_wait_ages', lowerBound: true });
    expect(json.destinations[0]!.connectRatePerSecond).toBe((json.destinations[0]!.connectRate as unknown as { perSecond: number }).perSecond);
    expect(json.destinations[1]!.states).toEqual({ established: 1, time_wait: 2, fin_wait1: 7, syn_sent: 3, close_wait: 7 });
  });
});
