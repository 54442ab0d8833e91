import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeHeadroom, recentRateSince, type KernelSettings } from '../../agent/sockets/model/headroom.js';
import { SocketTableBuilder } from '../../agent/sockets/model/socketTable.js';
import { scanProcNetTcp } from '../../agent/sockets/parse/procNetTcp.js';
import { established, tcp4, timeWaits, type Row } from '../support/procText.js';

const fixture = (p: string): string => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'latin1');

const BASE: KernelSettings = {
  portRange: { low: 40000, high: 40099 },
  reservedPorts: [],
  tcpTwReuse: 0,
  tcpTimestamps: 1,
  tcpTwReuseDelayMs: 1000,
};

function model(tables: { tcp?: string; tcp6?: string }, settings: Partial<KernelSettings> = {}, rateWindowSeconds = 60) {
  const s = { ...BASE, ...settings };
  const b = new SocketTableBuilder(s.portRange);
  const enc = new TextEncoder();
  if (tables.tcp !== undefined) {
    const bytes = enc.encode(tables.tcp);
    scanProcNetTcp(bytes, bytes.length, 4, 'LE', b);
  }
  if (tables.tcp6 !== undefined) {
    const bytes = enc.encode(tables.tcp6);
    scanProcNetTcp(bytes, bytes.length, 6, 'LE', b);
  }
  return computeHeadroom(b.build(), s, { rateWindowSeconds });
}

const row = (m: ReturnType<typeof model>, source: string, destination: string) => {
  const d = m.destinations.find((x) => x.sourceIp === source && x.destination === destination);
  if (d === undefined) throw new Error(`no row ${source} → ${destination} in ${JSON.stringify(m.destinations.map((x) => x.destination))}`);
  return d;
};

describe('the captured exhaustion (kernel allowed 0 more to 127.0.0.2:9000, 100 to 127.0.0.3:9000)', () => {
  const tables = { tcp: fixture('real-tw-exhaustion/proc/net/tcp'), tcp6: fixture('real-tw-exhaustion/proc/net/tcp6') };

  it('reports 0 headroom to the exhausted upstream with reuse off, as the kernel did', () => {
    const m = model(tables);
    const d = row(m, '127.0.0.1', '127.0.0.2:9000');
    expect(d).toMatchObject({ capacity: 100, used: 100, headroom: 0, headroomRatio: 0, timeWait: 100, timeWaitReusable: 0, established: 0 });
    expect(m.destinations[0]).toBe(d);
    expect(m.headroomRatioMin).toBe(0);
    // The untouched upstream has no sockets, so no row: its headroom is the whole range.
    expect(m.destinations.some((x) => x.destination === '127.0.0.3:9000')).toBe(false);
    expect(m.portRange.usable).toBe(100);
  });

  it('computes the rate over the ~4.1 s the 100 TIME_WAIT sockets cover, a lower bound at 0 free ports; 1.67/s sustainable', () => {
    const d = row(model(tables), '127.0.0.1', '127.0.0.2:9000');
    // The oldest is 60 − 55.89 = 4.11 s old: span 4.11 × 101/100 = 4.15 s, so 100 / 4.15 s, not 100 / 60 s.
    expect(d.connectRate.spanSeconds).toBeCloseTo(4.1511, 3);
    expect(d.connectRatePerSecond).toBeCloseTo(100 / 4.1511, 2);
    expect(d.connectRate).toMatchObject({ basis: 'time_wait_ages', timeWaitSockets: 100, lowerBound: true, lowerBoundBecause: ['exhausted'] });
    expect(d.connectRate.why).toBe(
      '100 TIME_WAIT sockets closed in the last 4.2 s; a lower bound: no port is free: connect() calls beyond the range failed (EADDRNOTAVAIL) and left no socket',
    );
    expect(d.maxSustainableConnectRate).toBeCloseTo(100 / 60, 5);
    expect(d.secondsUntilNextRelease).toBeGreaterThan(55);
    expect(d.secondsUntilNextRelease).toBeLessThan(57);
    // With a 2 s window none of these ~4 s old sockets count.
    expect(row(model(tables, {}, 2), '127.0.0.1', '127.0.0.2:9000').connectRatePerSecond).toBe(0);
  });

  it('counts the sockets by kernel state', () => {
    const m = model(tables);
    expect(row(m, '127.0.0.1', '127.0.0.2:9000').states).toEqual({ time_wait: 100 });
  });

  it.each([
    ['tcp_tw_reuse=2 (loopback) frees TIME_WAIT older than the delay', { tcpTwReuse: 2 }, 100, 100],
    ['tcp_tw_reuse=1 frees them too', { tcpTwReuse: 1 }, 100, 100],
    ['reuse without timestamps frees nothing', { tcpTwReuse: 1, tcpTimestamps: 0 }, 0, 0],
    ['a 10 s reuse delay keeps these ~4 s old sockets blocking', { tcpTwReuse: 1, tcpTwReuseDelayMs: 10_000 }, 0, 0],
  ])('%s', (_name, settings, headroom, reusable) => {
    const d = row(model(tables, settings), '127.0.0.1', '127.0.0.2:9000');
    expect(d.headroom).toBe(headroom);
    expect(d.timeWaitReusable).toBe(reusable);
  });
});

