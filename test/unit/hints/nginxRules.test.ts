/**
 * The config-aware rules, table-driven: each fires on the situation it is for and
 * stays silent on its near misses. Sockets come from synthetic /proc rows, the
 * config from a hand-built model (the parser has its own tests).
 */
import { describe, expect, it } from 'vitest';
import { computeFindings, destinationCauseIds, type DestinationRoute, type FindingInput, type NginxEvidence } from '../../../agent/hints/findings.js';
import { compareVersions } from '../../../agent/nginxconf/model/version.js';
import type { KernelSettings } from '../../../agent/sockets/model/headroom.js';
import { findingInput } from '../../support/kernelState.js';
import type { NginxConfigModel, ProxyPass, UpstreamGroup } from '../../../agent/nginxconf/model/types.js';
import { established, timeWaits, type Row } from '../../support/procText.js';

const SETTINGS: KernelSettings = { portRange: { low: 40000, high: 40999 }, reservedPorts: [], tcpTwReuse: 2, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 };
const AT = { file: '/etc/nginx/conf.d/app.conf', line: 1 };
const DEST = '10.0.0.5:8080';

function group(over: Partial<UpstreamGroup> = {}): UpstreamGroup {
  return {
    name: 'backend',
    servers: [{ address: DEST, host: '10.0.0.5', port: 8080, weight: 1, backup: false, down: false, maxConns: null, at: AT }],
    keepalive: null,
    keepaliveRequests: null,
    keepaliveTimeMs: null,
    keepaliveTimeoutMs: null,
    at: AT,
    ...over,
  };
}

function pass(over: Partial<ProxyPass> = {}): ProxyPass {
  return {
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
    ...over,
  };
}

function model(upstreams: UpstreamGroup[], passes: ProxyPass[], over: Partial<NginxConfigModel> = {}): NginxConfigModel {
  return {
    files: ['/etc/nginx/nginx.conf', AT.file],
    problems: [],
    upstreams,
    proxyPasses: passes,
    workerProcesses: 2,
    workerConnections: 1024,
    workerRlimitNofile: null,
    splitClients: [],
    ...over,
  };
}

function nginx(config: NginxConfigModel | null, version: string | null, routes: Record<string, DestinationRoute> = { [DEST]: { upstreams: ['backend'], direct: [] } }): NginxEvidence {
  return { config, configNote: config === null ? 'no --nginx-conf given' : null, version, routes: new Map(Object.entries(routes)) };
}

function input(rows: Row[], n?: NginxEvidence): FindingInput {
  return findingInput(rows, SETTINGS, n !== undefined ? { nginx: n } : {});
}

/** TIME_WAIT sockets with ages spread evenly over the last minute: n / 60 new connections per second, now and over the minute. */
const churn = (n: number, dest = DEST, firstPort = 40000): Row[] => {
  const [ip, port] = dest.split(':') as [string, string];
  // tm->when is the time left in 1/100 s: ages from 0 to just under 60 s.
  return timeWaits(n, '10.0.0.1', firstPort, ip, Number(port), 0).map((r, i) => ({ ...r, when: 6000 - Math.floor((i * 6000) / n) }));
};
const open = (n: number, from = 40900): Row[] => established(n, '10.0.0.1', from, '10.0.0.5', 8080);

const NGINX_CAUSES = new Set<string>([...destinationCauseIds(), 'single_destination_ip']);
const causes = (i: FindingInput): string[] => computeFindings(i).filter((f) => NGINX_CAUSES.has(f.id)).map((f) => `${f.id}:${f.severity}`);

