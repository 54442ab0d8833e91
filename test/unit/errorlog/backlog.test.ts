/**
 * A backlog read in parts (errorlog/backlog.ts) must leave the counts, the
 * findings window, the version seen and the tailer's line counts exactly as the
 * line-by-line read does. Here each part is read in this thread (readPart) and
 * merged in order (ErrorLogPipeline.takePart), on a log built to make the merge
 * hard: lines not in nginx's format, a line stamped in the future, nginx's
 * start-up line, an over-long line, recent lines and an old one after them, and
 * more destinations than the label limit, spread over many small parts.
 * test/system/errorlog/backlog.test.ts runs the real worker threads in the
 * built daemon.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { cutParts, readPart } from '../../../agent/errorlog/backlog.js';
import { ErrorLogPipeline, FINDINGS_WINDOW_MS } from '../../../agent/errorlog/pipeline.js';
import { resolveConfig, type Config } from '../../../agent/config.js';
import { LOCAL_ZONE } from '../../../agent/core/timeZone.js';
import { FakeClock } from '../../support/fakeClock.js';
import { eaddrnotavailLine, nginxTime } from '../../support/procText.js';

const NOW = new Date(2026, 11, 7, 5, 0, 0).getTime();
/** The pipelines' clock: in the window's 10 s bucket that starts at NOW, where the first line (not nginx's) lands too. */
const CLOCK = NOW + 9000;
const MAX_LINE_BYTES = 4096;
const dir = mkdtempSync(join(tmpdir(), 'npa-backlog-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const refused = (ms: number, dest: string): string => eaddrnotavailLine(ms, dest).replace('(99: Cannot assign requested address)', '(111: Connection refused)');

/** The log: see the file's comment. */
function buildLog(): string {
  const lines: string[] = ['(not a line nginx writes)', eaddrnotavailLine(NOW + 3_600_000, '10.0.9.9:80')];
  for (let i = 0; i < 3000; i++) {
    const at = NOW - 7_200_000 + i * 1000;
    const dest = `10.0.${i % 30}.1:80`;
    lines.push(i % 3 === 0 ? refused(at, dest) : eaddrnotavailLine(at, dest));
    if (i === 1500) lines.push(`${nginxTime(at)} [notice] 1#1: nginx/1.22.1`, 'x'.repeat(MAX_LINE_BYTES + 10), '(another)');
  }
  // Recent lines in the bucket the first line opened, before an hour of older ones was counted.
  for (let i = 0; i < 50; i++) lines.push(eaddrnotavailLine(NOW + i * 100, `10.0.${i % 3}.1:80`));
  lines.push(eaddrnotavailLine(NOW - 7_000_000, '10.0.77.1:80'), eaddrnotavailLine(NOW + 8000, '10.0.88.1:80'), '(last)');
  return `${lines.join('\n')}\n`;
}

async function config(path: string): Promise<Config> {
  const r = await resolveConfig({ env: {}, flags: { errorLogs: [path], errorLogBackfill: true, errorLogReadThreads: 1, maxDestinations: 10, maxLineBytes: MAX_LINE_BYTES } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

describe('a backlog read in parts', () => {
  it('cuts the range at line starts, ends at the last newline and covers it all', () => {
    const path = join(dir, 'cut.log');
    writeFileSync(path, `${buildLog()}a line still being written`);
    const fd = openSync(path, 'r');
    try {
      const text = readFileSync(path);
      const parts = cutParts(fd, 0, text.length, MAX_LINE_BYTES, 0, 8192);
      expect(parts.length).toBeGreaterThan(20);
      expect(parts[0]!.from).toBe(0);
      expect(parts.at(-1)!.to).toBe(text.lastIndexOf(0x0a) + 1);
      for (let i = 0; i < parts.length; i++) {
        expect(parts[i]!.to).toBeGreaterThan(parts[i]!.from);
        if (i > 0) {
          expect(parts[i]!.from).toBe(parts[i - 1]!.to);
          expect(text[parts[i]!.from - 1]).toBe(0x0a);
        }
      }
      // A range with no whole line: nothing to read in parts.
      expect(cutParts(fd, text.lastIndexOf(0x0a) + 1, text.length, MAX_LINE_BYTES)).toEqual([]);
      // The tailer holds the start of a line up to minEnd: the first part ends past it, at a line's end.
      const held = parts[3]!.from + 100;
      const from = parts[3]!.from;
      const [first] = cutParts(fd, from, text.length, MAX_LINE_BYTES, held + 20_000, 8192);
      expect(first!.from).toBe(from);
      expect(first!.to).toBeGreaterThanOrEqual(held + 20_000);
      expect(text[first!.to - 1]).toBe(0x0a);
      expect(cutParts(fd, 0, 5000, MAX_LINE_BYTES, 6000)).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });

  it('leaves the counts, the window, the version and the line counts as reading line by line does', async () => {
    const path = join(dir, 'error.log');
    writeFileSync(path, buildLog());
    const size = statSync(path).size;
    const cfg = await config(path);
    const silent = pino({ level: 'silent' });

    // Line by line: the tailer from the start of the file.
    const byLine = new ErrorLogPipeline(cfg, silent, new FakeClock(CLOCK));
    await byLine.start();
    await byLine.stop();
    const status = byLine.status()[0]!;
    expect(status.bytes).toBe(size);

    // In parts of about 8 KiB, each read alone and merged in order.
    const inParts = new ErrorLogPipeline(cfg, silent, new FakeClock(CLOCK));
    const fd = openSync(path, 'r');
    let lines = 0;
    let tooLong = 0;
    try {
      for (const part of cutParts(fd, 0, size, MAX_LINE_BYTES, 0, 8192)) {
        const r = readPart(fd, part, LOCAL_ZONE, CLOCK - FINDINGS_WINDOW_MS, MAX_LINE_BYTES);
        inParts.takePart(r);
        lines += r.lines;
        tooLong += r.tooLong;
      }
    } finally {
      closeSync(fd);
    }

    expect({ lines, tooLong }).toEqual({ lines: status.lines, tooLong: status.discarded.too_long });
    expect(tooLong).toBe(1);
    expect(inParts.counts.series()).toEqual(byLine.counts.series());
    expect([inParts.counts.lines, inParts.counts.unparsed]).toEqual([byLine.counts.lines, byLine.counts.unparsed]);
    for (const kind of ['eaddrnotavail', 'econnrefused'] as const) expect(inParts.counts.lastEvent(kind)).toBe(byLine.counts.lastEvent(kind));
    // The files are the tailer's: the pipeline read in parts started none.
    const window = { ...byLine.summary(CLOCK), files: [] };
    expect(inParts.summary(CLOCK)).toEqual(window);
    expect(inParts.startupVersion()).toEqual(byLine.startupVersion());
    // What the log was built to hold, so that the comparison above is about something.
    expect(byLine.startupVersion()?.line).toContain('nginx/1.22.1');
    expect(window.unparsed).toBe(3);
    // The line from the future counts as now; 10.0.88.1:80 came after the label limit (under "other").
    expect(window.byDestination).toEqual({ '10.0.9.9:80': { eaddrnotavail: 1 }, '10.0.0.1:80': { eaddrnotavail: 17 }, '10.0.1.1:80': { eaddrnotavail: 17 }, '10.0.2.1:80': { eaddrnotavail: 16 } });
    expect(byLine.counts.series().some((s) => s.destination === 'other')).toBe(true);
  });

  it('gives up on a part that names more destinations than a part may hold, so the tailer reads it line by line', () => {
    const path = join(dir, 'many.log');
    writeFileSync(path, `${Array.from({ length: 5000 }, (_, i) => eaddrnotavailLine(NOW - 7_200_000, `10.${i >> 8}.${i & 255}.1:80`)).join('\n')}\n`);
    const fd = openSync(path, 'r');
    try {
      expect(() => readPart(fd, { from: 0, to: statSync(path).size }, LOCAL_ZONE, NOW - FINDINGS_WINDOW_MS, MAX_LINE_BYTES)).toThrow(/too many destinations/);
    } finally {
      closeSync(fd);
    }
  });
});
