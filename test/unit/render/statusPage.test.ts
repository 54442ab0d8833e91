/**
 * The status page and the HTML incident report: golden files on the captured
 * exhaustion (the daemon's page with an hour of history, diagnose's static
 * report with the error log's timeline), and everything from outside escaped.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diagnoseSample } from '../../../agent/diagnosis/diagnosis.js';
import { SampleHistory } from '../../../agent/diagnosis/history.js';
import type { Report } from '../../../agent/diagnosis/report.js';
import type { StatusView } from '../../../agent/diagnosis/status.js';
import { RecentWindow } from '../../../agent/errorlog/model/recent.js';
import { timelineBucketMs } from '../../../agent/errorlog/model/timeline.js';
import { esc } from '../../../agent/export/render/html/escape.js';
import { renderReportPage, renderStatusMain, renderStatusPage } from '../../../agent/export/render/html/page.js';
import { niceTicks, timeTicks } from '../../../agent/export/render/html/svg.js';
import { nginxEvidence, nginxProblems, type NginxSnapshot } from '../../../agent/nginxconf/model/evidence.js';
import { readNginxConfig } from '../../../agent/nginxconf/read/config.js';
import { ProcBuffer } from '../../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../../agent/sockets/sample.js';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';
const CONF = 'test/fixtures/real-tw-exhaustion/nginx.conf';
const LOG = 'test/fixtures/real-tw-exhaustion/error.log';
const T = { warningHeadroomRatio: 0.2, criticalHeadroomRatio: 0.05 };
const AT = Date.UTC(2026, 10, 21, 8, 44, 0);
const SINCE_MS = 15 * 60_000;

async function fixtureReport(): Promise<Report> {
  const sample = takeSocketSample({ procRoot: PROC, endianness: 'LE', rateWindowSeconds: 60 }, new ProcBuffer(), AT);
  const read = await readNginxConfig(CONF, { resolveHosts: false });
  const snapshot: NginxSnapshot = { read, configPath: CONF, configNote: null, version: '1.22.1', versionSource: '--nginx-version', configChangedAtMs: null };
  const window = new RecentWindow(AT - SINCE_MS, AT, undefined, { bucketMs: timelineBucketMs(SINCE_MS), untilMs: AT });
  for (const line of readFileSync(LOG, 'utf8').trimEnd().split('\n').reverse()) window.add(line);
  window.files.push(LOG);
  return diagnoseSample({
    sample,
    thresholds: T,
    top: 10,
    host: null,
    connectAttemptsPerSecond: null,
    generatedAtMs: AT,
    context: { cpuCount: 2, nowMs: AT, timeZone: 'UTC' },
    errorLog: { summary: window.summary(), problems: [] },
    nginx: {
      evidence: nginxEvidence(snapshot, sample.headroom!.destinations.map((d) => d.destination), AT),
      configPath: CONF,
      files: read.model.files,
      problems: nginxProblems(snapshot),
      versionSource: snapshot.versionSource,
    },
  });
}

/** An hour at 5 s: the pool-less upstream's free ports fall from 100 to 0 over the last 20 minutes, and nginx starts logging EADDRNOTAVAIL. */
function fixtureHistory(report: Report): SampleHistory {
  const h = new SampleHistory(5000);
  let eaddr = 0;
  for (let i = 719; i >= 0; i--) {
    const atMs = AT - i * 5000;
    const minutesAgo = (i * 5) / 60;
    const free = minutesAgo > 20 ? 100 : Math.max(0, Math.round(100 * (minutesAgo / 20) - 3));
    const destinations = report.destinations.map((d, k) =>
      k === 0 ? { ...d, headroom: free, used: 100 - free, headroomRatio: free / 100, connectRatePerSecond: minutesAgo > 20 ? 0.2 : 1.7 } : d,
    );
    if (free === 0) eaddr += 2;
    h.record({ ...report, destinations }, atMs, { eaddrnotavail: eaddr });
  }
  return h;
}

