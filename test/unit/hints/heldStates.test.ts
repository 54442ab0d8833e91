/**
 * The findings for ports held by a state other than TIME_WAIT, table-first: each
 * fires for its state, leads when its state holds the most ports, stays silent
 * on the near misses, and never claims connections are open when they are in
 * another state. Sockets come from synthetic /proc rows; the config is hand-built.
 */
import { describe, expect, it } from 'vitest';
import { computeFindings, type FindingInput, type NginxEvidence } from '../../../agent/hints/findings.js';
import type { NginxConfigModel, ProxyPass, UpstreamGroup } from '../../../agent/nginxconf/model/types.js';
import type { KernelSettings } from '../../../agent/sockets/model/headroom.js';
import { findingInput } from '../../support/kernelState.js';
import { established, timeWaits, type Row } from '../../support/procText.js';

const SETTINGS: KernelSettings = { portRange: { low: 40000, high: 40999 }, reservedPorts: [], tcpTwReuse: 2, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 };
const AT = { file: '/etc/nginx/conf.d/app.conf', line: 1 };
const DEST = '10.0.0.5:8080';

const GROUP: UpstreamGroup = {
  name: 'backend',
  servers: [{ address: DEST, host: '10.0.0.5', port: 8080, weight: 1, backup: false, down: false, maxConns: null, at: AT }],
  keepalive: null,
  keepaliveRequests: null,
  keepaliveTimeMs: null,
  keepaliveTimeoutMs: null,
  at: AT,
};
const PASS: ProxyPass = {
  target: 'http://backend',
  scheme: 'http',
  upstream: 'backend',
  host: null,
  port: null,
  hasVariables: false,
  httpVersion: null,
  connectionHeader: null,
  bind: null,
  context: 'server app.example:80 > location /',
  at: { file: AT.file, line: 12 },
};
const CONFIG: NginxConfigModel = {
  files: ['/etc/nginx/nginx.conf', AT.file],
  problems: [],
  upstreams: [GROUP],
  proxyPasses: [PASS],
  workerProcesses: 2,
  workerConnections: 1024,
  workerRlimitNofile: null,
  splitClients: [],
};
const NGINX: NginxEvidence = { config: CONFIG, configNote: null, version: '1.22.1', routes: new Map([[DEST, { upstreams: ['backend'], direct: [] }]]) };

const STATE = { established: 1, syn_sent: 2, fin_wait1: 4, fin_wait2: 5, close_wait: 8, last_ack: 9 } as const;

/** n sockets towards DEST in `state`, from ports starting at `from`. */
const sockets = (n: number, state: keyof typeof STATE, from: number): Row[] =>
  state === 'established'
    ? established(n, '10.0.0.1', from, '10.0.0.5', 8080)
    : Array.from({ length: n }, (_, i) => ({ local: '10.0.0.1', lport: from + i, remote: '10.0.0.5', rport: 8080, state: STATE[state], when: state === 'fin_wait2' ? 3000 : 0 }));
/** TIME_WAIT towards DEST spread over the last minute. */
const churn = (n: number, from: number): Row[] =>
  timeWaits(n, '10.0.0.1', from, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 6000 - Math.floor((i * 6000) / n) }));

/** `nginx`: null for no config read at all. */
const input = (rows: Row[], nginx: NginxEvidence | null = NGINX, extra: Partial<FindingInput> = {}): FindingInput =>
  findingInput(rows, SETTINGS, { ...(nginx !== null ? { nginx } : {}), ...extra });

/** The findings that say what holds the ports (and the keepalive ones), in the report's order. */
const CAUSES = new Set(['established_exhaustion', 'syn_sent_exhaustion', 'fin_wait1_exhaustion', 'fin_wait2_exhaustion', 'close_wait_exhaustion', 'upstream_no_keepalive']);
const causes = (i: FindingInput): string[] => computeFindings(i).filter((f) => CAUSES.has(f.id)).map((f) => `${f.id}:${f.severity}`);

