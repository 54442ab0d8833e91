/**
 * Wall times in a zone → instants, as nginx's error-log stamps are read
 * (--error-log-timezone), around the daylight-saving changes: the repeated hour
 * is read as its earlier instant, the skipped hour with the offset in force before
 * the change (JavaScript Date's choices for the local zone).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeTimeZone, parseInstant, parseTimeZone, ZoneClock, type TimeZone } from '../../agent/core/timeZone.js';

const zone = (text: string): TimeZone => {
  const z = parseTimeZone(text);
  if ('error' in z) throw new Error(z.error);
  return z;
};
const wall = (text: string): [number, number, number, number, number, number] => text.split(/[-/ :T]/).map(Number) as [number, number, number, number, number, number];
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000', '');

describe('parseTimeZone', () => {
  it.each([
    ['', 'local (the agent\'s time zone)'],
    ['UTC', 'UTC'],
    ['Z', 'UTC'],
    ['+02:00', 'UTC+02:00'],
    ['-0530', 'UTC-05:30'],
    ['Europe/Berlin', 'Europe/Berlin'],
    ['America/New_York', 'America/New_York'],
  ])('%j → %s', (text, shown) => {
    expect(describeTimeZone(zone(text))).toBe(shown);
  });

  it.each([['Mars/Olympus'], ['+25:00'], ['+02:61'], ['02:00'], ['CEST+2']])('%j is refused with a sentence that says what to give', (text) => {
    const z = parseTimeZone(text);
    expect('error' in z && z.error).toMatch(/IANA name|out of range|unknown time zone/);
  });
});

describe('ZoneClock: wall time → instant', () => {
  it.each([
    // Europe/Berlin 2026: CET → CEST on 29 March at 02:00 (01:00 UTC), back on 25 October at 03:00 (01:00 UTC).
    ['Europe/Berlin', '2026/03/29 01:59:59', '2026-03-29T00:59:59Z', 'before the spring change'],
    ['Europe/Berlin', '2026/03/29 02:00:00', '2026-03-29T01:00:00Z', 'skipped: read with CET, the offset before (= 03:00 CEST)'],
    ['Europe/Berlin', '2026/03/29 02:30:00', '2026-03-29T01:30:00Z', 'skipped: read with CET (= 03:30 CEST)'],
    ['Europe/Berlin', '2026/03/29 03:00:00', '2026-03-29T01:00:00Z', 'after the spring change'],
    ['Europe/Berlin', '2026/10/25 01:59:59', '2026-10-24T23:59:59Z', 'before the repeated hour'],
    ['Europe/Berlin', '2026/10/25 02:00:00', '2026-10-25T00:00:00Z', 'repeated: the earlier instant (CEST)'],
    ['Europe/Berlin', '2026/10/25 02:30:00', '2026-10-25T00:30:00Z', 'repeated: the earlier instant (CEST)'],
    ['Europe/Berlin', '2026/10/25 02:59:59', '2026-10-25T00:59:59Z', 'repeated: the earlier instant (CEST)'],
    ['Europe/Berlin', '2026/10/25 03:00:00', '2026-10-25T02:00:00Z', 'after the repeated hour (CET)'],
    ['Europe/Berlin', '2026/11/21 08:43:53', '2026-11-21T07:43:53Z', 'winter'],
    ['Europe/Berlin', '2026/07/01 12:00:00', '2026-07-01T10:00:00Z', 'summer'],
    // America/New_York 2026: EST → EDT on 8 March at 02:00, back on 1 November at 02:00.
    ['America/New_York', '2026/03/08 02:30:00', '2026-03-08T07:30:00Z', 'skipped: read with EST (= 03:30 EDT)'],
    ['America/New_York', '2026/11/01 01:30:00', '2026-11-01T05:30:00Z', 'repeated: the earlier instant (EDT)'],
    ['America/New_York', '2026/11/01 02:00:00', '2026-11-01T07:00:00Z', 'after the repeated hour (EST)'],
    // Lord Howe Island moves by 30 minutes, at 02:00 local: the change falls inside an hour.
    ['Australia/Lord_Howe', '2026/10/04 01:59:59', '2026-10-03T15:29:59Z', 'before its half-hour change (+10:30)'],
    ['Australia/Lord_Howe', '2026/10/04 02:45:00', '2026-10-03T15:45:00Z', 'after it (+11), in the same hour'],
    ['UTC', '2026/10/25 02:30:00', '2026-10-25T02:30:00Z', 'UTC has no changes'],
    ['+05:30', '2026/10/25 02:30:00', '2026-10-24T21:00:00Z', 'a fixed offset'],
    ['-0800', '2026/10/25 02:30:00', '2026-10-25T10:30:00Z', 'a fixed negative offset'],
  ])('%s %s → %s (%s)', (z, text, expected) => {
    expect(iso(new ZoneClock(zone(z)).toEpochMs(...wall(text)))).toBe(expected);
  });

  it('the local zone is Date\'s (the suite runs with TZ=UTC)', () => {
    expect(new ZoneClock().toEpochMs(2026, 11, 21, 8, 43, 53)).toBe(new Date(2026, 10, 21, 8, 43, 53).getTime());
  });

  it('round-trips every instant through its wall time, but the repeated hour, which gives the earlier one (property)', () => {
    const names = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Sao_Paulo'];
    const shared = new Map(names.map((n) => [n, new ZoneClock(zone(n))]));
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.integer({ min: Date.UTC(2000, 0, 1) / 1000, max: Date.UTC(2040, 0, 1) / 1000 }), (name, seconds) => {
        const t = seconds * 1000;
        const parts = new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date(t));
        const p = (type: string): number => Number(parts.find((x) => x.type === type)!.value);
        const args = [p('year'), p('month'), p('day'), p('hour'), p('minute'), p('second')] as const;
        const fresh = new ZoneClock(zone(name)).toEpochMs(...args);
        // The per-hour cache gives what a fresh clock gives.
        expect(shared.get(name)!.toEpochMs(...args)).toBe(fresh);
        expect(fresh).toBeLessThanOrEqual(t);
        // Only a repeated hour can give an earlier instant, and then by the size of the change (at most 2 h).
        if (fresh !== t) expect(t - fresh).toBeLessThanOrEqual(2 * 3_600_000);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseInstant (--from, --until)', () => {
  const berlin = zone('Europe/Berlin');
  it.each([
    ['2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z'],
    ['2026-11-01T10:00:00+01:00', '2026-11-01T09:00:00Z'],
    ['2026-11-01T10:00:00-0530', '2026-11-01T15:30:00Z'],
    ['2026-11-01T10:00:00.250Z', '2026-11-01T10:00:00Z'],
    ['2026-11-01T10:00', '2026-11-01T09:00:00Z'],
    ['2026-11-01 10:00:30', '2026-11-01T09:00:30Z'],
    ['2026-07-01 10:00', '2026-07-01T08:00:00Z'],
    ['2026-11-01', '2026-10-31T23:00:00Z'],
  ])('%s → %s (bare times in Europe/Berlin)', (text, expected) => {
    const t = parseInstant(text, berlin);
    expect(typeof t === 'number' ? iso(t) : t).toBe(expected);
  });

  it.each([['yesterday'], ['2026-02-30'], ['2026-11-01T25:00'], ['2026/11/01 10:00'], ['2026-11-01T10:00+25:00']])('%j is refused', (text) => {
    expect(parseInstant(text, berlin)).toMatchObject({ error: expect.any(String) as string });
  });
});
