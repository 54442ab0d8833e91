import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Line } from '../../agent/core/utf8.js';

// Bytes a log line can hold: ASCII, well-formed multi-byte characters, and the
// malformed sequences a hostile client can put in a request line.
const piece = fc.oneof(
  fc.string({ unit: 'grapheme-ascii' }).map((s) => Buffer.from(s, 'latin1')),
  fc.string({ unit: 'grapheme' }).map((s) => Buffer.from(s, 'utf8')),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)),
  fc.constantFrom(Buffer.from([0xc3]), Buffer.from([0xe6, 0x97]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff])),
);

describe('utf8Line', () => {
  it('decodes any range of any bytes as toString("utf8", start, end) does (property)', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.nat(), fc.nat(), (pieces, a, b) => {
        const bytes = Buffer.concat(pieces);
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
        expect(utf8Line(bytes, start, end)).toBe(bytes.toString('utf8', start, end));
      }),
      { numRuns: 3_000 },
    );
  });

  it('cuts a character in two where a range ends inside it, as toString does', () => {
    const bytes = Buffer.from('a日b', 'utf8'); // 61 e6 97 a5 62
    for (let end = 0; end <= bytes.length; end++) expect(utf8Line(bytes, 0, end)).toBe(bytes.toString('utf8', 0, end));
    for (let start = 0; start <= bytes.length; start++) expect(utf8Line(bytes, start, bytes.length)).toBe(bytes.toString('utf8', start));
  });
});
