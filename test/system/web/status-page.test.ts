/**
 * The status page in a real browser while a real nginx runs out of ports.
 *
 * In private network namespaces (support/nginxLab.ts), nginx 1.22 proxies to an
 * upstream without a keepalive pool under `wrk` load with a 200-port range, so
 * the ports to that upstream run out within seconds. The built agent runs in
 * nginx's namespace behind a web configuration with TLS and basic auth, and
 * Debian's Chromium, driven by playwright-core and started inside the same
 * namespace (a wrapper script runs it through `ip netns exec`), opens the page
 * the way an on-call engineer would. The test reads what the browser rendered
 * (the DOM's text after load, not the HTML source) and checks:
 *
 *   - the exhausted destination, its upstream, the cause (no keepalive pool) and
 *     its fix are on the page, and the figures shown are those of /api/status
 *     for the same sample;
 *   - the charts are drawn: SVG polylines with data points from the history;
 *   - every request the page makes goes to the agent's own origin, and the
 *     browser reports no Content-Security-Policy violation;
 *   - the page refreshes itself from /api/status and the Copy button copies the
 *     fix (JavaScript), and renders the same facts with JavaScript off;
 *   - it renders behind basic auth over TLS (and answers 401 without credentials);
 *   - on a phone-sized screen the document does not scroll sideways.
 *
 * STATUS_PAGE_SCREENSHOT=docs/status-page.png writes the screenshot the README
 * shows; without it the screenshots stay in the lab's directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StatusView } from '../../../agent/diagnosis/status.js';
import { makeTestPki, type TestPki } from '../../support/certs.js';
import { describeWith } from '../../support/gate.js';
import { AGENT_MAIN, destroyAll, sweepStale } from '../support/netns.js';
import { ADDR, FRONT_PORT, NginxLab, UPSTREAM_PORT, type Wrk } from '../support/nginxLab.js';

const CHROMIUM = '/usr/bin/chromium';
/** Flags Chromium needs as root, and to stay off the network it would otherwise try (updates, sync, field trials). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const AGENT_PORT = 9842;
const ORIGIN = `https://127.0.0.1:${AGENT_PORT}`;
const USER = 'oncall';
const PASSWORD = 'correct horse battery';
const DEST = `${ADDR.upstream}:${UPSTREAM_PORT}`;
const ROW = `${ADDR.nginxSource} → ${DEST}`;
const SAMPLE_MS = 2000;
/** Page-side: /api/status, fetched by the page itself (with its credentials). */
const STATUS_JSON = "fetch('api/status').then((r) => r.json())";

function nginxConf(lab: NginxLab): string {
  return `# status-page.test.ts: an upstream group without a keepalive pool
daemon off;
worker_processes 2;
worker_rlimit_nofile 8192;
pid ${lab.pidFile};
error_log ${lab.errorLog} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${lab.frontTempPaths()}
  upstream backend {
    server ${DEST};
  }
  server {
    listen ${ADDR.front}:${FRONT_PORT} backlog=4096;
    keepalive_requests 100000000;
    location / {
      proxy_pass http://backend;
    }
  }
}
`;
}

interface Seen {
  requests: string[];
  /** Answers other than 2xx, as "status url". */
  failures: string[];
  console: string[];
  violations: () => Promise<string[]>;
}

/** Records every request the page makes, its console, and the CSP violations it reports. */
async function watch(page: Page): Promise<Seen> {
  const requests: string[] = [];
  const failures: string[] = [];
  const messages: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 300) failures.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  // Added through the DevTools protocol, which the page's policy does not apply to. (The page-side code
  // is given as strings: this project's TypeScript has no DOM types.)
  await page.addInitScript(
    "window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));",
  );
  return {
    requests,
    failures,
    console: messages,
    violations: () => page.evaluate<string[]>('window.__violations'),
  };
}

/** The figures a destination row shows, by field, as numbers (thin-space groups and % dropped). */
async function rowFigures(page: Page, row: string): Promise<Record<string, number>> {
  const cells = await page.evaluate<[string, string][]>(
    `[...document.querySelectorAll('tr[data-destination] [data-field]')].filter((el) => el.closest('tr').getAttribute('data-destination') === ${JSON.stringify(row)}).map((el) => [el.getAttribute('data-field'), el.textContent])`,
  );
  return Object.fromEntries(cells.map(([field, text]) => [field, Number(text.replace(/[\s\u202f%]/g, ''))]));
}

