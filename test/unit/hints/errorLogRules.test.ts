/**
 * The error-log rules, table-driven: what nginx logged in the window, joined to
 * the sockets and (when read) the config. Each fires on its lines and stays
 * silent on its near misses.
 */
import { describe, expect, it } from 'vitest';
import { computeFindings, type ErrorLogEvidence, type FindingInput, type NginxEvidence } from '../../../agent/hints/findings.js';
import type { ErrorKind } from '../../../agent/errorlog/parse/classify.js';
import type { KernelSettings } from '../../../agent/sockets/model/headroom.js';
import type { NginxConfigModel } from '../../../agent/nginxconf/model/types.js';
import { findingInput } from '../../support/kernelState.js';
import { established, timeWaits, type Row } from '../../support/procText.js';

const SETTINGS: KernelSettings = { portRange: { low: 40000, high: 40099 }, reservedPorts: [], tcpTwReuse: 0, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 };
const AT = Date.UTC(2026, 10, 21, 10, 0, 0);

function log(events: [ErrorKind, number, string | null][], names: Pick<ErrorLogEvidence, 'byUpstreamGroup' | 'byBindAddress'> | object = {}): ErrorLogEvidence {
  const byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
  for (const [kind, n, dest] of events) if (dest !== null) (byDestination[dest] ??= {})[kind] = n;
  return {
    sinceMs: AT - 300_000,
    untilMs: AT,
    past: false,
    byUpstreamGroup: {},
    byBindAddress: {},
    ...names,
    byDestination,
    byKind: events.map(([kind, count]) => ({ kind, count, firstMs: AT - 60_000, lastMs: AT - 1000, sample: `a ${kind} line` })),
  };
}

function config(over: Partial<NginxConfigModel>): NginxEvidence {
  const model: NginxConfigModel = {
    files: ['/etc/nginx/nginx.conf'],
    problems: [],
    upstreams: [],
    proxyPasses: [],
    workerProcesses: 2,
    workerConnections: null,
    workerRlimitNofile: null,
    splitClients: [],
    ...over,
  };
  return { config: model, configNote: null, version: '1.22.1', routes: new Map() };
}

function input(rows: Row[], errorLog: ErrorLogEvidence, nginx?: NginxEvidence): FindingInput {
  return findingInput(rows, SETTINGS, { errorLog, ...(nginx !== undefined ? { nginx } : {}) });
}

const LOG_IDS = new Set([
  'exhaustion_confirmed',
  'exhaustion_recent',
  'fd_limit',
  'worker_connections_exhausted',
  'upstream_no_live_servers',
  'resolver_failures',
  'proxy_bind_unavailable',
]);
const ids = (i: FindingInput): string[] => computeFindings(i).filter((f) => LOG_IDS.has(f.id)).map((f) => `${f.id}:${f.severity}`);

const exhausted = timeWaits(100, '10.0.0.1', 40000, '10.0.0.5', 80, 3000);
const fine = established(3, '10.0.0.1', 40000, '10.0.0.5', 80);