describe('what holds the ports', () => {
  it.each<[string, Row[], string[]]>([
    ['960 SYN_SENT → syn_sent_exhaustion', sockets(960, 'syn_sent', 40000), ['syn_sent_exhaustion:critical']],
    ['960 FIN_WAIT1 and nothing open → fin_wait1_exhaustion, not established_exhaustion', sockets(960, 'fin_wait1', 40000), ['fin_wait1_exhaustion:critical']],
    ['960 FIN_WAIT2 → fin_wait2_exhaustion', sockets(960, 'fin_wait2', 40000), ['fin_wait2_exhaustion:critical']],
    ['960 CLOSE_WAIT → close_wait_exhaustion', sockets(960, 'close_wait', 40000), ['close_wait_exhaustion:critical']],
    ['960 ESTABLISHED → established_exhaustion alone', sockets(960, 'established', 40000), ['established_exhaustion:critical']],
    [
      '600 established and 300 FIN_WAIT2 (a third): both, the one holding more first and the other one step milder',
      [...sockets(600, 'established', 40000), ...sockets(300, 'fin_wait2', 40600)],
      ['established_exhaustion:warning', 'fin_wait2_exhaustion:info'],
    ],
    [
      '300 established and 660 SYN_SENT: SYN_SENT leads',
      [...sockets(300, 'established', 40000), ...sockets(660, 'syn_sent', 40300)],
      ['syn_sent_exhaustion:critical', 'established_exhaustion:warning'],
    ],
    [
      'near miss: 860 established and 100 FIN_WAIT1 (a tenth): only established',
      [...sockets(860, 'established', 40000), ...sockets(100, 'fin_wait1', 40860)],
      ['established_exhaustion:critical'],
    ],
    ['near miss: 500 FIN_WAIT1, half the range: a healthy destination gets nothing', sockets(500, 'fin_wait1', 40000), []],
    [
      'TIME_WAIT churn and a third in FIN_WAIT2: the keepalive finding, and FIN_WAIT2 one step milder',
      [...churn(600, 40000), ...sockets(360, 'fin_wait2', 40600)],
      ['upstream_no_keepalive:critical', 'fin_wait2_exhaustion:warning'],
    ],
    ['LAST_ACK has no finding of its own', sockets(960, 'last_ack', 40000), []],
  ])('%s', (_what, rows, expected) => {
    expect(causes(input(rows))).toEqual(expected);
  });

  it('the slow upstream whose clients gave up: FIN_WAIT1 leads, and no finding says connections are open', () => {
    const fs = computeFindings(input(sockets(960, 'fin_wait1', 40000)));
    const top = fs[0]!;
    expect(top.id).toBe('fin_wait1_exhaustion');
    expect(top.upstreams).toEqual(['backend']);
    expect(top.summary).toBe(
      'upstream backend is short of ports because 960 of its sockets to 10.0.0.5:8080 are in FIN_WAIT1 (100.0 % of the used ports): ' +
        'nginx closed these connections and the upstream has not acknowledged: it is not reading, or no longer answers',
    );
    expect(top.evidence[0]).toBe('10.0.0.1 → 10.0.0.5:8080: 960 FIN_WAIT1 (100.0 % of 960 used ports); 0 established, 0 TIME_WAIT blocking, 960 FIN_WAIT1; 40/1000 ports free');
    for (const f of fs) expect(`${f.summary}\n${f.evidence.join('\n')}`).not.toMatch(/connections? (to \S+ )?are open/);
    expect(fs.find((f) => f.id === 'headroom_critical')!.evidence[0]).toContain('0 established, 0 TIME_WAIT blocking, 960 FIN_WAIT1');
    expect(fs.find((f) => f.id === 'headroom_critical')!.fix).toBe('See fin_wait1_exhaustion (backend) above: that change removes the cause.');
  });

  it.each<[keyof typeof STATE, string, RegExp[]]>([
    ['syn_sent', 'syn_sent_exhaustion', [/# \/etc\/nginx\/conf\.d\/app\.conf:12, server app\.example:80 > location \/:\n {4}proxy_pass http:\/\/backend;\n {4}proxy_connect_timeout 3s;/, /server 10\.0\.0\.5:8080 max_fails=3 fail_timeout=30s;/]],
    ['fin_wait1', 'fin_wait1_exhaustion', [/^net\.ipv4\.tcp_orphan_retries = 3 /m, /Do not lower net\.ipv4\.tcp_max_orphans/]],
    ['fin_wait2', 'fin_wait2_exhaustion', [/^net\.ipv4\.tcp_fin_timeout = 15 {3}# now 60 s$/m]],
    ['close_wait', 'close_wait_exhaustion', [/ {4}proxy_pass http:\/\/backend;\n {4}proxy_buffering on; /, /proxy_ignore_headers X-Accel-Buffering;/]],
  ])('%s: the fix in the location that proxies there', (state, id, patterns) => {
    const f = computeFindings(input(sockets(960, state, 40000))).find((x) => x.id === id)!;
    for (const p of patterns) expect(f.fix).toMatch(p);
    expect(f.why.length).toBeGreaterThan(200);
    expect(f.effect).not.toBeNull();
  });

  it.each<[keyof typeof STATE, string, string]>([
    ['syn_sent', 'syn_sent_exhaustion', 'about 48 SYN_SENT sockets towards 10.0.0.5:8080 instead of 960'],
    ['fin_wait1', 'fin_wait1_exhaustion', 'about 29 FIN_WAIT1 sockets towards 10.0.0.5:8080 instead of 960'],
    ['fin_wait2', 'fin_wait2_exhaustion', 'about 240 FIN_WAIT2 sockets towards 10.0.0.5:8080 instead of 960'],
  ])('%s: the effect in numbers', (state, id, text) => {
    expect(computeFindings(input(sockets(960, state, 40000))).find((x) => x.id === id)!.effect).toContain(text);
  });

  it('tcp_fin_timeout already short: FIN_WAIT2 asks the upstream to close sooner instead', () => {
    const i = input(sockets(960, 'fin_wait2', 40000));
    const f = computeFindings({ ...i, sysctls: { ...i.sysctls, tcpFinTimeoutSeconds: 10 } }).find((x) => x.id === 'fin_wait2_exhaustion')!;
    expect(f.fix).toContain('net.ipv4.tcp_fin_timeout is already 10 s');
    expect(f.fix).not.toMatch(/^net\.ipv4/m);
    expect(f.effect).toBeNull();
  });

  it('without nginx config the state findings still say what holds the ports, with a template fix', () => {
    const fs = computeFindings(input(sockets(960, 'syn_sent', 40000), null));
    expect(fs[0]!.id).toBe('syn_sent_exhaustion');
    expect(fs[0]!.summary).toMatch(/^10\.0\.0\.1 → 10\.0\.0\.5:8080 is short of ports because 960 of its sockets/);
    expect(fs[0]!.fix).toContain('# in the location that proxies to 10.0.0.5:8080 (nginx config not read):\n    proxy_connect_timeout 3s;');
    expect(fs[0]!.upstreams).toEqual([]);
    // established_exhaustion stays config-only, as before.
    expect(causes(input(sockets(960, 'established', 40000), null))).toEqual([]);
  });

  it('nginx said so too: connect timeouts from the error log join the SYN_SENT evidence', () => {
    const errorLog = { sinceMs: Date.UTC(2026, 10, 21, 9, 55), untilMs: Date.UTC(2026, 10, 21, 10, 0), past: false, byDestination: { [DEST]: { etimedout_connect: 37 } }, byUpstreamGroup: {}, byBindAddress: {}, byKind: [] };
    const f = computeFindings(input(sockets(960, 'syn_sent', 40000), NGINX, { errorLog })).find((x) => x.id === 'syn_sent_exhaustion')!;
    expect(f.evidence).toContain('nginx logged 37 × etimedout_connect towards 10.0.0.5:8080 since 2026-11-21T09:55:00.000Z');
  });
});