describeWith(['netns', 'built', 'command:nginx', 'command:wrk', 'command:ss', 'command:openssl', `command:${CHROMIUM}`], 'the status page in Chromium while nginx runs out of ports', () => {
  let lab: NginxLab | undefined;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let browser: Browser | undefined;
  let pki: TestPki | undefined;
  let wrk: Wrk | undefined;
  let failed = false;

  beforeAll(async () => {
    await sweepStale();
    lab = await NginxLab.create({ name: 'status-page', portRange: '40000 40199' });
    pki = makeTestPki();
    await lab.startFastUpstream();
    await lab.startNginx(nginxConf(lab));
    const web = join(lab.dir, 'web.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: ${pki.server.certFile}\n  key_file: ${pki.server.keyFile}\nbasic_auth_users:\n  ${USER}: ${bcrypt.hashSync(PASSWORD, 8)}\n`);
    agent = spawn('ip', ['netns', 'exec', lab.nginxNs.name, process.execPath, AGENT_MAIN, 'run',
      '--listen', `127.0.0.1:${AGENT_PORT}`, '--proc-root', '/proc', '--sample-interval-ms', String(SAMPLE_MS), '--rate-window-seconds', '10',
      '--nginx-conf', lab.conf, '--nginx-bin', lab.nginxBin, '--error-log', lab.errorLog, '--web.config.file', web], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    // Chromium inside nginx's namespace, where the agent listens on loopback.
    const wrapper = join(lab.dir, 'chromium-in-netns.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.nginxNs.name} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
    wrk = lab.wrk({ connections: 20, maxSeconds: 240, backoff: true });
  }, 90_000);

  afterAll(async () => {
    await wrk?.stop().catch(() => undefined);
    await browser?.close();
    agent?.kill('SIGTERM');
    if (failed && lab !== undefined) {
      lab.keepLogs = true;
      writeFileSync(join(lab.dir, 'agent.log'), agentLog);
    }
    await lab?.destroy();
    pki?.cleanup();
    await destroyAll();
  }, 60_000);

  const context = (extra: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> =>
    browser!.newContext({ ignoreHTTPSErrors: true, httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1280, height: 900 }, ...extra });

  /** Opens the page until the agent reports the destination out of ports, with `samples` samples of history. */
  async function openExhausted(page: Page, samples: number): Promise<void> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const res = await page.goto(`${ORIGIN}/`).catch(() => null);
      if (res?.status() === 200) {
        const view = await page.evaluate<StatusView>(STATUS_JSON);
        const d = view.report.destinations.find((x) => `${x.sourceIp} → ${x.destination}` === ROW);
        if (d?.level === 'exhausted' && (view.history?.entries.length ?? 0) >= samples) {
          // The page loaded before that answer: load it again, as it is now.
          await page.goto(`${ORIGIN}/`);
          return;
        }
      }
      if (Date.now() > deadline) throw new Error(`the agent did not report ${ROW} exhausted within 90 s: ${agentLog.slice(-3000)}`);
      await sleep(1000);
    }
  }

  it('shows the exhausted destination, the cause and its fix as rendered, the charts drawn, and nothing fetched from elsewhere', { timeout: 150_000 }, async (ctx) => {
    ctx.onTestFailed(() => { failed = true; });
    const c = await context();
    await c.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
    const page = await c.newPage();
    const seen = await watch(page);
    await openExhausted(page, 20);
    // From here on, nothing may fail (before the first sample the page and its JSON answer 503, by design).
    seen.failures.length = 0;
    seen.console.length = 0;
    await page.reload();

    // As rendered: the text a person reads.
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/^CRITICAL upstream backend \(10\.77\.2\.2:9000\) opens a new connection per request/m);
    expect(text).toContain(ROW);
    expect(text).toMatch(/EXHAUSTED\s+10\.77\.2\.1 → 10\.77\.2\.2:9000\s+backend/);
    expect(text).toMatch(/CRITICAL upstream_no_keepalive upstream backend \(10\.77\.2\.2:9000\) opens a new connection per request/);
    const fix = await page.locator('article.finding').first().locator('pre').innerText();
    expect(fix).toContain('upstream backend {');
    expect(fix).toContain('keepalive 32;');
    expect(fix).toContain('nginx -t && nginx -s reload');

    // The figures shown are the JSON's, for the sample the page shows.
    const shownAt = await page.locator('main').getAttribute('data-generated-at');
    const view = await page.evaluate<StatusView>(STATUS_JSON);
    if (view.report.generatedAt === shownAt) {
      const d = view.report.destinations.find((x) => `${x.sourceIp} → ${x.destination}` === ROW)!;
      expect(await rowFigures(page, ROW)).toEqual({
        used: d.used, capacity: d.capacity, headroom: d.headroom, headroomRatio: Math.round(d.headroomRatio * 1000) / 10,
        established: d.established, timeWait: d.timeWait, other: d.other,
        connectRatePerSecond: Number(d.connectRatePerSecond.toFixed(1)), maxSustainableConnectRate: Number(d.maxSustainableConnectRate.toFixed(1)),
      });
    }

    // The charts: SVG lines with the history's data points.
    expect(await page.locator('svg.chart').count()).toBe(4);
    const points = await page.evaluate<number[]>("[...document.querySelectorAll('#chart-free polyline, #chart-ratio polyline')].map((l) => l.points.numberOfItems)");
    expect(Math.max(...points)).toBeGreaterThanOrEqual(15);
    expect(await page.locator('#chart-errors rect').count()).toBeGreaterThan(0);

    // It refreshes itself from /api/status, once per sample.
    await expect.poll(() => page.locator('#refresh-state').innerText(), { timeout: 4 * SAMPLE_MS + 5000 }).toMatch(/^Live: refreshed/);
    const before = seen.requests.filter((u) => u.endsWith('/api/status')).length;
    await sleep(3 * SAMPLE_MS);
    expect(seen.requests.filter((u) => u.endsWith('/api/status')).length).toBeGreaterThan(before);

    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: process.env['STATUS_PAGE_SCREENSHOT'] ?? join(lab!.dir, 'status-page.png') });

    // Copy copies the fix.
    await page.locator('button.copy').first().click();
    await expect.poll(() => page.locator('button.copy').first().innerText()).toBe('Copied');
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(fix);

    // Nothing but the agent: every request to its origin, no policy violation, no error.
    expect(seen.requests.length).toBeGreaterThan(10);
    expect(seen.requests.filter((u) => new URL(u).origin !== ORIGIN)).toEqual([]);
    expect(await page.evaluate<boolean>('window.isSecureContext')).toBe(true);
    expect(await seen.violations()).toEqual([]);
    expect(seen.failures).toEqual([]);
    expect(seen.console.filter((m) => /Content.Security.Policy|^error|pageerror/i.test(m))).toEqual([]);
    await c.close();
  });

  it('says the same without JavaScript, the fix in a selectable block', { timeout: 60_000 }, async () => {
    const c = await context({ javaScriptEnabled: false });
    const page = await c.newPage();
    await openExhausted(page, 1);
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/EXHAUSTED\s+10\.77\.2\.1 → 10\.77\.2\.2:9000\s+backend/);
    expect(await page.locator('article.finding pre').first().innerText()).toContain('keepalive 32;');
    expect(await page.locator('button.copy').first().isVisible()).toBe(false);
    expect(await page.locator('#refresh-state').innerText()).toBe('');
    await c.close();
  });

  it('asks for credentials: without them the browser gets nothing but a 401', { timeout: 30_000 }, async () => {
    // Headless Chromium cannot ask a person for the password: it ends the navigation.
    const anonymous = await browser!.newContext({ ignoreHTTPSErrors: true });
    await expect((await anonymous.newPage()).goto(`${ORIGIN}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();
    // From the page, a request without the credentials is refused with the Basic challenge.
    const c = await context();
    const page = await c.newPage();
    await page.goto(`${ORIGIN}/`);
    const res = await page.evaluate<{ status: number; challenge: string | null }>(
      "fetch('api/status', { credentials: 'omit' }).then((r) => ({ status: r.status, challenge: r.headers.get('www-authenticate') }))",
    );
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(/^Basic /);
    await c.close();
  });

  it('fits a phone: no sideways scrolling of the page, the tables scroll in their box', { timeout: 60_000 }, async () => {
    const c = await context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await c.newPage();
    await openExhausted(page, 1);
    const { scroll, width } = await page.evaluate<{ scroll: number; width: number }>('({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })');
    expect(scroll).toBeLessThanOrEqual(width);
    await page.screenshot({ path: join(lab!.dir, 'status-page-phone.png') });
    await c.close();
  });
});
