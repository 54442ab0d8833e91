/**
 * What holds the ports, against a real nginx: four ways nginx's upstream sockets
 * end up in a state other than ESTABLISHED and TIME_WAIT, each made to happen in
 * private network namespaces (support/nginxLab.ts: client, nginx and upstream
 * hosts), on every nginx of test/support/nginxVersions.ts. nginx is the oracle for
 * what it does, the kernel for the states: the agent's per-state count for the
 * destination must equal `ss -tan state … dst …` inside nginx's namespace
 * (support/kernelOracle.ts), and its top finding must name the state.
 *
 *   SYN_SENT    the upstream namespace drops the SYNs to the upstream address
 *               (iptables; a blackhole route in nginx's own namespace would fail
 *               connect() at once instead), so every connection attempt waits
 *               for proxy_connect_timeout (60 s).
 *   FIN_WAIT1   the upstream accepts and never reads (helpers/stuck-upstream.mjs
 *               "noread", its receive buffer 4 KiB); wrk POSTs 64 KiB bodies, so
 *               nginx's send queue fills; proxy_send_timeout 1s makes nginx give
 *               up and close, and its FIN waits behind the unsent data while the
 *               kernel probes the zero window.
 *   FIN_WAIT2   the upstream reads the request and never answers nor closes
 *               ("hold"); proxy_read_timeout 1s makes nginx give up (504) and
 *               close; the upstream's kernel acknowledges the FIN, its
 *               application does not close, and nginx's orphan waits out
 *               tcp_fin_timeout.
 *   CLOSE_WAIT  the upstream answers 40 KiB and closes at once ("answer-close");
 *               nginx has proxy_buffering off and its clients never read
 *               (helpers/slow-clients.mjs, receive buffers of 4 KiB on both
 *               sides of nginx): nginx stops reading the upstream once its buffer
 *               is full, and the rest of the answer and the upstream's FIN wait
 *               in its receive queue until send_timeout (60 s).
 *
 * Each case narrows the range to 200 ports and drives more requests at once than
 * that, so the state fills the range within seconds.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Report, ReportDestination } from '../../../agent/diagnosis/report.js';
import type { Finding } from '../../../agent/hints/types.js';
import { describeEachNginx } from '../../support/nginxVersions.js';
import { ssCount, ssPortsUsed, type OracleState } from '../support/kernelOracle.js';
import { destroyAll, sweepStale, type Helper } from '../support/netns.js';
import { ADDR, FRONT_PORT, NginxLab, UPSTREAM_PORT, type Diagnosis } from '../support/nginxLab.js';

const RANGE = '40000 40199';
const CAPACITY = 200;
const DEST = `${ADDR.upstream}:${UPSTREAM_PORT}`;
const NAME = `${ADDR.nginxSource} → ${DEST}`;
const STATE_LABEL: Record<OracleState, string> = {
  established: 'ESTABLISHED',
  syn_sent: 'SYN_SENT',
  fin_wait1: 'FIN_WAIT1',
  fin_wait2: 'FIN_WAIT2',
  time_wait: 'TIME_WAIT',
  close_wait: 'CLOSE_WAIT',
  last_ack: 'LAST_ACK',
};

function must<T>(v: T | undefined, what: string, report?: Report): T {
  if (v === undefined) throw new Error(`${what} missing${report !== undefined ? `; report: ${JSON.stringify(report, null, 2).slice(0, 4000)}` : ''}`);
  return v;
}

const row = (report: Report): ReportDestination | undefined => report.destinations.find((d) => d.sourceIp === ADDR.nginxSource && d.destination === DEST);

/** The proxy's nginx.conf: one upstream group `backend` with the one server, one location proxying to it with `location` lines. */
function nginxConf(lab: NginxLab, comment: string, location: readonly string[]): string {
  return `# nginx-states.test.ts: ${comment}
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
  upstream backend {
    server ${DEST};
  }
  server {
    listen ${ADDR.front}:${FRONT_PORT} backlog=4096;
    keepalive_requests 100000000;
    location / {
      proxy_pass http://backend;
${location.map((l) => `      ${l}`).join('\n')}
    }
  }
}
`;
}

