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

function log(events: [ErrorKind, number, string | null][]): ErrorLogEvidence {
  const byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
  for (const [kind, n, dest] of events) if (dest !== null) (byDestination[dest] ??= {})[kind] = n;
  return {
    sinceMs: AT - 300_000,
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

const LOG_IDS = new Set(['exhaustion_confirmed', 'exhaustion_recent', 'fd_limit', 'worker_connections_exhausted', 'upstream_no_live_servers']);
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
    expect(f.evidence).toContain('40 × eaddrnotavail connect failures in the same window');
    expect(f.why).toContain('fail_timeout');
    expect(f.fix).toMatch(/^Remove the cause of the connect failures/);
  });

  it('exhaustion_recent names destinations the way the other findings do', () => {
    const f = computeFindings(input(fine, log([['eaddrnotavail', 40, '10.0.0.5:80'], ['eaddrnotavail', 2, '10.0.0.9:80']]))).find((x) => x.id === 'exhaustion_recent')!;
    expect(f.destinations).toEqual(['10.0.0.1 → 10.0.0.5:80', '* → 10.0.0.9:80']);
  });
});
