/**
 * The daemon's history: a ring buffer of one small entry per sample, bounded
 * whatever the run length, read back oldest first over a window that ends at
 * the `now` it is given.
 */
import { describe, expect, it } from 'vitest';
import { HISTORY_CAPACITY, HISTORY_DESTINATIONS, historyEntry, SampleHistory, totalsDelta, type HistoryEntry } from '../../../agent/diagnosis/history.js';
import type { Report, ReportDestination } from '../../../agent/diagnosis/report.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

const entry = (atMs: number, minRatio = 0.5): HistoryEntry => ({ atMs, minRatio, destinations: [], connectAttemptsPerSecond: null, errors: null });

function destination(i: number, headroom: number): ReportDestination {
  return {
    sourceIp: '10.0.0.1', destination: `10.0.1.${i}:80`, capacity: 100, used: 100 - headroom, headroom, headroomRatio: headroom / 100,
    established: 1, timeWait: 99 - headroom, timeWaitReusable: 0, other: 0, states: { established: 1, time_wait: 99 - headroom },
    connectRatePerSecond: 2, maxSustainableConnectRate: 1.7,
    connectRate: { perSecond: 2, basis: 'time_wait_ages', spanSeconds: 60, timeWaitSockets: 120, lowerBound: i === 0, lowerBoundBecause: i === 0 ? ['exhausted'] : [], why: 'test' },
    timeWaitReuse: false, secondsUntilNextRelease: 3, level: 'warning', upstreams: i === 0 ? ['backend'] : [],
  };
}

function report(destinations: ReportDestination[], connectAttemptsPerSecond: number | null = 12.5): Report {
  return {
    status: 'WARNING', summary: '', generatedAt: new Date(T0).toISOString(), host: null, procRoot: '/proc',
    portRange: { low: 1, high: 100, size: 100, reserved: 0, listenersInRange: 0, usable: 100 },
    sysctls: { ip_local_port_range: null, ip_local_reserved_ports: null, tcp_tw_reuse: null, tcp_tw_reuse_delay_ms: null, tcp_timestamps: null, tcp_fin_timeout_seconds: null, tcp_max_tw_buckets: null },
    hostSockets: { total: 0, byState: {}, timeWait: 0, timeWaitOverflow: null, connectAttemptsPerSecond, conntrack: null },
    destinationsTotal: destinations.length, destinations, errorLog: null, nginx: null, findings: [], sources: [], assumptions: [], problems: [],
  };
}

describe('SampleHistory', () => {
  it(`keeps ${HISTORY_CAPACITY} entries by default, the newest, oldest first`, () => {
    const h = new SampleHistory(5000);
    for (let i = 0; i < HISTORY_CAPACITY + 250; i++) h.add(entry(T0 + i * 5000));
    expect(h.length).toBe(HISTORY_CAPACITY);
    const all = h.entries();
    expect(all).toHaveLength(HISTORY_CAPACITY);
    expect(all[0]!.atMs).toBe(T0 + 250 * 5000);
    expect(all.at(-1)!.atMs).toBe(T0 + (HISTORY_CAPACITY + 249) * 5000);
    expect(all.every((e, i) => i === 0 || e.atMs > all[i - 1]!.atMs)).toBe(true);
  });

  it.each([1, 2, 3, 7])('wraps correctly with capacity %i', (capacity) => {
    const h = new SampleHistory(1000, capacity);
    for (let i = 0; i < 10; i++) {
      h.add(entry(i));
      expect(h.entries().map((e) => e.atMs)).toEqual(Array.from({ length: Math.min(i + 1, capacity) }, (_, k) => i - Math.min(i + 1, capacity) + 1 + k));
    }
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new SampleHistory(1000, 0)).toThrow(RangeError);
    expect(() => new SampleHistory(1000, 1.5)).toThrow(RangeError);
  });

  it('snapshot: the entries of the span ending at now, none from the future (a clock stepped back)', () => {
    const h = new SampleHistory(5000, 10);
    for (let i = 0; i < 10; i++) h.add(entry(T0 + i * 5000));
    const s = h.snapshot(T0 + 30_000, 20_000);
    expect(s).toMatchObject({ intervalMs: 5000, capacity: 10 });
    expect(s.entries.map((e) => e.atMs - T0)).toEqual([15_000, 20_000, 25_000, 30_000]);
    expect(h.snapshot(T0 + 45_000).entries).toHaveLength(10);
  });

  it('record: an entry from the report, with the error-log events since the last record', () => {
    const h = new SampleHistory(5000);
    const r = report([0, 1, 2, 3, 4, 5, 6].map((i) => destination(i, 10 + i)));
    const first = h.record(r, T0, { eaddrnotavail: 40, other: 3 });
    expect(first.errors).toEqual({ eaddrnotavail: 40, other: 3 });
    expect(first.destinations).toHaveLength(HISTORY_DESTINATIONS);
    expect(first.destinations[0]).toEqual({ id: '10.0.0.1 → 10.0.1.0:80', upstreams: ['backend'], headroom: 10, capacity: 100, connectRatePerSecond: 2, connectRateLowerBound: true, maxSustainableConnectRate: 1.7 });
    expect(first.destinations[1]).not.toHaveProperty('upstreams');
    expect(first.destinations[1]).not.toHaveProperty('connectRateLowerBound');
    expect(first.minRatio).toBe(0.1);
    expect(first.connectAttemptsPerSecond).toBe(12.5);
    expect(h.record(r, T0 + 5000, { eaddrnotavail: 45, other: 3 }).errors).toEqual({ eaddrnotavail: 5 });
    expect(h.record(r, T0 + 10_000, null).errors).toBeNull();
  });

  it('an entry says 1 with no destinations and null without a headroom model', () => {
    expect(historyEntry(report([]), T0, null).minRatio).toBe(1);
    expect(historyEntry({ ...report([]), portRange: null }, T0, null).minRatio).toBeNull();
  });

  it('stays small: an hour of five destinations and every error kind is well under a megabyte as JSON', () => {
    const h = new SampleHistory(5000);
    const r = report([0, 1, 2, 3, 4].map((i) => destination(i, 10 + i)));
    const kinds = { eaddrnotavail: 1, econnrefused: 1, etimedout_connect: 1, upstream_timeout_read: 1, emfile: 1, enfile: 1, worker_connections: 1, no_live_upstreams: 1, eaddrinuse: 1, econnreset: 1, other: 1 };
    for (let i = 0; i < 2 * HISTORY_CAPACITY; i++) h.record(r, T0 + i * 5000, Object.fromEntries(Object.entries(kinds).map(([k]) => [k, i * 3])));
    expect(JSON.stringify(h.snapshot(T0 + 2 * HISTORY_CAPACITY * 5000)).length).toBeLessThan(1024 * 1024);
  });
});

describe('totalsDelta', () => {
  it.each([
    [null, { a: 3 }, { a: 3 }],
    [{ a: 3 }, { a: 3 }, {}],
    [{ a: 3 }, { a: 5, b: 1 }, { a: 2, b: 1 }],
    // A counter that went down (a restart of the counts) is no negative event count.
    [{ a: 5 }, { a: 2 }, {}],
  ])('%j → %j is %j', (before, now, delta) => {
    expect(totalsDelta(before, now)).toEqual(delta);
  });
});