describe('capacity: range minus reserved minus listeners', () => {
  const conns: Row[] = [...established(3, '10.0.0.1', 40000, '10.0.0.5', 80), ...timeWaits(2, '10.0.0.1', 40010, '10.0.0.5', 80, 5000)];

  it.each([
    ['plain range', {}, [], 100, 95],
    ['reserved ports inside the range', { reservedPorts: [{ from: 40050, to: 40059 }, { from: 40099, to: 40099 }] }, [], 89, 84],
    ['reserved ports outside the range do not count (and sockets on reserved ports use no pool port)', { reservedPorts: [{ from: 8080, to: 8080 }, { from: 39990, to: 40001 }] }, [], 98, 95],
    ['a listener inside the range', {}, [{ local: '127.0.0.9', lport: 40070, state: 10 }], 99, 94],
    ['a listener on a reserved port counts once', { reservedPorts: [{ from: 40070, to: 40070 }] }, [{ local: '0.0.0.0', lport: 40070, state: 10 }], 99, 94],
    ['a listener outside the range', {}, [{ local: '0.0.0.0', lport: 80, state: 10 }], 100, 95],
  ])('%s', (_name, settings: Partial<KernelSettings>, listeners: Row[], capacity, headroom) => {
    const m = model({ tcp: tcp4([...listeners, ...conns]) }, settings);
    const d = row(m, '10.0.0.1', '10.0.0.5:80');
    expect(d.capacity).toBe(capacity);
    expect(m.portRange.usable).toBe(capacity);
    expect(d.headroom).toBe(headroom);
  });

  it('a socket sitting on a reserved port (bound explicitly) uses no pool port', () => {
    const m = model({ tcp: tcp4([{ local: '10.0.0.1', lport: 40050, remote: '10.0.0.5', rport: 80, state: 1 }, ...conns]) }, {
      reservedPorts: [{ from: 40050, to: 40050 }],
    });
    expect(row(m, '10.0.0.1', '10.0.0.5:80')).toMatchObject({ capacity: 99, used: 5, headroom: 94, established: 3 });
  });

  it('accepted connections on a listener inside the range are not outgoing connections', () => {
    const m = model({
      tcp: tcp4([
        { local: '0.0.0.0', lport: 40070, state: 10 },
        { local: '127.0.0.1', lport: 40070, remote: '127.0.0.1', rport: 40001, state: 1 },
        { local: '127.0.0.1', lport: 40001, remote: '127.0.0.1', rport: 40070, state: 1 },
      ]),
    });
    expect(m.destinations).toHaveLength(1);
    expect(row(m, '127.0.0.1', '127.0.0.1:40070')).toMatchObject({ capacity: 99, used: 1, headroom: 98 });
  });

  it('a listener seen only in tcp6 still removes its port from IPv4 connections', () => {
    const tcp6 =
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000000000000000000000000000:9C40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n';
    const m = model({ tcp: tcp4([{ local: '10.0.0.1', lport: 40000, remote: '10.0.0.5', rport: 80, state: 1 }, ...conns.slice(1)]), tcp6 });
    // 40000 (0x9C40) is listened on, so the IPv4 socket on it is not counted, and capacity drops by one.
    expect(row(m, '10.0.0.1', '10.0.0.5:80')).toMatchObject({ capacity: 99, established: 2, used: 4 });
  });

  it('sockets outside the range are ignored', () => {
    const m = model({ tcp: tcp4(established(5, '10.0.0.1', 30000, '10.0.0.5', 80)) });
    expect(m.destinations).toEqual([]);
    expect(m.headroomRatioMin).toBe(1);
    expect(m.socketsByState.established).toBe(5);
  });
});

