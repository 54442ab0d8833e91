/**
 * The connect-rate estimators (agent/sockets/model/rates.ts): the span TIME_WAIT
 * ages cover, its floors for small counts, the lower-bound reasons the model
 * sets, and what Tcp ActiveOpens adds where TIME_WAIT hides the rate.
 */
import { describe, expect, it } from 'vitest';
import { computeHeadroom, type KernelSettings } from '../../../agent/sockets/model/headroom.js';
import { withHostRateEvidence } from '../../../agent/sockets/model/hostRates.js';
import { timeWaitConnectRate, timeWaitRate, timeWaitSpanMs, withHostRates, type ConnectRate, type LowerBoundReason } from '../../../agent/sockets/model/rates.js';
import { SocketTableBuilder } from '../../../agent/sockets/model/socketTable.js';
import type { SocketSample } from '../../../agent/sockets/model/types.js';
import { scanProcNetTcp } from '../../../agent/sockets/parse/procNetTcp.js';
import { QUIET_COUNTERS, sysctlsFor } from '../../support/kernelState.js';
import { established, tcp4, timeWaits, type Row } from '../../support/procText.js';

const WINDOW_MS = 60_000;

/** The ages, ms, of n TIME_WAIT sockets closed evenly over the last `spreadS` seconds: spreadS·i/n for i = 1..n. */
const evenAges = (n: number, spreadS: number): number[] => Array.from({ length: n }, (_, i) => ((i + 1) * spreadS * 1000) / n);

describe('the TIME_WAIT span estimate', () => {
  it.each([
    // [what, count, oldest age s, window s, expected span s]
    ['a load older than the window reaches the window: count ÷ window', 1000, 59.95, 60, 60],
    ['a 4 s burst is averaged over about 4 s, not 60', 96, 4, 60, 4 * (97 / 96)],
    ['a 10 s window caps the span at 10 s', 500, 9.99, 10, 10],
    ['ten sockets within 0.5 s: the 1 s floor', 10, 0.5, 60, 1],
    ['one socket 50 ms old reads as a trickle (stretched to 9/10 of the window)', 1, 0.05, 60, 54],
    ['five fresh sockets: stretched to half the window', 5, 0.3, 60, 30],
    ['nine sockets: a tenth of the window at least', 9, 2, 60, 6],
    ['one socket 50 s old: its span reaches the window', 1, 50, 60, 60],
    ['no socket: the window', 0, 0, 60, 60],
  ])('%s', (_what, count, oldestS, windowS, spanS) => {
    expect(timeWaitSpanMs(count, oldestS * 1000, windowS * 1000) / 1000).toBeCloseTo(spanS, 6);
  });

  it.each([
    // A steady rate r over the whole window: the old estimate and the new agree.
    ['steady 100/s', 100, 60],
    ['steady 1/s', 1, 60],
    ['steady 0.2/s (12 sockets a minute)', 0.2, 60],
    // A burst at rate r that began `runS` seconds ago: count ÷ window read r × runS / 60.
    ['a 4 s burst at 24/s', 24, 4],
    ['a 10 s burst at 400/s', 400, 10],
    ['a 2 s burst at 1000/s', 1000, 2],
  ])('%s: within a tenth of the true rate', (_what, rate, runS) => {
    const ages = evenAges(Math.round(rate * runS), runS);
    const estimate = timeWaitRate(ages.length, Math.max(...ages), WINDOW_MS);
    expect(estimate / rate).toBeGreaterThan(0.9);
    expect(estimate / rate).toBeLessThan(1.1);
  });

  it('a burst that ended is averaged up to now: 4 s at 24/s seen 1 s later reads 4/5 of its rate', () => {
    const ages = evenAges(96, 4).map((a) => a + 1000);
    expect(timeWaitRate(96, Math.max(...ages), WINDOW_MS)).toBeCloseTo(96 / (5 * (97 / 96)), 6);
  });

  it.each<[string, number, number, LowerBoundReason[], string]>([
    ['a steady figure', 120, 30_000, [], '120 TIME_WAIT sockets closed in the last 30.3 s'],
    ['one socket', 1, 59_000, [], '1 TIME_WAIT socket closed in the last 60 s'],
    ['none', 0, 0, [], 'no TIME_WAIT socket younger than 60 s'],
    [
      'hidden by reuse',
      50,
      900,
      ['time_wait_reuse'],
      '50 TIME_WAIT sockets closed in the last 1 s; a lower bound: tcp_tw_reuse applies: a new connection may take over a TIME_WAIT socket older than the reuse delay, which then leaves no trace',
    ],
  ])('why: %s', (_what, count, oldestMs, because, why) => {
    const c = timeWaitConnectRate(count, oldestMs, WINDOW_MS, because);
    expect(c.why).toBe(why);
    expect(c.lowerBound).toBe(because.length > 0);
  });
});

