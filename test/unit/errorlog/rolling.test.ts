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