describe('per-destination accounting', () => {
  it('keeps destinations apart by source IP, destination IP and destination port', () => {
    const m = model({
      tcp: tcp4([
        ...established(10, '10.0.0.1', 40000, '10.0.0.5', 80),
        ...established(10, '10.0.0.1', 40000, '10.0.0.5', 81), // same local ports, other destination port
        ...established(10, '10.0.0.2', 40000, '10.0.0.5', 80), // same ports, other source IP
        ...established(10, '10.0.0.1', 40000, '10.0.0.6', 80), // other destination IP
      ]),
    });
    expect(m.destinations).toHaveLength(4);
    for (const d of m.destinations) expect(d).toMatchObject({ used: 10, headroom: 90 });
  });

  it('counts every state but TIME_WAIT as used, including an orphaned FIN_WAIT2 timewait socket', () => {
    const m = model({
      tcp: tcp4([
        { local: '10.0.0.1', lport: 40000, remote: '10.0.0.5', rport: 80, state: 2 },
        { local: '10.0.0.1', lport: 40001, remote: '10.0.0.5', rport: 80, state: 5, when: 3000 },
        { local: '10.0.0.1', lport: 40002, remote: '10.0.0.5', rport: 80, state: 8 },
        { local: '10.0.0.1', lport: 40003, remote: '10.0.0.5', rport: 80, state: 1 },
      ]),
    }, { tcpTwReuse: 1 });
    expect(row(m, '10.0.0.1', '10.0.0.5:80')).toMatchObject({ used: 4, other: 3, established: 1, timeWait: 0, headroom: 96 });
    expect(row(m, '10.0.0.1', '10.0.0.5:80').states).toEqual({ syn_sent: 1, fin_wait2: 1, close_wait: 1, established: 1 });
  });

  it.each([
    [1, 'established'],
    [2, 'syn_sent'],
    [3, 'syn_recv'],
    [4, 'fin_wait1'],
    [5, 'fin_wait2'],
    [6, 'time_wait'],
    [7, 'close'],
    [8, 'close_wait'],
    [9, 'last_ack'],
    [11, 'closing'],
    [12, 'new_syn_recv'],
    [13, 'bound_inactive'],
    [14, 'unknown'],
    [0x2a, 'unknown'],
  ])('state %i is counted as %s, and as used', (state, name) => {
    const rows: Row[] = Array.from({ length: 3 }, (_, i) => ({ local: '10.0.0.1', lport: 40000 + i, remote: '10.0.0.5', rport: 80, state, when: 5000 }));
    const d = row(model({ tcp: tcp4(rows) }), '10.0.0.1', '10.0.0.5:80');
    expect(d.states).toEqual({ [name]: 3 });
    expect(d.used).toBe(3);
    expect(d.other).toBe(name === 'established' || name === 'time_wait' ? 0 : 3);
  });

  it('keeps the state counts of each destination apart', () => {
    const m = model({
      tcp: tcp4([
        ...established(2, '10.0.0.1', 40000, '10.0.0.5', 80),
        ...Array.from({ length: 4 }, (_, i) => ({ local: '10.0.0.1', lport: 40010 + i, remote: '10.0.0.5', rport: 80, state: 4 })),
        ...Array.from({ length: 5 }, (_, i) => ({ local: '10.0.0.1', lport: 40010 + i, remote: '10.0.0.6', rport: 80, state: 2 })),
      ]),
    });
    expect(row(m, '10.0.0.1', '10.0.0.5:80').states).toEqual({ established: 2, fin_wait1: 4 });
    expect(row(m, '10.0.0.1', '10.0.0.6:80').states).toEqual({ syn_sent: 5 });
  });

  it('reuse depends on loopback for tcp_tw_reuse=2', () => {
    const rows = [...timeWaits(5, '10.0.0.1', 40000, '10.0.0.5', 80, 3000), ...timeWaits(5, '127.0.0.1', 40000, '127.0.0.2', 80, 3000)];
    const m = model({ tcp: tcp4(rows) }, { tcpTwReuse: 2 });
    expect(row(m, '10.0.0.1', '10.0.0.5:80')).toMatchObject({ timeWaitReusable: 0, used: 5, timeWaitReuse: false });
    expect(row(m, '127.0.0.1', '127.0.0.2:80')).toMatchObject({ timeWaitReusable: 5, used: 0, timeWaitReuse: true });
    expect(row(m, '127.0.0.1', '127.0.0.2:80').maxSustainableConnectRate).toBe(100);
  });

  it('a TIME_WAIT socket is reusable only once strictly older than the delay', () => {
    // 60 s − when/100: 5900 → 1.00 s old (not yet), 5899 → 1.01 s (reusable), 5990 → 0.1 s.
    const m = model(
      {
        tcp: tcp4([
          { local: '10.0.0.1', lport: 40000, remote: '10.0.0.5', rport: 80, state: 6, when: 5900 },
          { local: '10.0.0.1', lport: 40001, remote: '10.0.0.5', rport: 80, state: 6, when: 5899 },
          { local: '10.0.0.1', lport: 40002, remote: '10.0.0.5', rport: 80, state: 6, when: 5990 },
        ]),
      },
      { tcpTwReuse: 1 },
    );
    const d = row(m, '10.0.0.1', '10.0.0.5:80');
    expect(d).toMatchObject({ timeWait: 3, timeWaitReusable: 1, used: 2, headroom: 98 });
    expect(d.secondsUntilNextRelease).toBeCloseTo(0, 5);
  });

  it('joins IPv4-mapped IPv6 sockets with IPv4 ones (one 4-tuple space)', () => {
    const m = model({ tcp: fixture('ipv6-mapped/tcp'), tcp6: fixture('ipv6-mapped/tcp6') }, { tcpTwReuse: 2 });
    expect(row(m, '127.0.0.1', '127.0.0.1:9001')).toMatchObject({ established: 2, used: 2, headroom: 98 });
    // [::1]:9000: one established, one TIME_WAIT 0.31 s old (below the 1 s delay, so still blocking).
    expect(row(m, '::1', '[::1]:9000')).toMatchObject({ established: 1, timeWait: 1, timeWaitReusable: 0, used: 2, headroom: 98 });
    expect(m.destinations).toHaveLength(2);
  });

  it('sorts least headroom first', () => {
    const m = model({
      tcp: tcp4([...established(3, '10.0.0.1', 40000, '10.0.0.5', 80), ...established(30, '10.0.0.1', 40000, '10.0.0.6', 80)]),
    });
    expect(m.destinations.map((d) => d.destination)).toEqual(['10.0.0.6:80', '10.0.0.5:80']);
  });
});

