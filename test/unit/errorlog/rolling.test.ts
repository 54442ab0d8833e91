import { describe, expect, it } from 'vitest';
import { RollingErrorWindow } from '../../../agent/errorlog/model/rolling.js';
import { ErrorLogCounts } from '../../../agent/errorlog/model/counts.js';
import { classifyLine, type ErrorLogEvent } from '../../../agent/errorlog/parse/classify.js';
import { eaddrnotavailLine } from '../../support/procText.js';

const WINDOW_MS = 5 * 60_000;
const NOW = new Date(2026, 10, 21, 8, 30, 0).getTime();
const DEST = '10.0.0.5:80';

function event(atMs: number): { event: ErrorLogEvent; line: string } {
  const line = eaddrnotavailLine(atMs, DEST);
  const r = classifyLine(line);
  if (!r.ok) throw new Error(`not classified: ${line}`);
  return { event: r.event, line };
}

const exhaustion = (w: RollingErrorWindow, nowMs: number) => w.evidence(nowMs).byKind.find((k) => k.kind === 'eaddrnotavail');

describe('RollingErrorWindow', () => {
  it('keeps the events of the last window and lets older ones go', () => {
    const counts = new ErrorLogCounts(100);
    const w = new RollingErrorWindow(WINDOW_MS, counts);
    for (const ago of [10 * 60_000, 4 * 60_000, 60_000, 0]) {
      const e = event(NOW - ago);
      w.add(e.event, e.line, NOW);
      counts.add(e.event);
    }
    expect(exhaustion(w, NOW)).toMatchObject({ count: 3, firstMs: NOW - 4 * 60_000, lastMs: NOW });
    expect(w.evidence(NOW).byDestination).toEqual({ [DEST]: { eaddrnotavail: 3 } });
    // To bucket (10 s) precision.
    expect(exhaustion(w, NOW + 4 * 60_000 + 10_000)).toMatchObject({ count: 1 });
  });

  it('counts a line stamped in the future as happening now, so it ages out with the window', () => {
    const counts = new ErrorLogCounts(100);
    const w = new RollingErrorWindow(WINDOW_MS, counts);
    // One stamp per 10 s over the next 55 hours: a clock stepped back, or nonsense.
    for (let i = 1; i <= 20_000; i++) {
      const e = event(NOW + 3_600_000 + i * 10_000);
      w.add(e.event, e.line, NOW);
      counts.add(e.event);
    }
    expect(exhaustion(w, NOW)).toMatchObject({ count: 20_000, firstMs: NOW, lastMs: NOW });
    expect(exhaustion(w, NOW + WINDOW_MS + 20_000)).toBeUndefined();
  });

  it('counts destinations from the running totals: only what came since the window\'s first bucket', () => {
    const counts = new ErrorLogCounts(100);
    const w = new RollingErrorWindow(WINDOW_MS, counts);
    const feed = (atMs: number, dest: string): void => {
      const line = eaddrnotavailLine(atMs, dest);
      const r = classifyLine(line);
      if (!r.ok) throw new Error(line);
      w.add(r.event, line, atMs);
      counts.add(r.event);
    };
    for (let i = 0; i < 3; i++) feed(NOW - 4 * 60_000 + i, DEST);
    feed(NOW, DEST);
    feed(NOW + 1, '10.0.0.6:80');
    expect(w.evidence(NOW).byDestination).toEqual({ [DEST]: { eaddrnotavail: 4 }, '10.0.0.6:80': { eaddrnotavail: 1 } });
    // Two minutes on, the three lines of 4 minutes ago have left the window.
    expect(w.evidence(NOW + 2 * 60_000).byDestination).toEqual({ [DEST]: { eaddrnotavail: 1 }, '10.0.0.6:80': { eaddrnotavail: 1 } });
    // And once every bucket has, nothing is left.
    expect(w.evidence(NOW + WINDOW_MS + 20_000).byDestination).toEqual({});
  });
});

