/**
 * The connect rate against a real nginx: the agent's figure for the upstream
 * destination must come within 2× of the rate measured independently, the Tcp
 * PassiveOpens of the upstream's own network namespace over the same interval
 * (only nginx connects to it), on every nginx of test/support/nginxVersions.ts:
 *
 *   steady  no pool (a bare proxy_pass: nginx closes each connection, TIME_WAIT
 *           lands on its side), wrk paced (helpers/paced.lua) well below what the
 *           range sustains, for 20 s; diagnose with the default 60 s window.
 *           Dividing by the window would read a third of the rate.
 *   burst   a pool retiring each connection after 100 requests, wrk unpaced for
 *           4 s, diagnose at once: count ÷ 60 s read about 4/60 of the rate.
 *   reuse   tcp_tw_reuse=1 in nginx's namespace, so connect() takes over TIME_WAIT
 *           4-tuples older than 1 s and the ones it replaces leave no trace;
 *           no pool, wrk unpaced. Without an ActiveOpens reading
 *           (--rate-interval-ms 0) the figure must say it is a lower bound
 *           (time_wait_reuse); with it (the default 1 s), the figure must come
 *           within 2× of the upstream's accept rate over the same second.
 *
 * The ranges are wide enough that none of these runs out of ports: there the
 * figure must not be flagged a lower bound. (At 0 free ports it must be:
 * nginx-states.test.ts checks that on exhausted ranges.)
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Report, ReportDestination } from '../../../agent/diagnosis/report.js';
import { describeEachNginx } from '../../support/nginxVersions.js';
import { acceptRate, passiveOpens } from '../support/kernelOracle.js';
import { destroyAll, sweepStale } from '../support/netns.js';
import { ADDR, FRONT_PORT, NginxLab, UPSTREAM_PORT, type Diagnosis } from '../support/nginxLab.js';

const DEST = `${ADDR.upstream}:${UPSTREAM_PORT}`;
const NAME = `${ADDR.nginxSource} → ${DEST}`;
const HTTP11 = ['proxy_http_version 1.1;', 'proxy_set_header Connection "";'];

function must<T>(v: T | undefined, what: string, report?: Report): T {
  if (v === undefined) throw new Error(`${what} missing${report !== undefined ? `; report: ${JSON.stringify(report, null, 2).slice(0, 4000)}` : ''}`);
  return v;
}

const row = (report: Report): ReportDestination => must(report.destinations.find((d) => d.sourceIp === ADDR.nginxSource && d.destination === DEST), `a row for ${NAME}`, report);

/**
 * The proxy's nginx.conf. `upstream`: the lines of an upstream block `backend`
 * the location proxies to, or null for a bare proxy_pass to the address (no pool
 * possible). The HTTP/1.1 lines make nginx, not the upstream, close first on
 * 1.22 too, so TIME_WAIT lands on nginx's side.
 */
function nginxConf(lab: NginxLab, comment: string, upstream: readonly string[] | null): string {
  return `# nginx-rates.test.ts: ${comment}
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 8192;
pid ${lab.pidFile};
error_log ${lab.errorLog} warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  ${lab.frontTempPaths()}
${upstream === null ? '' : `  upstream backend {\n${upstream.map((l) => `    ${l}`).join('\n')}\n  }\n`}  server {
    listen ${ADDR.front}:${FRONT_PORT} backlog=4096;
    keepalive_requests 100000000;
    location / {
      proxy_pass http://${upstream === null ? DEST : 'backend'};
${HTTP11.map((l) => `      ${l}`).join('\n')}
    }
  }
}
`;
}