describeEachNginx(
  'what holds the ports, against a real nginx',
  (nginx) => {
    let lab: NginxLab | undefined;
    const figures: string[] = [];

    beforeAll(async () => {
      const swept = await sweepStale();
      if (swept.length > 0) console.info(`[nginx-states] deleted namespaces left by dead test runs: ${swept.join(' ')}`);
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
      if (figures.length > 0) console.info(`[nginx-states] figures (nginx ${nginx.label}):\n${figures.join('\n')}`);
    });

    async function setUp(scenario: string): Promise<NginxLab> {
      const l = await NginxLab.create({ name: `states-${scenario}`, portRange: RANGE, nginxBin: nginx.bin });
      lab = l;
      return l;
    }

    /** Polls `ss` until at least `min` sockets to the upstream are in `state` and the range is (all but) full. */
    async function fill(l: NginxLab, state: OracleState, min: number, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const n = await ssCount(l.nginxNs, state, DEST);
        const used = await ssPortsUsed(l.nginxNs, DEST);
        if (n >= min && used >= CAPACITY - 2) return;
        if (Date.now() > deadline) throw new Error(`${n} sockets to ${DEST} in ${STATE_LABEL[state]}, ${used} ports used, after ${timeoutMs} ms (logs in ${l.dir})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    interface Observed {
      d: Diagnosis;
      row: ReportDestination;
      top: Finding;
      /** ss counts of the state just before and just after the agent's sample, and of ESTABLISHED. */
      ss: { before: number; after: number; established: number };
    }

    /** ss, then agent diagnose, then ss again; checks the agent's count of `state` against the kernel's and that the top finding names it. */
    async function observe(l: NginxLab, state: OracleState, id: string): Promise<Observed> {
      const before = await ssCount(l.nginxNs, state, DEST);
      const established = await ssCount(l.nginxNs, 'established', DEST);
      const d = await l.diagnose(['--rate-interval-ms', '0']);
      const after = await ssCount(l.nginxNs, state, DEST);
      expect(d.code, `agent diagnose: ${d.stderr}`).not.toBeNull();
      const r = d.report;
      const dest = must(row(r), `a row for ${NAME}`, r);
      const agent = dest.states[state] ?? 0;
      // The kernel's count, read just before and just after the agent's own read: equal when the state holds still.
      if (before === after) expect(agent, `${STATE_LABEL[state]}: agent vs ss`).toBe(before);
      else {
        expect(agent).toBeGreaterThanOrEqual(Math.min(before, after));
        expect(agent).toBeLessThanOrEqual(Math.max(before, after));
      }
      expect(agent).toBeGreaterThanOrEqual(0.6 * CAPACITY);
      expect(dest.other).toBe(Object.entries(dest.states).reduce((s, [k, n]) => (k === 'established' || k === 'time_wait' ? s : s + n), 0));
      expect(r.status).toBe('CRITICAL');
      const top = must(r.findings[0], 'a finding', r);
      expect(top.id, r.findings.map((f) => `${f.id}: ${f.summary}`).join('\n')).toBe(id);
      expect(top.severity).toBe('critical');
      expect(top.summary).toContain(STATE_LABEL[state]);
      expect(top.summary).toContain(`${agent} of its sockets to ${DEST}`);
      expect(top.upstreams).toEqual(['backend']);
      expect(top.destinations).toContain(NAME);
      // No finding may say connections are open when the ports are held in another state.
      const est = r.findings.find((f) => f.id === 'established_exhaustion');
      if (est !== undefined) expect(est.summary).toContain(`${dest.states.established ?? 0} connections to ${DEST} are open at once`);
      expect(r.findings.filter((f) => f.id === 'established_exhaustion' && f.severity === 'critical')).toEqual([]);
      // An exhausted range makes the connect rate a lower bound: the attempts beyond it left no socket.
      if (dest.headroom === 0) expect(dest.connectRate.lowerBoundBecause).toContain('exhausted');
      return { d, row: dest, top, ss: { before, after, established } };
    }

    function figure(what: string, o: Observed, state: OracleState): void {
      figures.push(
        `${what}: ss ${STATE_LABEL[state]} ${o.ss.before}/${o.ss.after} (before/after), ESTABLISHED ${o.ss.established}; ` +
          `agent ${JSON.stringify(o.row.states)}, ${o.row.headroom}/${o.row.capacity} free; top ${o.top.id} (${o.top.severity}): "${o.top.summary}"`,
      );
    }

    it('SYN_SENT: an upstream whose SYNs are dropped; syn_sent_exhaustion first', { timeout: 90_000 }, async () => {
      const l = await setUp('syn-sent');
      // Dropped in the upstream's namespace, so nginx's SYNs leave and nothing answers.
      await l.upstreamNs.run('iptables', ['-A', 'INPUT', '-p', 'tcp', '--syn', '-d', ADDR.upstream, '--dport', String(UPSTREAM_PORT), '-j', 'DROP']);
      await l.startNginx(nginxConf(l, 'SYN_SENT: the upstream drops SYNs; proxy_connect_timeout left at 60s', []));
      const w = l.wrk({ connections: 250, maxSeconds: 80, timeoutSeconds: 70, backoff: true });
      await fill(l, 'syn_sent', CAPACITY - 5, 30_000);
      const o = await observe(l, 'syn_sent', 'syn_sent_exhaustion');
      await w.stop();
      expect(o.top.fix).toContain('proxy_connect_timeout 3s;');
      figure('SYN_SENT', o, 'syn_sent');
    });

    it('FIN_WAIT1: nginx gives up on an upstream that does not read; fin_wait1_exhaustion first', { timeout: 90_000 }, async () => {
      const l = await setUp('fin-wait1');
      // Small buffers on both ends: the 64 KiB bodies cannot all fit, so nginx's send queue holds data when it closes.
      await l.upstreamNs.sysctl('net.ipv4.tcp_rmem', '4096 4096 4096');
      await l.nginxNs.sysctl('net.ipv4.tcp_wmem', '4096 4096 4096');
      const upstream: Helper = l.upstreamNs.spawnHelper('stuck-upstream.mjs', { listen: [{ address: ADDR.upstream, port: UPSTREAM_PORT }], mode: 'noread', holdMs: 300_000 });
      await upstream.until('ready', 15_000);
      await l.startNginx(
        nginxConf(l, 'FIN_WAIT1: the upstream never reads; nginx gives up writing the request after 1 s', ['client_max_body_size 1m;', 'proxy_send_timeout 1s;']),
      );
      const w = l.wrk({ connections: 80, maxSeconds: 80, timeoutSeconds: 10, script: 'post-backoff.lua' });
      await fill(l, 'fin_wait1', 0.6 * CAPACITY, 40_000);
      const o = await observe(l, 'fin_wait1', 'fin_wait1_exhaustion');
      await w.stop();
      expect(o.top.fix).toContain('net.ipv4.tcp_orphan_retries = 3');
      figure('FIN_WAIT1', o, 'fin_wait1');
    });

    it('FIN_WAIT2: nginx gives up on an upstream that never answers; fin_wait2_exhaustion first', { timeout: 90_000 }, async () => {
      const l = await setUp('fin-wait2');
      const upstream: Helper = l.upstreamNs.spawnHelper('stuck-upstream.mjs', { listen: [{ address: ADDR.upstream, port: UPSTREAM_PORT }], mode: 'hold', holdMs: 300_000 });
      await upstream.until('ready', 15_000);
      await l.startNginx(nginxConf(l, 'FIN_WAIT2: the upstream never answers nor closes; nginx gives up reading after 1 s (504)', ['proxy_read_timeout 1s;']));
      const w = l.wrk({ connections: 60, maxSeconds: 80, timeoutSeconds: 10, backoff: true });
      await fill(l, 'fin_wait2', 0.6 * CAPACITY, 40_000);
      const o = await observe(l, 'fin_wait2', 'fin_wait2_exhaustion');
      await w.stop();
      expect(o.top.fix).toContain('net.ipv4.tcp_fin_timeout = 15');
      // nginx said why it gave up: "upstream timed out (110: Connection timed out) while reading response header from upstream".
      expect(o.top.evidence.join('\n')).toMatch(/nginx logged \d+ × upstream_timeout_read towards 10\.77\.2\.2:9000/);
      figure('FIN_WAIT2', o, 'fin_wait2');
    });

    it('CLOSE_WAIT: unbuffered answers to clients that do not read; close_wait_exhaustion first', { timeout: 90_000 }, async () => {
      const l = await setUp('close-wait');
      // Small buffers between nginx and its clients: nginx cannot pass the whole answer on.
      await l.clientNs.sysctl('net.ipv4.tcp_rmem', '4096 4096 4096');
      await l.nginxNs.sysctl('net.ipv4.tcp_wmem', '4096 4096 4096');
      const upstream: Helper = l.upstreamNs.spawnHelper('stuck-upstream.mjs', { listen: [{ address: ADDR.upstream, port: UPSTREAM_PORT }], mode: 'answer-close', responseBytes: 40_960 });
      await upstream.until('ready', 15_000);
      await l.startNginx(nginxConf(l, 'CLOSE_WAIT: proxy_buffering off and clients that never read', ['proxy_buffering off;', 'proxy_buffer_size 4k;']));
      const clients = l.clientNs.spawnHelper('slow-clients.mjs', { host: ADDR.front, port: FRONT_PORT, connections: 240, path: '/' });
      await clients.until('ready', 30_000);
      await fill(l, 'close_wait', 0.6 * CAPACITY, 30_000);
      const o = await observe(l, 'close_wait', 'close_wait_exhaustion');
      expect(o.top.fix).toContain('proxy_buffering on;');
      figure('CLOSE_WAIT', o, 'close_wait');
    });
  },
  { requires: ['netns', 'built', 'command:wrk', 'command:ss', 'command:iptables'] },
);