describe('a backfilled log: older lines read after the window\'s first bucket opened', () => {
  // With errorLogBackfill the daemon reads hours of lines in one go, at "now". A line that lands in the
  // current bucket early on (one not in nginx's format, or one stamped in the future) opens that bucket
  // before the older lines are counted: they must not count as recent for their destination.
  const feed = (counts: ErrorLogCounts, w: RollingErrorWindow, atMs: number, dest: string): void => {
    const line = eaddrnotavailLine(atMs, dest);
    const r = classifyLine(line);
    if (!r.ok) throw new Error(line);
    w.add(r.event, line, NOW);
    counts.add(r.event);
  };

  for (const [name, first] of [
    [
      'a line not in nginx\'s format',
      (counts: ErrorLogCounts, w: RollingErrorWindow) => {
        w.addUnparsed(NOW);
        counts.addUnparsed();
      },
    ],
    [
      'a line stamped in the future',
      (counts: ErrorLogCounts, w: RollingErrorWindow) => {
        feed(counts, w, NOW + 3_600_000, '10.0.0.9:80');
      },
    ],
  ] as const) {
    it(`${name} first, then an hour of older lines, then one recent: the recent one is all the window counts`, () => {
      const counts = new ErrorLogCounts(100);
      const w = new RollingErrorWindow(WINDOW_MS, counts);
      first(counts, w);
      for (let i = 0; i < 1000; i++) feed(counts, w, NOW - 3_600_000 + i * 1000, DEST);
      feed(counts, w, NOW, DEST);
      expect(counts.totalsOf('eaddrnotavail').get(DEST)).toBe(1001);
      expect(exhaustion(w, NOW)?.count).toBe(name === 'a line stamped in the future' ? 2 : 1);
      expect(w.evidence(NOW).byDestination[DEST]).toEqual({ eaddrnotavail: 1 });
      // And so it stays as the window moves on and new lines come.
      feed(counts, w, NOW + 20_000, DEST);
      expect(w.evidence(NOW + 20_000).byDestination[DEST]).toEqual({ eaddrnotavail: 2 });
    });
  }

  it('an older line that took a destination\'s label (the limit then full) does not make that destination recent', () => {
    const counts = new ErrorLogCounts(1);
    const w = new RollingErrorWindow(WINDOW_MS, counts);
    w.addUnparsed(NOW);
    counts.addUnparsed();
    feed(counts, w, NOW - 3_600_000, DEST);
    for (let i = 0; i < 10; i++) feed(counts, w, NOW - 3_600_000, `10.0.1.${i}:80`);
    feed(counts, w, NOW, '10.0.2.1:80');
    expect(w.evidence(NOW).byDestination).toEqual({});
    expect(counts.totalsOf('eaddrnotavail').get('other')).toBe(11);
  });
});

describe('the window as the report shows it (the daemon\'s status page)', () => {
  it('counts the lines, keeps the latest line of a kind as its sample and buckets the events by kind', async () => {
    const { RollingErrorWindow } = await import('../../../agent/errorlog/model/rolling.js');
    const { ErrorLogCounts } = await import('../../../agent/errorlog/model/counts.js');
    const { classifyLine } = await import('../../../agent/errorlog/parse/classify.js');
    const counts = new ErrorLogCounts(10);
    const w = new RollingErrorWindow(300_000, counts);
    const now = Date.UTC(2026, 10, 21, 8, 44, 0);
    const line = (s: number, n: number) => `2026/11/21 08:43:${String(s).padStart(2, '0')} [crit] 1#1: *${n} connect() to 10.0.0.2:80 failed (99: Cannot assign requested address) while connecting to upstream, client: 1.2.3.4`;
    for (const [s, n] of [[31, 1], [52, 2], [53, 3]] as const) {
      const r = classifyLine(line(s, n));
      if (!r.ok) throw new Error('fixture line does not parse');
      w.add(r.event, line(s, n), now);
      counts.add(r.event);
    }
    w.addUnparsed(now);
    const s = w.summary(now, ['/var/log/nginx/error.log']);
    expect(s).toMatchObject({ sinceMs: now - 300_000, files: ['/var/log/nginx/error.log'], lines: 4, unparsed: 1, truncated: false });
    expect(s.byKind).toEqual([expect.objectContaining({ kind: 'eaddrnotavail', count: 3, sample: line(53, 3) })]);
    expect(s.timeline).toEqual({
      bucketMs: 10_000,
      buckets: [
        { startMs: Date.UTC(2026, 10, 21, 8, 43, 30), byKind: { eaddrnotavail: 1 } },
        { startMs: Date.UTC(2026, 10, 21, 8, 43, 50), byKind: { eaddrnotavail: 2 } },
      ],
    });
  });
});