/** The nginx evidence names files by absolute path: the golden files keep them relative to the repository. */
const relative = (html: string): string => html.replaceAll(`${process.cwd()}/`, '');

const view = (report: Report, history: SampleHistory | null): StatusView => ({
  report,
  history: history?.snapshot(AT) ?? null,
  thresholds: T,
  sampleIntervalMs: history === null ? null : 5000,
  version: '0.0.0-test',
  agentSources: history === null ? [] : [{ source: `error_log:${LOG}`, up: true }, { source: 'nginx_config', up: true }],
});

describe('the status page on the captured exhaustion', async () => {
  const report = await fixtureReport();
  const live = relative(renderStatusPage(view(report, fixtureHistory(report)), { mode: 'live' }));

  it('renders as in the golden file', async () => {
    await expect(live).toMatchFileSnapshot('../../golden/status-page-real-tw-exhaustion.html');
  });

  it('shows the verdict, the exhausted destination with its upstream, since when, and the fix to copy', () => {
    expect(live).toContain('<span class="badge level-critical">CRITICAL</span> upstream backend (127.0.0.2:9000) opens a new connection per request');
    expect(live).toMatch(/<tr class="level-exhausted" data-destination="127\.0\.0\.1 → 127\.0\.0\.2:9000">.*<td>backend<\/td>/);
    expect(live).toContain('Below 20 % free since 08:39:35 UTC (4 min).');
    expect(live).toMatch(/<button type="button" class="copy" data-copy="fix-0" hidden>Copy<\/button><\/div><pre id="fix-0" tabindex="0"><code># test\/fixtures\/real-tw-exhaustion\/nginx\.conf:7\nupstream backend \{/);
  });

  it('draws the four charts of the hour from the history, with their data points', () => {
    for (const id of ['chart-free', 'chart-ratio', 'chart-rate', 'chart-errors']) expect(live).toContain(`id="${id}"`);
    const points = [...live.matchAll(/data-points="(\d+)"/g)].map((m) => Number(m[1]));
    expect(Math.max(...points)).toBe(720);
  });

  it('loads its stylesheet and script from the agent only, and has no inline script, style attribute or event handler', () => {
    expect(live).toContain('<link rel="stylesheet" href="assets/status.css">');
    expect(live).toContain('<script type="module" src="assets/web/statusClient.js"></script>');
    expect([...live.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual(['<script type="module" src="assets/web/statusClient.js">']);
    expect(live).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    expect(live).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
  });

  it('renders <main> the same way the browser does on a refresh', () => {
    const v = view(report, fixtureHistory(report));
    expect(live).toContain(relative(renderStatusMain(v)));
  });
});

describe('the HTML incident report (diagnose --format html)', async () => {
  const report = await fixtureReport();
  const html = relative(renderReportPage(report, T, '0.0.0-test'));

  it('renders as in the golden file', async () => {
    await expect(html).toMatchFileSnapshot('../../golden/diagnose-real-tw-exhaustion.html');
  });

  it('is one static file: styles inline, no script at all, a policy that forbids scripts', () => {
    expect(html).not.toMatch(/<script|<link/);
    expect(html).toContain('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\';');
    expect(html).toContain('<style>');
  });

  it('charts what diagnose has: headroom now, and the error log\'s events over the window by kind', () => {
    expect(html).toContain('id="chart-headroom-now"');
    expect(html).toContain('id="chart-errors"');
    expect(html).toContain('nginx error-log events by kind, per 15 s');
    expect(html).toMatch(/<g class="bars s0" data-series="eaddrnotavail" data-points="1"><rect [^>]*><title>eaddrnotavail: 40 at 08:43<\/title>/);
    expect(html).not.toContain('id="chart-free"');
  });
});

describe('escaping what comes from outside', async () => {
  const base = await fixtureReport();
  const HOSTILE = `<script>alert("x")</script>' onmouseover="alert(1)" \x1b[31m\u202eevil\x00`;
  const hostile: Report = {
    ...base,
    summary: HOSTILE,
    procRoot: HOSTILE,
    destinations: base.destinations.map((d) => ({ ...d, upstreams: [HOSTILE] })),
    errorLog: { ...base.errorLog!, files: [HOSTILE], byKind: base.errorLog!.byKind.map((k) => ({ ...k, sample: HOSTILE })), problems: [HOSTILE] },
    nginx: { ...base.nginx!, config: HOSTILE, upstreams: base.nginx!.upstreams.map((u) => ({ ...u, name: HOSTILE, at: HOSTILE, servers: [HOSTILE] })) },
    findings: base.findings.map((f) => ({ ...f, summary: HOSTILE, evidence: [HOSTILE], fix: HOSTILE, why: HOSTILE, effect: HOSTILE, upstreams: [HOSTILE] })),
    assumptions: [HOSTILE],
    problems: [HOSTILE],
    nat: [
      {
        name: HOSTILE,
        profile: 'custom',
        title: HOSTILE,
        scope: 'host',
        ports: 64,
        ips: 1,
        capacityPerDestination: 64,
        timeWaitSeconds: 120,
        idleTimeoutSeconds: null,
        endpointIndependentMapping: false,
        dynamicPortAllocation: false,
        maxPortsPerVm: null,
        backendPoolSize: null,
        matches: [HOSTILE],
        heldAfterCloseBasis: 'estimated',
        docsUrl: HOSTILE,
        notes: [HOSTILE],
        destinationsTotal: 1,
        destinations: [
          {
            destination: HOSTILE,
            sourceIps: [HOSTILE],
            used: 70,
            capacity: 64,
            headroom: 0,
            headroomRatio: 0,
            share: 70 / 64,
            established: 0,
            open: 0,
            heldAfterClose: 70,
            heldAfterCloseMeasured: 60,
            heldAfterCloseEstimated: 10,
            heldAfterCloseIsEstimate: true,
            timeWait: 60,
            closeRatePerSecond: 1,
            closeRateLowerBound: false,
            endpointIndependenceConflictRisk: null,
            level: 'exhausted',
          },
        ],
      },
    ],
  };

  it.each(['live', 'report'] as const)('%s: no tag, attribute or control byte gets through', (mode) => {
    const history = fixtureHistory(base);
    const html = renderStatusPage({ ...view(hostile, mode === 'live' ? history : null), version: HOSTILE, agentSources: [{ source: HOSTILE, up: false }] }, { mode });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toMatch(/\son\w+="/);
    // eslint-disable-next-line no-control-regex
    expect(html).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&quot;alert(1)&quot; \\x1b[31m\\u202eevil\\x00');
    // The NAT section is shown, escaped too.
    expect(html).toContain('<section id="nat"');
    expect(html).toContain('<h3>&lt;script&gt;alert');
  });

  it.each([
    ['<>&"\'', '&lt;&gt;&amp;&quot;&#39;'],
    ['tab\tand\nnewline', 'tab\tand\nnewline'],
    ['\x07\x1b\x7f\x85', '\\x07\\x1b\\x7f\\x85'],
    ['\u2028\u202a\u2066', '\\u2028\\u202a\\u2066'],
    ['upstream → ünïcode', 'upstream → ünïcode'],
  ])('esc(%j) is %j', (input, out) => {
    expect(esc(input)).toBe(out);
  });
});

describe('chart scales', () => {
  it.each([
    [100, [0, 20, 40, 60, 80, 100]],
    [1.7, [0, 0.5, 1, 1.5, 2]],
    [0, [0, 1]],
    [28_232, [0, 10_000, 20_000, 30_000]],
  ])('niceTicks(%d) is %j', (max, ticks) => {
    expect(niceTicks(max)).toEqual(ticks);
  });

  it('time ticks fall on round minutes, at most seven over the span', () => {
    const ticks = timeTicks(AT - 3_600_000, AT);
    expect(ticks.length).toBeLessThanOrEqual(7);
    expect(ticks.every((t) => t % 600_000 === 0)).toBe(true);
  });
});