describe('config-aware findings', () => {
  const http11 = { httpVersion: '1.1', connectionHeader: '' };
  it.each<[string, Row[], NginxEvidence | undefined, string[]]>([
    // No pool.
    ['no keepalive, 900 TIME_WAIT of 1000 ports → the pool finding, critical', churn(960), nginx(model([group()], [pass()]), '1.22.1'), ['upstream_no_keepalive:critical', 'single_destination_ip:info']],
    ['no keepalive, 850 TIME_WAIT → warning', churn(850), nginx(model([group()], [pass()]), '1.22.1'), ['upstream_no_keepalive:warning', 'single_destination_ip:info']],
    ['near miss: no keepalive but only 100 TIME_WAIT at 1.7/s → silent', churn(100), nginx(model([group()], [pass()]), '1.22.1'), []],
    ['near miss: no keepalive, 960 ports busy but ESTABLISHED → not the pool finding', open(960, 40000), nginx(model([group()], [pass()]), '1.22.1'), ['established_exhaustion:critical', 'single_destination_ip:info']],
    ['near miss: nginx 1.29.7 keeps 32 by default → churn, not "no pool"', churn(960), nginx(model([group()], [pass()]), '1.29.7'), ['keepalive_pool_churn:critical', 'single_destination_ip:info']],
    ['unknown version, no keepalive directive → still the pool finding', churn(960), nginx(model([group()], [pass()]), null), ['upstream_no_keepalive:critical', 'single_destination_ip:info']],
    ['no config → no config-aware finding', churn(960), nginx(null, '1.22.1'), []],
    ['destination not in the config → no config-aware finding', churn(960), nginx(model([group()], [pass()]), '1.22.1', {}), []],
    // Direct proxy_pass.
    [
      'bare proxy_pass http://10.0.0.5:8080 → no pool possible',
      churn(960),
      nginx(model([], [pass({ target: 'http://10.0.0.5:8080/api', upstream: null, host: '10.0.0.5', port: 8080 })]), '1.22.1', {
        [DEST]: { upstreams: [], direct: [pass({ target: 'http://10.0.0.5:8080/api', upstream: null, host: '10.0.0.5', port: 8080 })] },
      }),
      ['proxy_pass_no_pool:critical'],
    ],
    // A pool that cannot be reused.
    ['keepalive without HTTP/1.1 on 1.22 → needs http11', churn(960), nginx(model([group({ keepalive: 32 })], [pass()]), '1.22.1'), ['keepalive_needs_http11:critical', 'single_destination_ip:info']],
    ['keepalive with Connection "close" → needs http11', churn(960), nginx(model([group({ keepalive: 32 })], [pass({ httpVersion: '1.1', connectionHeader: 'close' })]), '1.22.1'), ['keepalive_needs_http11:critical', 'single_destination_ip:info']],
    ['near miss: same config on 1.29.7 (HTTP/1.1 default) → churn instead', churn(960), nginx(model([group({ keepalive: 32 })], [pass()]), '1.29.7'), ['keepalive_pool_churn:critical', 'single_destination_ip:info']],
    // A pool that churns.
    ['correct pool, default keepalive_requests, 16/s churn → churn finding', churn(960), nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'), ['keepalive_pool_churn:critical', 'single_destination_ip:info']],
    ['near miss: correct pool, little churn → silent', churn(60), nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'), []],
    [
      'correct pool, range full of TIME_WAIT from a minute ago, 2 new connections/s now → draining, not churn',
      [...timeWaits(900, '10.0.0.1', 40000, '10.0.0.5', 8080, 500), ...churn(20, DEST, 40900)],
      nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'),
      ['time_wait_draining:info', 'single_destination_ip:info'],
    ],
    // Established exhaustion.
    ['960 ESTABLISHED with a correct pool → established_exhaustion', open(960, 40000), nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'), ['established_exhaustion:critical', 'single_destination_ip:info']],
    ['near miss: 500 ESTABLISHED (half the range) → silent', open(500, 40000), nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'), []],
    // Several servers: no single-IP finding.
    [
      'two servers → no single_destination_ip',
      churn(960),
      nginx(model([group({ servers: [...group().servers, { ...group().servers[0]!, address: '10.0.0.6:8080', host: '10.0.0.6' }] })], [pass()]), '1.22.1'),
      ['upstream_no_keepalive:critical'],
    ],
  ])('%s', (_name, rows, n, expected) => {
    expect(causes(input(rows, n))).toEqual(expected);
  });

  it('the pool finding leads, names the upstream, and gives the exact lines with file and line', () => {
    const fs = computeFindings(input(churn(960), nginx(model([group()], [pass()]), '1.22.1')));
    const f = fs[0]!;
    expect(f.id).toBe('upstream_no_keepalive');
    expect(f.upstreams).toEqual(['backend']);
    expect(f.summary).toContain('upstream backend (10.0.0.5:8080)');
    expect(f.fix).toContain('# /etc/nginx/conf.d/app.conf:1');
    expect(f.fix).toMatch(/upstream backend \{\n {4}server 10\.0\.0\.5:8080;\n {4}keepalive \d+;/);
    expect(f.fix).toContain('# /etc/nginx/conf.d/app.conf:12, server app.example:80 > location /:');
    expect(f.fix).toContain('proxy_http_version 1.1;');
    expect(f.fix).toContain('proxy_set_header Connection "";');
    // 960 TIME_WAIT over the last 59 s ≈ 16.3/s; 1000 ports ÷ 60 s = 16.7/s sustainable; × 1000 requests per connection.
    expect(f.effect).toMatch(/from about 16\.\d to about 0\.016/);
    expect(f.effect).toContain('rises from 16.7/s to about 16667/s');
    // The symptom now points at the cause instead of repeating a template.
    expect(fs.find((x) => x.id === 'headroom_critical')?.fix).toBe('See upstream_no_keepalive (backend) above: that change removes the cause.');
  });

  it('does not add HTTP/1.1 lines a location already has', () => {
    const f = computeFindings(input(churn(960), nginx(model([group()], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('upstream_no_keepalive');
    expect(f.fix).not.toContain('proxy_http_version');
  });

  it('an unknown version is said, not guessed', () => {
    const f = computeFindings(input(churn(960), nginx(model([group()], [pass()]), null)))[0]!;
    expect(f.evidence[0]).toBe('upstream backend at /etc/nginx/conf.d/app.conf:1: pool unknown: no keepalive directive and the nginx version is unknown (none before 1.29.7, 32 per worker from it)');
    expect(f.evidence).toContain('nginx version unknown (give --nginx-version or --nginx-bin)');
    // Lines every version accepts: keepalive without "local", and the HTTP/1.1 lines (needed before 1.29.7, harmless after).
    expect(f.fix).toMatch(/ {4}keepalive \d+; {3}# idle connections kept per worker\n/);
    expect(f.fix).toContain('proxy_http_version 1.1;');
  });

  it('sizes a pool by the observed concurrency per worker', () => {
    // 200 open + 760 TIME_WAIT: TIME_WAIT dominates; 200 × 1.5 / 2 workers = 150 → 160 (multiple of 16).
    const f = computeFindings(input([...churn(760), ...open(200, 40800)], nginx(model([group()], [pass()]), '1.22.1')))[0]!;
    expect(f.fix).toContain('keepalive 160;');
  });

  it('churn from a pool smaller than the concurrency asks for a bigger pool', () => {
    const rows = [...churn(600), ...open(300, 40600)];
    const f = computeFindings(input(rows, nginx(model([group({ keepalive: 8 })], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.summary).toContain('the pool keeps 16 idle connections but 300 are in use at once');
    expect(f.fix).toMatch(/keepalive 240; {3}# was 8/);
  });

  it('at 0 free ports a quiet last 10 s is draining only when the config changed within the last minute', () => {
    // The whole range in TIME_WAIT made 30 s ago, nothing newer: blocked churn and a fix just applied look alike.
    const rows = timeWaits(1000, '10.0.0.1', 40000, '10.0.0.5', 8080, 3000);
    const n = nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1');
    expect(causes(input(rows, n))).toEqual(['keepalive_pool_churn:critical', 'single_destination_ip:info']);
    expect(causes(input(rows, { ...n, configChangedSecondsAgo: 600 }))).toEqual(['keepalive_pool_churn:critical', 'single_destination_ip:info']);
    const fs = computeFindings(input(rows, { ...n, configChangedSecondsAgo: 12 }));
    expect(fs.filter((f) => NGINX_CAUSES.has(f.id)).map((f) => f.id)).toEqual(['time_wait_draining', 'single_destination_ip']);
    expect(fs.find((f) => f.id === 'time_wait_draining')!.evidence).toContain('the nginx config changed 12 s ago: TIME_WAIT sockets older than that predate it');
  });

  it('just after a reload that adds a pool, only the TIME_WAIT younger than the reload counts towards the new config', () => {
    // The range full of TIME_WAIT closed 4–9 s ago under the config before (timer 5100–5600: 51–56 s left);
    // the reload gave the group a pool 3 s ago. Over the last 10 s that is 100/s, six times what the
    // range sustains; since the reload nothing closed at all.
    const old = timeWaits(1000, '10.0.0.1', 40000, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 5100 + Math.floor((i * 500) / 1000) }));
    const n = { ...nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'), configChangedSecondsAgo: 3.4, configChangedFrom: 'workers' as const };
    const fs = computeFindings(input(old, n));
    expect(fs.filter((f) => NGINX_CAUSES.has(f.id)).map((f) => f.id)).toEqual(['time_wait_draining', 'single_destination_ip']);
    const draining = fs.find((f) => f.id === 'time_wait_draining')!;
    expect(draining.evidence).toContain('nginx loaded its config 3 s ago (its newest worker started then): TIME_WAIT sockets older than that predate it');
    expect(draining.evidence.join('\n')).toContain('new connections since the change (3 s): 0.0/s');
    // Under a second after the reload nothing can be said yet: still not the pool's fault.
    const soon = computeFindings(input(old, { ...n, configChangedSecondsAgo: 0.4 }));
    expect(soon.find((f) => f.id === 'time_wait_draining')!.evidence.join('\n')).toContain('too soon to tell');
    expect(soon.some((f) => f.id === 'keepalive_pool_churn')).toBe(false);
    // Without the reload, the same sockets are churn of this very pool.
    expect(causes(input(old, { ...n, configChangedSecondsAgo: 600 }))).toEqual(['keepalive_pool_churn:critical', 'single_destination_ip:info']);
  });

  it('a pool that churns right after the reload is still reported, at its own rate since the reload', () => {
    // 700 closed 4–9 s ago under the config before, 300 in the 3 s since the reload: 100/s, the new config's own.
    const old = timeWaits(700, '10.0.0.1', 40000, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 5100 + Math.floor((i * 500) / 700) }));
    const fresh = timeWaits(300, '10.0.0.1', 40700, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 5701 + Math.floor((i * 299) / 300) }));
    const n = { ...nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1'), configChangedSecondsAgo: 3.2, configChangedFrom: 'files' as const };
    const fs = computeFindings(input([...old, ...fresh], n));
    const churned = fs.find((f) => f.id === 'keepalive_pool_churn')!;
    expect(churned.severity).toBe('critical');
    // 300 in 3 s at the default 1000 requests per connection; the range is full, so both are lower bounds.
    expect(churned.summary).toContain('still opens at least 100 connections/s: at 100000 requests/s or more');
    expect(churned.evidence.join('\n')).toContain('the config took effect 3 s ago (its files changed then): at least 100 new connections/s since');
  });

  it('while TIME_WAIT drains, the symptom says there is nothing to change', () => {
    const rows = [...timeWaits(900, '10.0.0.1', 40000, '10.0.0.5', 8080, 500), ...churn(20, DEST, 40900)];
    const fs = computeFindings(input(rows, nginx(model([group({ keepalive: 32 })], [pass(http11)]), '1.22.1')));
    expect(fs.find((f) => f.id === 'headroom_low')?.fix).toBe('See time_wait_draining (backend) above: nothing to change now, the ports free by themselves within 60 s.');
  });

  it('sizes keepalive_requests so that the churn left is a tenth of what the range sustains', () => {
    // A 1000-port range sustains 16.7/s; 16/s of churn at 100 requests per connection is 1 600 requests/s:
    // 1 600 ÷ 1.67 = 960 requests per connection would do, but never under 10 000 (and ×10 the current).
    const small = computeFindings(input(churn(960), nginx(model([group({ keepalive: 64, keepaliveRequests: 100 })], [pass(http11)]), '1.22.1')))[0]!;
    expect(small.fix).toContain('keepalive_requests 10000;   # was 100');
    // At 5 000 requests per connection the same churn is 80 000 requests/s: 80 000 ÷ 1.67 ≈ 48 000 → 50 000.
    const big = computeFindings(input(churn(960), nginx(model([group({ keepalive: 64, keepaliveRequests: 5000 })], [pass(http11)]), '1.22.1')))[0]!;
    expect(big.fix).toContain('keepalive_requests 50000;   # was 5000');
  });

  it('churn from keepalive_requests says the implied request rate and raises the limit', () => {
    const f = computeFindings(input(churn(960), nginx(model([group({ keepalive: 64 })], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.summary).toMatch(/at about 16\d{3} requests\/s, 1000 requests per connection still retires 16\.\d connections\/s/);
    expect(f.fix).toContain('keepalive_requests 10000;   # was 1000');
  });

  it('a 4 s burst is read at its own rate, not averaged over the minute', () => {
    // 960 TIME_WAIT closed over the last 4 s: 240/s, where count ÷ 60 s read 16/s.
    const burst = timeWaits(960, '10.0.0.1', 40000, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 6000 - Math.round(((i + 1) * 400) / 960) }));
    const f = computeFindings(input(burst, nginx(model([group({ keepalive: 64 })], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.summary).toMatch(/still opens 240 connections\/s: at about 239\d{3} requests\/s, 1000 requests per connection still retires 240 connections\/s/);
  });

  it('at 0 free ports the rate is only a lower bound, and the churn finding says "at least"', () => {
    const exhausted = timeWaits(1000, '10.0.0.1', 40000, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 6000 - Math.round(((i + 1) * 400) / 1000) }));
    const f = computeFindings(input(exhausted, nginx(model([group({ keepalive: 64 })], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.summary).toMatch(/still opens at least 250 connections\/s: at 249\d{3} requests\/s or more, 1000 requests per connection still retires at least 250 connections\/s/);
    expect(f.fix).toMatch(/keepalive_requests \d+; {3}# was 1000 \(at least this: the connect rate is a lower bound\)/);
    expect(f.effect).toMatch(/^New connections\/s fall from at least 250 to at least/);
    expect(f.evidence.join('\n')).toContain('a lower bound: no port is free');
  });

  it('without a pool at 0 free ports the effect says what the load needs, not what TIME_WAIT holds', () => {
    const exhausted = timeWaits(1000, '10.0.0.1', 40000, '10.0.0.5', 8080, 0).map((r, i) => ({ ...r, when: 6000 - Math.round(((i + 1) * 400) / 1000) }));
    const f = computeFindings(input(exhausted, nginx(model([group()], [pass()]), '1.22.1')))[0]!;
    expect(f.id).toBe('upstream_no_keepalive');
    expect(f.summary).toMatch(/at least 250 connections\/s and no keepalive pool$/);
    expect(f.effect).toMatch(/the TIME_WAIT they need towards 10\.0\.0\.5:8080 from at least 149\d\d \(the range has 1000 ports\) to about 15\./);
  });

  it('churn from a short keepalive_time raises it', () => {
    // 600 open connections retired every 60 s = 10/s, which explains the ~10/s churn.
    const rows = [...churn(600), ...open(300, 40600)];
    const g = group({ keepalive: 512, keepaliveTimeMs: 30_000 });
    const f = computeFindings(input(rows, nginx(model([g], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.summary).toContain('keepalive_time 30 s retires');
    expect(f.fix).toContain('keepalive_time 3600s;   # was 30s');
  });

  it('established exhaustion proposes source IPs with split_clients and proxy_bind, and not keepalive', () => {
    const f = computeFindings(input(open(960, 40000), nginx(model([group({ keepalive: 32 })], [pass({ httpVersion: '1.1', connectionHeader: '' })]), '1.22.1')))[0]!;
    expect(f.id).toBe('established_exhaustion');
    expect(f.summary).toContain('keepalive will not fix it');
    expect(f.fix).toContain('split_clients "$request_id" $upstream_source_ip {');
    expect(f.fix).toContain('proxy_bind $upstream_source_ip;');
    expect(f.fix).not.toMatch(/keepalive \d/);
    expect(f.effect).toBe('With one more source IP, ports towards 10.0.0.5:8080: 1000 → 2000.');
  });

  it('a websocket map that yields "close" makes the pool unusable, and the fix edits the map', () => {
    const maps = [{ variable: '$connection_upgrade', source: '$http_upgrade', defaultValue: 'upgrade', values: ['upgrade', 'close'], at: { file: '/etc/nginx/nginx.conf', line: 20 } }];
    const f = computeFindings(
      input(churn(960), nginx(model([group({ keepalive: 64 })], [pass({ httpVersion: '1.1', connectionHeader: '$connection_upgrade' })], { maps }), '1.22.1')),
    )[0]!;
    expect(f.id).toBe('keepalive_needs_http11');
    expect(f.evidence.join('\n')).toContain('map $http_upgrade $connection_upgrade at /etc/nginx/nginx.conf:20 yields "close"');
    expect(f.fix).toContain("# /etc/nginx/nginx.conf:20, map $http_upgrade $connection_upgrade:");
    expect(f.fix).not.toContain('proxy_http_version');
  });

  it('stream {} upstreams pool nothing: no keepalive finding for them', () => {
    const g = { ...group(), module: 'stream' as const };
    expect(causes(input(churn(960), nginx(model([g], []), '1.22.1')))).toEqual([]);
  });

  it('a variable Connection header is reported as unchecked evidence', () => {
    const f = computeFindings(
      input(churn(960), nginx(model([group({ keepalive: 64 })], [pass({ httpVersion: '1.1', connectionHeader: '$connection_upgrade' })]), '1.22.1')),
    )[0]!;
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.evidence.join('\n')).toContain('Connection is set to $connection_upgrade');
  });
});

/**
 * The version boundaries, one version on each side: the finding each side gets
 * and what its fix may and may not print. A fix never adds a line that is the
 * version's default, never prints what that version refuses, and never sends an
 * HTTP/2 location back to HTTP/1.1.
 */
describe('version boundaries', () => {
  const directFor = (over: Partial<ProxyPass> = {}): [NginxConfigModel, Record<string, DestinationRoute>] => {
    const p = pass({ target: 'http://10.0.0.5:8080/api', upstream: null, host: '10.0.0.5', port: 8080, ...over });
    return [model([], [p]), { [DEST]: { upstreams: [], direct: [p] } }];
  };
  const top = (rows: Row[], n: NginxEvidence) => computeFindings(input(rows, n)).find((f) => NGINX_CAUSES.has(f.id) && f.id !== 'single_destination_ip')!;
  const KEEPALIVE_LINE = /^ {4}keepalive \d+/m;
  const http11 = { httpVersion: '1.1', connectionHeader: '' };

  it.each<[string, string, string, (f: ReturnType<typeof top>) => void]>([
    [
      'no keepalive line',
      '1.29.6',
      'upstream_no_keepalive',
      (f) => {
        expect(f.evidence[0]).toContain('pool none: no keepalive directive and nginx 1.29.6 < 1.29.7');
        expect(f.fix).toMatch(/ {4}keepalive \d+; {3}# idle/);
        expect(f.fix).toContain('proxy_http_version 1.1;');
        expect(f.fix).toContain('proxy_set_header Connection "";');
      },
    ],
    [
      'no keepalive line',
      '1.29.7',
      'keepalive_pool_churn',
      (f) => {
        expect(f.evidence[0]).toContain('pool 32 per worker: 1.29.7+ default, local (nginx 1.29.7; no keepalive directive)');
        // The default already keeps 32: only keepalive_requests changes.
        expect(f.fix).toContain('keepalive_requests 10000;   # was 1000');
        expect(f.fix).not.toMatch(KEEPALIVE_LINE);
        expect(f.fix).not.toContain('proxy_http_version');
      },
    ],
  ])('%s on %s → %s', (_name, version, id, check) => {
    const f = top(churn(960), nginx(model([group()], [pass()]), version));
    expect(f.id).toBe(id);
    check(f);
  });

  it.each<[string, string, string[], RegExp[], RegExp[]]>([
    // keepalive 0 turns the pool off from 1.29.7; the fix removes it (the default then keeps 32) and adds nothing that is the default.
    ['1.29.7', 'upstream_no_keepalive', ['turned off (keepalive 0)'], [/^upstream backend \{\n {4}server 10\.0\.0\.5:8080;\n\}$/m], [/keepalive 0/, /proxy_http_version/, /Connection/]],
    // Refused before 1.29.7: the pool is unknown and the fix never prints keepalive 0 or local.
    ['1.29.6', 'upstream_no_keepalive', [], [/ {4}keepalive \d+; {3}#/, /proxy_http_version 1\.1;/], [/keepalive 0/, / local;/]],
  ])('keepalive 0 on %s → %s', (version, id, summary, present, absent) => {
    const f = top(churn(960), nginx(model([group({ keepalive: 0, keepaliveAt: AT })], [pass()]), version));
    expect(f.id).toBe(id);
    for (const s of summary) expect(f.summary).toContain(s);
    for (const r of present) expect(f.fix).toMatch(r);
    for (const r of absent) expect(f.fix).not.toMatch(r);
  });

  it('keepalive 0 on 1.29.7 with a pool to grow: the new size keeps the default\'s "local"', () => {
    // 200 open + 760 TIME_WAIT: 200 × 1.5 / 2 workers = 150 → 160 per worker.
    const f = top([...churn(760), ...open(200, 40800)], nginx(model([group({ keepalive: 0, keepaliveAt: AT })], [pass()]), '1.30.6'));
    expect(f.fix).toContain('keepalive 160 local;   # idle connections kept per worker');
  });

  it.each<[string, string]>([
    ['1.29.6', 'upstream_no_keepalive'],
    ['1.29.7', 'keepalive_pool_churn'],
  ])('keepalive written before ip_hash on %s → %s', (version, id) => {
    const g = group({
      keepalive: 16,
      keepaliveAt: { file: AT.file, line: 3 },
      balancer: { name: 'ip_hash', at: { file: AT.file, line: 4 } },
      keepaliveBeforeBalancer: true,
      lines: [
        { name: 'server', text: 'server 10.0.0.5:8080 max_fails=3 fail_timeout=30s;', at: { file: AT.file, line: 2 } },
        { name: 'keepalive', text: 'keepalive 16;', at: { file: AT.file, line: 3 } },
        { name: 'ip_hash', text: 'ip_hash;', at: { file: AT.file, line: 4 } },
      ],
    });
    const f = top(churn(960), nginx(model([g], [pass(http11)]), version));
    expect(f.id).toBe(id);
    if (id === 'upstream_no_keepalive') {
      expect(f.summary).toContain('no keepalive pool (the keepalive line comes before ip_hash)');
      // The block as written, with the keepalive line after ip_hash and every server parameter kept.
      expect(f.fix).toContain('upstream backend {\n    server 10.0.0.5:8080 max_fails=3 fail_timeout=30s;\n    ip_hash;\n    keepalive 32;   # idle connections kept per worker\n}');
    } else {
      expect(f.fix).toContain('upstream backend {\n    server 10.0.0.5:8080 max_fails=3 fail_timeout=30s;\n    keepalive 16;\n    ip_hash;\n    keepalive_requests 10000;   # was 1000\n}');
    }
  });

  const h2 = { httpVersion: '2', httpVersionAt: { file: AT.file, line: 11 }, connectionHeader: null };
  it.each<[string, number | null, string]>([
    // HTTP/2 reuses the pool like HTTP/1.1 and needs no Connection header: never keepalive_needs_http11.
    ['1.29.3', 32, 'keepalive_pool_churn'],
    ['1.29.4', 32, 'keepalive_pool_churn'],
    ['1.29.4', null, 'upstream_no_keepalive'],
    ['1.29.7', null, 'keepalive_pool_churn'],
    ['unknown', null, 'upstream_no_keepalive'],
  ])('proxy_http_version 2 on %s with keepalive %s → %s, never a downgrade', (version, keepalive, id) => {
    const f = top(churn(960), nginx(model([group({ keepalive })], [pass(h2)]), version === 'unknown' ? null : version));
    expect(f.id).toBe(id);
    expect(f.fix).not.toContain('proxy_http_version');
    expect(f.fix).not.toContain('Connection');
  });

  it('proxy_http_version 2 with a Connection header: the evidence says HTTP/2 forbids it, and nothing is downgraded', () => {
    const f = top(churn(960), nginx(model([group({ keepalive: 32 })], [pass({ ...h2, connectionHeader: 'close' })]), '1.30.6'));
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.evidence.join('\n')).toContain('proxy_http_version 2 at /etc/nginx/conf.d/app.conf:11: proxy_set_header Connection "close" is sent as a regular "connection" field, which HTTP/2 forbids');
    expect(f.fix).not.toContain('proxy_http_version 1.1');
  });

  it.each<[string, string]>([
    ['1.29.6', 'keepalive_needs_http11'],
    ['1.29.7', 'keepalive_pool_churn'],
  ])('keepalive 32 and no HTTP/1.1 lines on %s → %s', (version, id) => {
    expect(top(churn(960), nginx(model([group({ keepalive: 32 })], [pass()]), version)).id).toBe(id);
  });

  it('an explicit proxy_http_version 1.0 still needs 1.1 on 1.30', () => {
    const f = top(churn(960), nginx(model([group({ keepalive: 32 })], [pass({ httpVersion: '1.0' })]), '1.30.6'));
    expect(f.id).toBe('keepalive_needs_http11');
    expect(f.fix).toContain('proxy_http_version 1.1;');
    expect(f.fix).not.toContain('Connection');
  });

  it.each<[string, RegExp[], RegExp[]]>([
    ['1.29.6', [/ {4}keepalive \d+;\n/, /proxy_http_version 1\.1;/, /proxy_set_header Connection "";/], [/ local;/]],
    // 1.29.7+: the new block needs no keepalive line (32 is the default) and the location no HTTP/1.1 lines.
    ['1.29.7', [/# nginx 1\.29\.7 keeps 32 idle connections per worker for an upstream block by default/], [KEEPALIVE_LINE, /proxy_http_version/, /Connection/]],
  ])('bare proxy_pass on %s → proxy_pass_no_pool in every version', (version, present, absent) => {
    const [m, routes] = directFor();
    const f = top(churn(960), nginx(m, version, routes));
    expect(f.id).toBe('proxy_pass_no_pool');
    for (const r of present) expect(f.fix).toMatch(r);
    for (const r of absent) expect(f.fix).not.toMatch(r);
  });

  it('bare proxy_pass with HTTP/2 on 1.29.4: a pool needs the upstream block, the location no line', () => {
    const [m, routes] = directFor(h2);
    const f = top(churn(960), nginx(m, '1.29.4', routes));
    expect(f.id).toBe('proxy_pass_no_pool');
    expect(f.fix).toMatch(/ {4}keepalive \d+;\n/);
    expect(f.fix).not.toContain('proxy_http_version');
  });

  it.each<[string, number]>([
    ['1.19.9', 100],
    ['1.19.10', 1000],
  ])('keepalive_requests by default on %s: %d', (version, requests) => {
    const f = top(churn(960), nginx(model([group({ keepalive: 64 })], [pass(http11)]), version));
    expect(f.id).toBe('keepalive_pool_churn');
    expect(f.evidence[1]).toContain(`keepalive_requests not set (${requests}`);
    expect(f.fix).toContain(`# was ${requests}`);
  });

  it('a fix that prints the block keeps every line and parameter as written', () => {
    const lines = [
      { name: 'zone', text: 'zone backend 64k;', at: { file: AT.file, line: 2 } },
      { name: 'least_conn', text: 'least_conn;', at: { file: AT.file, line: 3 } },
      { name: 'server', text: 'server 10.0.0.5:8080 max_fails=3 fail_timeout=30s;', at: { file: AT.file, line: 4 } },
      { name: 'server', text: 'server app.internal:8080 resolve backup;', at: { file: AT.file, line: 5 } },
      { name: 'keepalive_timeout', text: 'keepalive_timeout 30s;', at: { file: AT.file, line: 6 } },
    ];
    const f = top(churn(960), nginx(model([group({ lines })], [pass()]), '1.22.1'));
    expect(f.id).toBe('upstream_no_keepalive');
    expect(f.fix).toContain(
      'upstream backend {\n    zone backend 64k;\n    least_conn;\n    server 10.0.0.5:8080 max_fails=3 fail_timeout=30s;\n    server app.internal:8080 resolve backup;\n    keepalive_timeout 30s;\n    keepalive 32;   # idle connections kept per worker\n}',
    );
  });
});

describe('compareVersions', () => {
  it.each([
    ['1.22.1', '1.29.7', -1],
    ['1.29.7', '1.29.7', 0],
    ['1.30.0', '1.29.7', 1],
    ['1.19.10', '1.19.9', 1],
    ['1.9', '1.9.0', 0],
  ])('%s vs %s → %d', (a, b, r) => {
    expect(compareVersions(a, b)).toBe(r);
  });
});
