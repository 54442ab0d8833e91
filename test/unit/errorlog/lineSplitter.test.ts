/**
 * The pure line splitter: bytes in any chunking → the same complete lines, partial
 * lines held exactly once, over-long lines dropped with bounded memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../agent/errorlog/tail/lineSplitter.js';
import { asciiText } from '../../../agent/io/decode.js';

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

function run(max: number, chunks: (string | Uint8Array)[]): { lines: string[]; s: LineSplitter } {
  const s = new LineSplitter(max);
  const lines: string[] = [];
  for (const c of chunks) s.push(typeof c === 'string' ? bytes(c) : c, (l) => lines.push(l));
  return { lines, s };
}

/** The bytes cut into chunks at the given points (taken modulo their length, in order). */
function cutAt(all: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, all.length]) {
    chunks.push(all.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

describe('LineSplitter', () => {
  it.each([
    { name: 'one whole line', max: 100, chunks: ['a\n'], lines: ['a'], pending: 0 },
    { name: 'several lines in one chunk', max: 100, chunks: ['a\nbb\nccc\n'], lines: ['a', 'bb', 'ccc'], pending: 0 },
    { name: 'empty lines are lines', max: 100, chunks: ['\n\nx\n'], lines: ['', '', 'x'], pending: 0 },
    { name: 'partial last line is held', max: 100, chunks: ['a\npart'], lines: ['a'], pending: 4 },
    { name: 'partial line completed by the next chunk', max: 100, chunks: ['a\npa', 'rt\nb\n'], lines: ['a', 'part', 'b'], pending: 0 },
    { name: 'a line across many chunks', max: 100, chunks: ['x', 'y', 'z', '\n'], lines: ['xyz'], pending: 0 },
    { name: 'newline alone completes the held line', max: 100, chunks: ['held', '\n'], lines: ['held'], pending: 0 },
    { name: 'a line of exactly maxLineBytes passes', max: 5, chunks: ['12345\n'], lines: ['12345'], pending: 0 },
    { name: 'exactly maxLineBytes held, then its newline', max: 5, chunks: ['123', '45', '\n'], lines: ['12345'], pending: 0 },
    { name: 'one byte over is discarded', max: 5, chunks: ['123456\nok\n'], lines: ['ok'], pending: 0 },
    { name: 'over the limit across chunks', max: 5, chunks: ['1234', '56', '789\nok\n'], lines: ['ok'], pending: 0 },
    { name: 'CR is kept (nginx writes LF only)', max: 100, chunks: ['a\r\n'], lines: ['a\r'], pending: 0 },
    { name: 'a leading BOM is kept, not eaten', max: 100, chunks: ['\uFEFFx\n'], lines: ['\uFEFFx'], pending: 0 },
  ])('$name', ({ max, chunks, lines, pending }) => {
    const r = run(max, chunks);
    expect(r.lines).toEqual(lines);
    expect(r.s.pendingBytes).toBe(pending);
  });

  it('counts each over-long line once, however it arrives', () => {
    const r = run(4, ['toolong\n', 'also', 'toolong', 'still', '\nfine\n', 'x'.repeat(10) + '\n']);
    expect(r.lines).toEqual(['fine']);
    expect(r.s.discardedTooLong).toBe(3);
  });

  it('decodes invalid UTF-8 as U+FFFD and never throws', () => {
    const garbage = new Uint8Array([0xff, 0xfe, 0x41, 0xc3, 0x28, 0x0a, 0xe2, 0x82, 0x0a, 0x00, 0x01, 0x80, 0x0a]);
    const r = run(100, [garbage]);
    expect(r.lines).toEqual(['\uFFFD\uFFFDA\uFFFD(', '\uFFFD', '\u0000\u0001\uFFFD']);
  });

  it('keeps a multi-byte character split across chunks whole', () => {
    const euro = bytes('€\n'); // e2 82 ac 0a
    const r = run(100, [euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)]);
    expect(r.lines).toEqual(['€']);
  });

  it('holds at most maxLineBytes while a 10 MB line streams through in 64 KiB chunks', () => {
    const max = 64 * 1024;
    const s = new LineSplitter(max);
    const lines: string[] = [];
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let peak = 0;
    s.push(bytes('before\n'), (l) => lines.push(l));
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
      s.push(chunk, (l) => lines.push(l));
      peak = Math.max(peak, s.pendingBytes);
    }
    s.push(bytes('\nafter\n'), (l) => lines.push(l));
    expect(lines).toEqual(['before', 'after']);
    expect(s.discardedTooLong).toBe(1);
    expect(peak).toBeLessThanOrEqual(max);
  });

  it('skipToNextLine drops up to the next newline and counts it', () => {
    const s = new LineSplitter(10);
    const lines: string[] = [];
    s.skipToNextLine();
    expect(s.skipping).toBe(true);
    s.push(bytes('tail of an old line\nnew\n'), (l) => lines.push(l));
    expect(lines).toEqual(['new']);
    expect(s.discardedTooLong).toBe(1);
  });

  it('reset() forgets a partial line and a skip, and says how much it dropped', () => {
    const s = new LineSplitter(10);
    const lines: string[] = [];
    s.push(bytes('half'), (l) => lines.push(l));
    expect(s.reset()).toBe(4);
    s.push(bytes('whole\n'), (l) => lines.push(l));
    s.push(bytes('01234567890123'), (l) => lines.push(l));
    expect(s.skipping).toBe(true);
    expect(s.reset()).toBe(0);
    s.push(bytes('next\n'), (l) => lines.push(l));
    expect(lines).toEqual(['whole', 'next']);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects maxLineBytes = %s', (max) => {
    expect(() => new LineSplitter(max)).toThrow(RangeError);
  });

  it('any chunking of the same bytes gives the same lines (property)', () => {
    const line = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\n', ' '));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 1, max: 48 }), (ls, cuts, max) => {
        const r = run(max, cutAt(bytes(ls.map((l) => `${l}\n`).join('')), cuts));
        const kept = ls.filter((l) => bytes(l).length <= max);
        expect(r.lines).toEqual(kept);
        expect(r.s.discardedTooLong).toBe(ls.length - kept.length);
        expect(r.s.pendingBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('ASCII chunks (read as one string) and other chunks give what a per-line UTF-8 decode gives (property)', () => {
    // Mostly ASCII lines, as nginx writes, with some multi-byte and some invalid UTF-8 among them.
    const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((l) => Buffer.from(l, 'latin1'));
    const other = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }).map((l) => Buffer.from(l.replaceAll('\n', ' '), 'utf8')),
      fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0xff : x)))),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof({ arbitrary: ascii, weight: 4 }, { arbitrary: other, weight: 1 }), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 12 }), (ls, cuts) => {
        const chunks = cutAt(Buffer.concat(ls.flatMap((l) => [l, Buffer.from([0x0a])])), cuts);
        const s = new LineSplitter(1000);
        const lines: string[] = [];
        // As the tailer reads (fileStream.ts): an ASCII chunk comes with its text.
        for (const c of chunks) s.push(c, (l) => lines.push(l), asciiText(Buffer.from(c)));
        expect(lines).toEqual(ls.map((l) => l.toString('utf8')));
        expect(run(1000, chunks).lines).toEqual(lines);
      }),
      { numRuns: 500 },
    );
  });
});
