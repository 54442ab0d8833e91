/**
 * The tailer and its backlog reader (TailerOptions.backlog): what goes to the
 * reader and what the tailer reads itself, on real files, driven pass by pass.
 * The reader here reads in this thread and records what it was asked; the
 * worker-thread reader (errorlog/backlog.ts) is held to the line-by-line read in
 * test/unit/errorlog/backlog.test.ts and, in the built daemon, in backlog.test.ts.
 */
import { appendFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { Tailer, type BacklogReader } from '../../../agent/errorlog/tail/tailer.js';
import { useScratch } from './support.js';

const s = useScratch();
const line = (i: number): string => `2026/12/07 05:00:00 [error] 1#1: *${i} line number ${i} ${'x'.repeat(60)}`;

/** A reader that hands on the whole lines of [from, to) into `into`, and keeps each call. */
function inThread(into: string[], minBytes: number): BacklogReader & { calls: { from: number; to: number; minEnd: number }[] } {
  const calls: { from: number; to: number; minEnd: number }[] = [];
  return {
    minBytes,
    calls,
    read(_path, fd, from, to, minEnd) {
      calls.push({ from, to, minEnd });
      const buf = Buffer.alloc(to - from);
      const n = readSync(fd, buf, 0, buf.length, from);
      const end = from + buf.subarray(0, n).lastIndexOf(0x0a) + 1;
      if (end < minEnd || end === from) return Promise.resolve(null);
      const lines = buf.subarray(0, end - from).toString('utf8').split('\n').slice(0, -1);
      into.push(...lines);
      return Promise.resolve({ end, lines: lines.length, tooLong: 0 });
    },
  };
}

function tailer(path: string, seen: string[], backlog: BacklogReader): Tailer {
  return new Tailer({ patterns: [path], fromStart: true, maxLineBytes: 64 * 1024, reconcileIntervalMs: 0, watch: false, logger: pino({ level: 'silent' }), onLine: (_p, l) => seen.push(l), backlog });
}

it('leaves a large backlog to the passes after the first, and hands it to the reader from the start', async () => {
  const path = join(s.dir, 'error.log');
  const all = Array.from({ length: 300 }, (_, i) => line(i));
  writeFileSync(path, `${all.join('\n')}\n`);
  const seen: string[] = [];
  const reader = inThread(seen, 4096);
  const t = tailer(path, seen, reader);
  await t.start();
  // start() waited for the first pass only: nothing read yet.
  expect(seen).toEqual([]);
  await t.reconcile();
  expect(reader.calls).toEqual([{ from: 0, to: statSync(path).size, minEnd: 0 }]);
  expect(seen).toEqual(all);
  expect(t.status()[0]).toMatchObject({ lines: 300, bytes: statSync(path).size });
  await t.stop();
});

it('reads a backlog that comes while a line is half written from that line\'s start, once', async () => {
  const path = join(s.dir, 'error.log');
  const first = Array.from({ length: 10 }, (_, i) => line(i));
  writeFileSync(path, `${first.join('\n')}\n`);
  const seen: string[] = [];
  const reader = inThread(seen, 4096);
  const t = tailer(path, seen, reader);
  await t.start();
  await t.reconcile();
  expect(seen).toEqual(first);
  expect(reader.calls).toEqual([]);

  // Half a line: the tailer holds its start.
  appendFileSync(path, 'half a line,');
  await t.reconcile();
  const held = statSync(path).size;
  expect(seen).toEqual(first);

  // Its end, then a backlog over the reader's minimum.
  const more = Array.from({ length: 100 }, (_, i) => line(100 + i));
  appendFileSync(path, ` and its end\n${more.join('\n')}\n`);
  await t.reconcile();
  const lineStart = held - 'half a line,'.length;
  expect(reader.calls).toEqual([{ from: lineStart, to: statSync(path).size, minEnd: held }]);
  expect(seen).toEqual([...first, 'half a line, and its end', ...more]);
  expect(t.status()[0]).toMatchObject({ lines: 111, bytes: statSync(path).size });

  // And on, line by line.
  appendFileSync(path, `${line(999)}\n`);
  await t.reconcile();
  expect(seen.at(-1)).toBe(line(999));
  expect(reader.calls).toHaveLength(1);
  await t.stop();
});

it('reads on line by line when the reader hands on nothing', async () => {
  const path = join(s.dir, 'error.log');
  const all = Array.from({ length: 300 }, (_, i) => line(i));
  writeFileSync(path, `${all.join('\n')}\n`);
  const seen: string[] = [];
  const t = tailer(path, seen, { minBytes: 4096, read: () => Promise.resolve(null) });
  await t.start();
  await t.reconcile();
  expect(seen).toEqual(all);
  expect(t.status()[0]).toMatchObject({ lines: 300, bytes: statSync(path).size });
  await t.stop();
});

it('does not ask a reader again about a file it gave up on part way, and reads the rest line by line', async () => {
  const path = join(s.dir, 'error.log');
  const all = Array.from({ length: 2000 }, (_, i) => line(i));
  writeFileSync(path, `${all.join('\n')}\n`);
  const seen: string[] = [];
  const inner = inThread(seen, 4096);
  // Hands on about the first 20 KB only, as the worker-thread reader does when it will not take a part.
  const reader: BacklogReader = { minBytes: 4096, read: (p, fd, from, _to, minEnd, stopped) => inner.read(p, fd, from, Math.min(from + 20_000, _to), minEnd, stopped) };
  const t = tailer(path, seen, reader);
  await t.start();
  for (let i = 0; i < 10 && seen.length < all.length; i++) await t.reconcile();
  expect(seen).toEqual(all);
  expect(inner.calls).toHaveLength(1);
  expect(t.status()[0]).toMatchObject({ lines: 2000, bytes: statSync(path).size });
  await t.stop();
});