describe('error-log findings', () => {
  it.each<[string, Row[], ErrorLogEvidence, string[]]>([
    ['EADDRNOTAVAIL towards an exhausted destination → confirmed', exhausted, log([['eaddrnotavail', 40, '10.0.0.5:80']]), ['exhaustion_confirmed:critical']],
    ['EADDRNOTAVAIL towards a destination that has recovered → recent', fine, log([['eaddrnotavail', 40, '10.0.0.5:80']]), ['exhaustion_recent:warning']],
    ['EADDRNOTAVAIL towards a destination with no sockets now → recent', [], log([['eaddrnotavail', 3, '10.0.0.9:80']]), ['exhaustion_recent:warning']],
    ['near miss: refused connections are not port exhaustion', exhausted, log([['econnrefused', 40, '10.0.0.5:80']]), []],
    ['EMFILE → fd_limit, never port exhaustion', fine, log([['emfile', 7, null]]), ['fd_limit:warning']],
    ['ENFILE → fd_limit', fine, log([['enfile', 2, null]]), ['fd_limit:warning']],
    ['worker_connections are not enough → its own finding', fine, log([['worker_connections', 5, null]]), ['worker_connections_exhausted:warning']],
    ['no live upstreams → every server marked failed', fine, log([['no_live_upstreams', 900, null]]), ['upstream_no_live_servers:warning']],
    ['near miss: a quiet log', fine, log([]), []],
    ['resolver failures alone → resolver_failures, a warning', fine, log([['resolver', 30, null]]), ['resolver_failures:warning']],
    ['resolver failures fewer than failed connects → informational', fine, log([['resolver', 3, null], ['econnrefused', 30, '10.0.0.5:80']]), ['resolver_failures:info']],
    [
      'resolver failures with no live upstreams: not counted as connect failures',
      fine,
      log([['resolver', 30, null], ['no_live_upstreams', 5, null]], { byUpstreamGroup: { backend: 5 } }),
      ['resolver_failures:warning', 'upstream_no_live_servers:warning'],
    ],
    [
      'bind(ADDR) failed (99) towards an exhausted destination → proxy_bind_unavailable, never exhaustion',
      exhausted,
      log([['proxy_bind_unavailable', 40, '10.0.0.5:80']], { byBindAddress: { '192.0.2.250': { proxy_bind_unavailable: 40 } } }),
      ['proxy_bind_unavailable:warning'],
    ],
    ['unreachable hosts and networks are not port exhaustion', exhausted, log([['ehostunreach', 40, '10.0.0.5:80'], ['enetunreach', 4, '10.0.0.5:80']]), []],
  ])('%s', (_name, rows, l, expected) => {
    expect(ids(input(rows, l))).toEqual(expected);
  });

  it('fd_limit is a different problem with its own fix, sized from worker_connections', () => {
    const f = computeFindings(input(fine, log([['emfile', 7, null]]), config({ workerConnections: 40_000 }))).find((x) => x.id === 'fd_limit')!;
    expect(f.summary).toContain('not ports');
    expect(f.evidence).toContain('worker_connections = 40000');
    expect(f.fix).toContain('worker_rlimit_nofile 80000;');
    expect(f.fix).toContain('LimitNOFILE=80000');
    expect(f.fix).not.toMatch(/keepalive|ip_local_port_range/);
  });

  it('worker_connections_exhausted doubles the configured value (nginx default 512 when unset)', () => {
    const set = computeFindings(input(fine, log([['worker_connections', 5, null]]), config({ workerConnections: 4096 }))).find((x) => x.id === 'worker_connections_exhausted')!;
    expect(set.fix).toContain('worker_connections 8192;');
    const unset = computeFindings(input(fine, log([['worker_connections', 5, null]]), config({}))).find((x) => x.id === 'worker_connections_exhausted')!;
    expect(unset.evidence).toContain('worker_connections = 512 (default)');
    expect(unset.fix).toContain('worker_connections 1024;');
  });

  it('no live upstreams after EADDRNOTAVAIL explains how exhaustion outlasts itself', () => {
    const f = computeFindings(input(fine, log([['eaddrnotavail', 40, '10.0.0.5:80'], ['no_live_upstreams', 900, null]]))).find((x) => x.id === 'upstream_no_live_servers')!;
    expect(f.evidence).toContain('40 × eaddrnotavail failures in the same window');
    expect(f.why).toContain('fail_timeout');
    expect(f.fix).toMatch(/^Remove the cause of the connect failures/);
  });

  it('exhaustion_recent names destinations the way the other findings do', () => {
    const f = computeFindings(input(fine, log([['eaddrnotavail', 40, '10.0.0.5:80'], ['eaddrnotavail', 2, '10.0.0.9:80']]))).find((x) => x.id === 'exhaustion_recent')!;
    expect(f.destinations).toEqual(['10.0.0.1 → 10.0.0.5:80', '* → 10.0.0.9:80']);
  });

  it('upstream_no_live_servers names the groups the lines name', () => {
    const f = computeFindings(input(fine, log([['no_live_upstreams', 900, null]], { byUpstreamGroup: { backend: 850, api: 50 } }))).find((x) => x.id === 'upstream_no_live_servers')!;
    expect(f.upstreams).toEqual(['backend', 'api']);
    expect(f.evidence).toContain('upstream backend: 850 × "no live upstreams"');
  });

  it('resolver failures are not among the connect failures of upstream_no_live_servers', () => {
    const f = computeFindings(input(fine, log([['resolver', 30, null], ['no_live_upstreams', 5, null]]))).find((x) => x.id === 'upstream_no_live_servers')!;
    expect(f.evidence.join('\n')).not.toContain('resolver');
    expect(f.fix).toMatch(/^Find why connects to the group fail/);
  });

  it('resolver_failures points at the resolver directives, not at ports', () => {
    const f = computeFindings(input(fine, log([['resolver', 30, null]]))).find((x) => x.id === 'resolver_failures')!;
    expect(f.fix).toContain('resolver ADDRESS');
    expect(f.fix).toContain('valid=30s');
    expect(f.fix).toContain('resolver_timeout 5s;');
    expect(f.fix).not.toMatch(/keepalive|ip_local_port_range/);
  });

  it('proxy_bind_unavailable names the address and the proxy_bind lines that bind to it, literal or through split_clients', () => {
    const pass = (bind: string, line: number): NginxConfigModel['proxyPasses'][number] => ({
      target: 'http://backend',
      scheme: 'http',
      upstream: 'backend',
      host: null,
      port: null,
      hasVariables: false,
      httpVersion: '1.1',
      connectionHeader: '',
      bind,
      bindAt: { file: '/etc/nginx/conf.d/app.conf', line },
      context: 'server app:80 > location /',
      at: { file: '/etc/nginx/conf.d/app.conf', line: line + 1 },
    });
    const nginx = config({
      proxyPasses: [pass('192.0.2.250', 12), pass('$source_ip', 30), pass('10.0.0.1', 40)],
      splitClients: [{ variable: '$source_ip', values: ['10.0.0.1', '192.0.2.250'], at: { file: '/etc/nginx/nginx.conf', line: 5 } }],
    });
    const l = log([['proxy_bind_unavailable', 40, '10.0.0.5:80']], { byBindAddress: { '192.0.2.250': { proxy_bind_unavailable: 40 } } });
    const f = computeFindings(input(exhausted, l, nginx)).find((x) => x.id === 'proxy_bind_unavailable')!;
    expect(f.summary).toContain('192.0.2.250');
    expect(f.evidence).toContain('proxy_bind 192.0.2.250 at /etc/nginx/conf.d/app.conf:12 (server app:80 > location /) binds to 192.0.2.250');
    expect(f.evidence).toContain('proxy_bind $source_ip at /etc/nginx/conf.d/app.conf:30 (server app:80 > location /) binds to 192.0.2.250');
    expect(f.evidence.join('\n')).not.toContain(':40');
    expect(f.fix).toContain('ip addr add 192.0.2.250/32');
    expect(f.fix).toContain('proxy_bind 192.0.2.250 transparent;');
    expect(f.fix).toContain('/etc/nginx/conf.d/app.conf:12, /etc/nginx/conf.d/app.conf:30');
  });

  it('exhaustion_recent maps a destination only the log names to its upstream group', () => {
    const nginx = { ...config({}), routes: new Map([['10.0.0.9:80', { upstreams: ['backend'], direct: [] }]]) };
    const f = computeFindings(input(fine, log([['eaddrnotavail', 2, '10.0.0.9:80']]), nginx)).find((x) => x.id === 'exhaustion_recent')!;
    expect(f.upstreams).toEqual(['backend']);
  });
});
