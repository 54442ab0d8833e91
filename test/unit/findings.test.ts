import { describe, expect, it } from 'vitest';
import { computeFindings, type FindingInput } from '../../agent/hints/findings.js';
import type { KernelSettings } from '../../agent/sockets/model/headroom.js';
import { counterRate } from '../../agent/sockets/model/rates.js';
import type { HostCounters } from '../../agent/sockets/model/types.js';
import { findingInput, QUIET_COUNTERS } from '../support/kernelState.js';
import { established, timeWaits, type Row } from '../support/procText.js';

const SETTINGS: KernelSettings = {
  portRange: { low: 40000, high: 40099 },
  reservedPorts: [],
  tcpTwReuse: 0,
  tcpTimestamps: 1,
  tcpTwReuseDelayMs: 1000,
};
const COUNTERS = QUIET_COUNTERS;

function input(rows: Row[], settings: Partial<KernelSettings> = {}, counters: Partial<HostCounters> = {}): FindingInput {
  return findingInput(rows, { ...SETTINGS, ...settings }, { counters: { ...COUNTERS, ...counters } });
}

const ids = (i: FindingInput): string[] => computeFindings(i).map((f) => `${f.id}:${f.severity}`);

describe('findings', () => {
  it('nothing to say about a quiet host', () => {
    expect(ids(input(established(3, '10.0.0.1', 40000, '10.0.0.5', 80)))).toEqual([]);
  });

  it.each([
    ['85 of 100 held open → low headroom, narrow range', established(85, '10.0.0.1', 40000, '10.0.0.5', 80), {}, {}, ['port_range_narrow:warning', 'headroom_low:warning']],
    ['97 held open → critical', established(97, '10.0.0.1', 40000, '10.0.0.5', 80), {}, {}, ['headroom_critical:critical', 'port_range_narrow:warning']],
    [
      '90 TIME_WAIT towards a remote host with reuse loopback-only → reuse finding',
      timeWaits(90, '10.0.0.1', 40000, '10.0.0.5', 80, 5000),
      { tcpTwReuse: 2 },
      {},
      ['port_range_narrow:warning', 'time_wait_reuse_off:warning', 'headroom_low:warning', 'connect_rate_near_limit:warning'],
    ],
    [
      'reuse set but timestamps off',
      timeWaits(90, '127.0.0.1', 40000, '127.0.0.2', 80, 5000),
      { tcpTwReuse: 1, tcpTimestamps: 0 },
      {},
      ['port_range_narrow:warning', 'timestamps_off:warning', 'headroom_low:warning', 'connect_rate_near_limit:warning'],
    ],
    ['an odd-sized range', established(1, '10.0.0.1', 40000, '10.0.0.5', 80), { portRange: { low: 40000, high: 40100 } }, {}, ['port_range_odd:info']],
    ['TIME_WAIT overflow', established(1, '10.0.0.1', 40000, '10.0.0.5', 80), {}, { timeWaitOverflow: 12 }, ['time_wait_overflow:info']],
    ['conntrack 85 % full', [], {}, { conntrackCount: 850, conntrackMax: 1000 }, ['conntrack_near_full:warning']],
    ['conntrack 96 % full', [], {}, { conntrackCount: 960, conntrackMax: 1000 }, ['conntrack_near_full:critical']],
  ])('%s', (_name, rows: Row[], settings: Partial<KernelSettings>, counters: Partial<HostCounters>, expected: string[]) => {
    expect(ids(input(rows, settings, counters))).toEqual(expected);
  });

  it('does not suggest widening a range that is already 1024-65535', () => {
    const i = input(established(55000, '10.0.0.1', 1024, '10.0.0.5', 80), { portRange: { low: 1024, high: 65535 } });
    expect(ids(i)).toEqual(['headroom_low:warning']);
    expect(computeFindings(i)[0]!.fix).not.toMatch(/ip_local_port_range/);
  });

  it('proposes reserving the listening ports before widening the range', () => {
    const rows: Row[] = [
      { local: '0.0.0.0', lport: 8080, state: 10 },
      { local: '0.0.0.0', lport: 9100, state: 10 },
      { local: '0.0.0.0', lport: 443, state: 10 },
      ...established(90, '10.0.0.1', 40000, '10.0.0.5', 80),
    ];
    const f = computeFindings(input(rows, { reservedPorts: [{ from: 30000, to: 30001 }] })).find((x) => x.id === 'port_range_narrow')!;
    expect(f.fix).toContain('net.ipv4.ip_local_reserved_ports = 30000-30001,8080,9100');
    expect(f.fix).toContain('net.ipv4.ip_local_port_range = 1024 65535');
    expect(f.fix!.indexOf('ip_local_reserved_ports')).toBeLessThan(f.fix!.indexOf('ip_local_port_range'));
  });

  it('for open-connection exhaustion, proposes more 4-tuple space rather than keepalive', () => {
    const f = computeFindings(input(established(100, '10.0.0.1', 40000, '10.0.0.5', 80)))[0]!;
    expect(f.id).toBe('headroom_exhausted');
    expect(f.fix).toMatch(/split_clients \+ proxy_bind/);
    expect(f.fix).not.toMatch(/keepalive 32/);
  });

  it('lists at most five destinations and says how many more', () => {
    const rows = Array.from({ length: 8 }, (_, i) => established(100, '10.0.0.1', 40000, `10.0.1.${i}`, 80)).flat();
    const f = computeFindings(input(rows))[0]!;
    expect(f.evidence).toHaveLength(6);
    expect(f.evidence[5]).toBe('… and 3 more');
    expect(f.destinations).toHaveLength(8);
  });
});

describe('counterRate', () => {
  it.each([
    [null, { value: 10, atMs: 1000 }, null],
    [{ value: 10, atMs: 0 }, { value: 110, atMs: 2000 }, 50],
    [{ value: 10, atMs: 0 }, { value: 5, atMs: 2000 }, null],
    [{ value: 10, atMs: 1000 }, { value: 20, atMs: 1000 }, null],
  ])('%j → %j = %j', (prev, cur, rate) => {
    expect(counterRate(prev, cur)).toBe(rate);
  });
});