describe('the recent window in whole seconds (rates since a config change)', () => {
  // Towards 10.0.0.5:8080: 5 TIME_WAIT 0.5 s old, 10 at 2.5 s, 20 at 7.5 s, 30 at 30 s (timer = 60 s − age, in 1/100 s).
  const rows: Row[] = [
    ...timeWaits(5, '10.0.0.1', 40000, '10.0.0.5', 8080, 5950),
    ...timeWaits(10, '10.0.0.1', 40010, '10.0.0.5', 8080, 5750),
    ...timeWaits(20, '10.0.0.1', 40020, '10.0.0.5', 8080, 5250),
    ...timeWaits(30, '10.0.0.1', 40040, '10.0.0.5', 8080, 3000),
  ];
  const m = model({ tcp: tcp4(rows) });
  const d = row(m, '10.0.0.1', '10.0.0.5:8080');

  it('counts the TIME_WAIT younger than each whole second up to 10 s', () => {
    expect(d.recentTimeWait).toEqual([5, 5, 15, 15, 15, 15, 15, 35, 35, 35]);
  });

  it.each<[string, number, { perSecond: number; spanSeconds: number } | null]>([
    ['under a second: too soon', 900, null],
    ['1.5 s: the last whole second', 1500, { perSecond: 5, spanSeconds: 1 }],
    ['3.2 s: the 3 s before', 3200, { perSecond: 5, spanSeconds: 3 }],
    ['8 s', 8000, { perSecond: 35 / 8, spanSeconds: 8 }],
  ])('%s', (_name, sinceMs, expected) => {
    expect(recentRateSince(d, sinceMs)).toEqual(expected);
  });

  it('over the whole recent window once the config is older than it', () => {
    expect(recentRateSince(d, 60_000)).toEqual({ perSecond: d.recentConnectRatePerSecond, spanSeconds: 10 });
  });

  it('averages a burst that began after the load over the seconds that hold it, not over the quiet before', () => {
    // The config loaded 6.5 s ago; 30 connections closed in the last 1.5 s, none before.
    const burst = model({ tcp: tcp4([...timeWaits(15, '10.0.0.1', 40000, '10.0.0.5', 8080, 5950), ...timeWaits(15, '10.0.0.1', 40015, '10.0.0.5', 8080, 5860)]) });
    expect(recentRateSince(row(burst, '10.0.0.1', '10.0.0.5:8080'), 6500)).toEqual({ perSecond: 15, spanSeconds: 2 });
  });

  it('leaves the field out where nothing closed within 10 s', () => {
    const quiet = model({ tcp: tcp4(timeWaits(3, '10.0.0.1', 40000, '10.0.0.5', 8080, 3000)) });
    expect(row(quiet, '10.0.0.1', '10.0.0.5:8080').recentTimeWait).toBeUndefined();
    expect(recentRateSince(row(quiet, '10.0.0.1', '10.0.0.5:8080'), 4000)).toEqual({ perSecond: 0, spanSeconds: 4 });
  });
});