const SETTINGS: KernelSettings = { portRange: { low: 40000, high: 40999 }, reservedPorts: [], tcpTwReuse: 0, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 };

function destinations(rows: Row[], settings: Partial<KernelSettings> = {}) {
  const s = { ...SETTINGS, ...settings };
  const b = new SocketTableBuilder(s.portRange);
  const bytes = new TextEncoder().encode(tcp4(rows));
  scanProcNetTcp(bytes, bytes.length, 4, 'LE', b);
  return computeHeadroom(b.build(), s, { rateWindowSeconds: 60 });
}

/** n TIME_WAIT rows towards `remote`:80 closed evenly over the last `spreadS` seconds. */
const churn = (n: number, remote: string, spreadS: number, firstPort = 40000): Row[] =>
  timeWaits(n, '10.0.0.1', firstPort, remote, 80, 0).map((r, i) => ({ ...r, when: 6000 - Math.round(((i + 1) * spreadS * 100) / n) }));

describe('the lower-bound reasons the model sets', () => {
  it.each<[string, Row[], Partial<KernelSettings>, LowerBoundReason[]]>([
    ['a destination with room: none', churn(300, '10.0.0.5', 30), {}, []],
    ['0 free ports: exhausted', churn(1000, '10.0.0.5', 30), {}, ['exhausted']],
    ['5 free ports of 1000 (under 1 %): exhausted', churn(995, '10.0.0.5', 30), {}, ['exhausted']],
    ['15 free ports of 1000: not exhausted', churn(985, '10.0.0.5', 30), {}, []],
    ['tcp_tw_reuse=1: reuse may hide TIME_WAIT', churn(300, '10.0.0.5', 30), { tcpTwReuse: 1 }, ['time_wait_reuse']],
    ['tcp_tw_reuse=2 to a remote destination: no reuse', churn(300, '10.0.0.5', 30), { tcpTwReuse: 2 }, []],
    ['reuse without timestamps: none', churn(300, '10.0.0.5', 30), { tcpTwReuse: 1, tcpTimestamps: 0 }, []],
    ['reuse but no TIME_WAIT at all: nothing to hide', established(10, '10.0.0.1', 40000, '10.0.0.5', 80), { tcpTwReuse: 1 }, []],
  ])('%s', (_what, rows, settings, because) => {
    expect(destinations(rows, settings).destinations[0]!.connectRate.lowerBoundBecause).toEqual(because);
  });
});

/** A destination's rate fields as withHostRates sees them. */
function rated(perSecond: number, because: LowerBoundReason[] = []): { connectRate: ConnectRate; connectRatePerSecond: number } {
  const c = timeWaitConnectRate(Math.round(perSecond * 10), 10_000, 10_000, because);
  return { connectRate: { ...c, perSecond }, connectRatePerSecond: perSecond };
}

