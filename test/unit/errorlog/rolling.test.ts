import { describe, expect, it } from 'vitest';
import { RollingErrorWindow } from '../../../agent/errorlog/model/rolling.js';
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
    const w = new RollingErrorWindow(WINDOW_MS, 100);
    for (const ago of [10 * 60_000, 4 * 60_000, 60_000, 0]) {
      const e = event(NOW - ago);
      w.add(e.event, e.line, NOW);
    }
    expect(exhaustion(w, NOW)).toMatchObject({ count: 3, firstMs: NOW - 4 * 60_000, lastMs: NOW });
    expect(w.evidence(NOW).byDestination).toEqual({ [DEST]: { eaddrnotavail: 3 } });
    // To bucket (10 s) precision.
    expect(exhaustion(w, NOW + 4 * 60_000 + 10_000)).toMatchObject({ count: 1 });
  });

  it('counts a line stamped in the future as happening now, so it ages out with the window', () => {
    const w = new RollingErrorWindow(WINDOW_MS, 100);
    // One stamp per 10 s over the next 55 hours: a clock stepped back, or nonsense.
    for (let i = 1; i <= 20_000; i++) {
      const e = event(NOW + 3_600_000 + i * 10_000);
      w.add(e.event, e.line, NOW);
    }
    expect(exhaustion(w, NOW)).toMatchObject({ count: 20_000, firstMs: NOW, lastMs: NOW });
    expect(exhaustion(w, NOW + WINDOW_MS + 20_000)).toBeUndefined();
  });
});