describeEachNginx(
  'the connect rate against a real nginx',
  (nginx) => {
    let lab: NginxLab | undefined;
    const figures: string[] = [];

    beforeAll(async () => {
      const swept = await sweepStale();
      if (swept.length > 0) console.info(`[nginx-rates] deleted namespaces left by dead test runs: ${swept.join(' ')}`);
    });
    afterEach(async (ctx) => {
      const l = lab;
      lab = undefined;
      if (l === undefined) return;
      if (ctx.task.result?.state === 'fail') l.keepLogs = true;
      await l.destroy();
    });
    afterAll(async () => {
      await destroyAll();
      if (figures.length > 0) console.info(`[nginx-rates] figures (nginx ${nginx.label}):\n${figures.join('\n')}`);
    });

    async function setUp(scenario: string, portRange: string, upstream: readonly string[] | null, comment: string): Promise<NginxLab> {
      const l = await NginxLab.create({ name: `rates-${scenario}`, portRange, nginxBin: nginx.bin });
      lab = l;
      await l.startFastUpstream();
      await l.startNginx(nginxConf(l, comment, upstream));
      return l;
    }

    async function diagnose(l: NginxLab, extra: readonly string[] = []): Promise<Diagnosis> {
      const d = await l.diagnose(extra);
      expect(d.code, `agent diagnose: ${d.stderr}`).not.toBeNull();
      expect(d.code!, `agent diagnose exit code (3 is UNKNOWN): ${d.stderr}`).toBeLessThan(3);
      return d;
    }

    /** The agent's figure within 2× of the independent one. */
    function expectWithin2x(agent: number, truth: number, what: string): void {
      expect(truth, `${what}: the independent rate`).toBeGreaterThan(0);
      expect(agent / truth, `${what}: agent ${agent.toFixed(1)}/s vs upstream accepts ${truth.toFixed(1)}/s`).toBeGreaterThanOrEqual(0.5);
      expect(agent / truth, `${what}: agent ${agent.toFixed(1)}/s vs upstream accepts ${truth.toFixed(1)}/s`).toBeLessThanOrEqual(2);
    }

    const describeRate = (d: ReportDestination): string =>
      `${d.connectRate.perSecond.toFixed(1)}/s (${d.connectRate.basis}, span ${d.connectRate.spanSeconds} s, ${d.connectRate.timeWaitSockets} TIME_WAIT, ` +
      `lower bound ${String(d.connectRate.lowerBound)}${d.connectRate.lowerBound ? `: ${d.connectRate.lowerBoundBecause.join(', ')}` : ''})`;

    it('steady, no pool, 20 s into the load: the rate over the 20 s, not over the 60 s window', { timeout: 90_000 }, async () => {
      const l = await setUp('steady', '10000 59999', null, 'steady: a bare proxy_pass (no pool), paced clients');
      const before = await passiveOpens(l.upstreamNs);
      const w = l.wrk({ connections: 10, maxSeconds: 60, script: 'paced.lua' });
      await new Promise((r) => setTimeout(r, 20_000));
      const after = await passiveOpens(l.upstreamNs);
      const d = await diagnose(l);
      const wrk = await w.stop();
      const truth = acceptRate(before, after);
      const dest = row(d.report);
      expect(dest.headroom).toBeGreaterThan(0.5 * dest.capacity);
      expect(dest.connectRate).toMatchObject({ basis: 'time_wait_ages', lowerBound: false, lowerBoundBecause: [] });
      expectWithin2x(dest.connectRatePerSecond, truth, 'steady');
      // The span is the time the load has run, not the window.
      expect(dest.connectRate.spanSeconds).toBeGreaterThan(15);
      expect(dest.connectRate.spanSeconds).toBeLessThan(30);
      figures.push(
        `steady: upstream accepted ${truth.toFixed(1)}/s over ${((after.atMs - before.atMs) / 1000).toFixed(1)} s (wrk ${wrk.requestsPerSecond.toFixed(0)} req/s); ` +
          `agent ${describeRate(dest)}; count ÷ 60 s would say ${(dest.connectRate.timeWaitSockets / 60).toFixed(1)}/s`,
      );
    });

    it('a 4 s burst through a pool, diagnosed at once: the burst\'s rate, not 4/60 of it', { timeout: 90_000 }, async () => {
      const l = await setUp('burst', '10000 59999', [`server ${DEST};`, 'keepalive 32;', 'keepalive_requests 100;'], 'burst: a pool retiring each connection after 100 requests');
      const before = await passiveOpens(l.upstreamNs);
      const wrk = await l.wrk({ connections: 20, maxSeconds: 4 }).finished(20_000);
      const after = await passiveOpens(l.upstreamNs);
      const d = await diagnose(l);
      // Over the burst itself: the pool's first connections and the retired ones.
      const truth = (after.value - before.value) / wrk.seconds;
      const dest = row(d.report);
      expect(dest.connectRate).toMatchObject({ basis: 'time_wait_ages', lowerBound: false });
      expectWithin2x(dest.connectRatePerSecond, truth, 'burst');
      expect(dest.connectRate.spanSeconds).toBeLessThan(8);
      figures.push(
        `burst: wrk ${wrk.requests} requests in ${wrk.seconds.toFixed(1)} s (${wrk.requestsPerSecond.toFixed(0)} req/s); upstream accepted ${after.value - before.value} connections, ` +
          `${truth.toFixed(1)}/s; agent ${describeRate(dest)}; count ÷ 60 s would say ${(dest.connectRate.timeWaitSockets / 60).toFixed(1)}/s`,
      );
    });

    it('tcp_tw_reuse=1: a lower bound from TIME_WAIT alone; with ActiveOpens, within 2× of the accept rate', { timeout: 90_000 }, async () => {
      const l = await setUp('reuse', '40000 49999', null, 'reuse: a bare proxy_pass (no pool), tcp_tw_reuse=1');
      await l.nginxNs.sysctl('net.ipv4.tcp_tw_reuse', '1');
      const w = l.wrk({ connections: 20, maxSeconds: 60 });
      await new Promise((r) => setTimeout(r, 10_000));
      const alone = row((await diagnose(l, ['--rate-interval-ms', '0'])).report);
      expect(alone.timeWaitReuse).toBe(true);
      expect(alone.connectRate).toMatchObject({ basis: 'time_wait_ages', lowerBound: true });
      expect(alone.connectRate.lowerBoundBecause).toContain('time_wait_reuse');
      const before = await passiveOpens(l.upstreamNs);
      const d = await diagnose(l);
      const after = await passiveOpens(l.upstreamNs);
      const wrk = await w.stop();
      const truth = acceptRate(before, after);
      const dest = row(d.report);
      expectWithin2x(dest.connectRatePerSecond, truth, 'reuse');
      expect(dest.headroom).toBeGreaterThan(0);
      const attempts = must(d.report.hostSockets?.connectAttemptsPerSecond ?? undefined, 'hostSockets.connectAttemptsPerSecond', d.report);
      // ActiveOpens in nginx's namespace counts what the upstream's PassiveOpens counts (nothing else connects there).
      expectWithin2x(attempts, truth, 'ActiveOpens');
      if (dest.connectRate.basis === 'active_opens') expect(dest.connectRate.lowerBound).toBe(false);
      figures.push(
        `reuse: wrk ${wrk.requestsPerSecond.toFixed(0)} req/s; upstream accepted ${truth.toFixed(1)}/s over the diagnose; ActiveOpens ${attempts.toFixed(1)}/s; ` +
          `agent from TIME_WAIT alone ${describeRate(alone)}; with ActiveOpens ${describeRate(dest)}`,
      );
    });
  },
  { requires: ['netns', 'built', 'command:wrk', 'command:ss'] },
);