describe('Tcp ActiveOpens where TIME_WAIT hides the rate', () => {
  it('one hidden destination gets the attempts the others do not account for', () => {
    const [hidden, plain] = withHostRates([rated(16.5, ['time_wait_reuse']), rated(2)], { connectAttemptsPerSecond: 3800, timeWaitOverflowing: false });
    expect(hidden!.connectRate).toMatchObject({ perSecond: 3798, basis: 'active_opens', lowerBound: false, lowerBoundBecause: [] });
    expect(hidden!.connectRatePerSecond).toBe(3798);
    expect(hidden!.connectRate.why).toMatch(/^host-wide Tcp ActiveOpens, 3800\/s, less the 2\.0\/s the other destinations' TIME_WAIT accounts for: an upper estimate/);
    expect(hidden!.connectRate.why).toContain('TIME_WAIT here showed 16.5/s');
    expect(plain!.connectRate.basis).toBe('time_wait_ages');
    expect(plain!.connectRatePerSecond).toBe(2);
  });

  it('several hidden destinations share the rest by their TIME_WAIT figures', () => {
    const out = withHostRates([rated(30, ['time_wait_reuse']), rated(10, ['time_wait_reuse'])], { connectAttemptsPerSecond: 400, timeWaitOverflowing: false });
    expect(out.map((d) => d.connectRatePerSecond)).toEqual([300, 100]);
    expect(out[0]!.connectRate.why).toContain('shared among 2 destinations');
  });

  it.each<[string, number | null, number]>([
    ['no ActiveOpens reading: the TIME_WAIT figure stays, a lower bound', null, 16.5],
    ['fewer attempts than TIME_WAIT shows (the load stopped): the TIME_WAIT figure stays', 3, 16.5],
  ])('%s', (_what, attempts, expected) => {
    const [d] = withHostRates([rated(16.5, ['time_wait_reuse'])], { connectAttemptsPerSecond: attempts, timeWaitOverflowing: false });
    expect(d!.connectRatePerSecond).toBe(expected);
    expect(d!.connectRate).toMatchObject({ basis: 'time_wait_ages', lowerBound: true });
  });

  it('a destination whose TIME_WAIT is not hidden keeps its figure, whatever ActiveOpens says', () => {
    const [d] = withHostRates([rated(5)], { connectAttemptsPerSecond: 5000, timeWaitOverflowing: false });
    expect(d!.connectRate).toMatchObject({ perSecond: 5, basis: 'time_wait_ages', lowerBound: false });
  });

  it('an exhausted destination stays a lower bound: ActiveOpens does not see attempts that found no port', () => {
    const [d] = withHostRates([rated(16.5, ['exhausted', 'time_wait_reuse'])], { connectAttemptsPerSecond: 1000, timeWaitOverflowing: false });
    expect(d!.connectRate).toMatchObject({ perSecond: 1000, basis: 'active_opens', lowerBound: true, lowerBoundBecause: ['exhausted'] });
    expect(d!.connectRate.why).toContain('a lower bound: no port is free');
  });

  it('tcp_max_tw_buckets overflowing makes every TIME_WAIT figure a lower bound, and ActiveOpens fills in', () => {
    const out = withHostRates([rated(20), rated(10)], { connectAttemptsPerSecond: 90, timeWaitOverflowing: true });
    expect(out.map((d) => [d.connectRatePerSecond, d.connectRate.basis])).toEqual([
      [60, 'active_opens'],
      [30, 'active_opens'],
    ]);
    const [alone] = withHostRates([rated(20)], { connectAttemptsPerSecond: null, timeWaitOverflowing: true });
    expect(alone!.connectRate).toMatchObject({ lowerBound: true, lowerBoundBecause: ['time_wait_overflow'] });
    expect(alone!.connectRate.why).toContain('tcp_max_tw_buckets is reached');
  });
});

describe('a sample with the host-wide evidence', () => {
  function sample(rows: Row[], settings: Partial<KernelSettings>, counters: Partial<SocketSample['counters']> = {}, maxTwBuckets = 262144): SocketSample {
    const s = { ...SETTINGS, ...settings };
    return {
      takenAtMs: 0,
      durationMs: 0,
      procRoot: '/proc',
      sources: [],
      sysctls: { ...sysctlsFor(s), tcpMaxTwBuckets: maxTwBuckets },
      settings: s,
      assumptions: [],
      headroom: destinations(rows, s),
      counters: { ...QUIET_COUNTERS, ...counters },
      malformedLines: { tcp: 0, tcp6: 0 },
      problems: [],
    };
  }

  it('uses the ActiveOpens rate for a destination whose TIME_WAIT reuse hides its rate', () => {
    const taken = sample(churn(900, '10.0.0.5', 0.9), { tcpTwReuse: 1 });
    const out = withHostRateEvidence(taken, 3800);
    expect(out.headroom!.destinations[0]!.connectRate).toMatchObject({ perSecond: 3800, basis: 'active_opens' });
    // The sample given is not changed.
    expect(taken.headroom!.destinations[0]!.connectRate.basis).toBe('time_wait_ages');
  });

  it.each([
    ['at the cap with overflows: overflowing', 270, 300, true],
    ['at the cap, no overflow counted: not', 270, 0, false],
    ['overflows long ago, far from the cap: not', 100, 300, false],
  ])('tcp_max_tw_buckets %s', (_what, timeWait, overflow, lower) => {
    const out = withHostRateEvidence(sample(churn(timeWait, '10.0.0.5', 30), {}, { timeWaitOverflow: overflow }, 300), null);
    expect(out.headroom!.destinations[0]!.connectRate.lowerBoundBecause.includes('time_wait_overflow')).toBe(lower);
  });
});
