/**
 * Bytes of a log to strings: an all-ASCII chunk decodes in one call to what a
 * UTF-8 decode gives, any other chunk is left to that; ownCopy keeps the text
 * and lets go of its parent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownCopy } from '../../../agent/errorlog/parse/text.js';
import { asciiText } from '../../../agent/io/decode.js';

describe('asciiText', () => {
  it('decodes ASCII bytes as UTF-8 would', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b.map((x) => x & 0x7f))), (b) => {
        expect(asciiText(b)).toBe(b.toString('utf8'));
      }),
    );
  });

  it('declines bytes with any byte above 0x7f, wherever it is', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0x80, max: 0xff }), fc.nat(), (b, high, at) => {
        const bytes = Buffer.from(b);
        const withHigh = Buffer.concat([bytes.subarray(0, at % (bytes.length + 1)), Buffer.from([high]), bytes.subarray(at % (bytes.length + 1))]);
        expect(asciiText(withHigh)).toBeNull();
      }),
    );
  });

  it('an empty chunk is an empty string', () => {
    expect(asciiText(Buffer.alloc(0))).toBe('');
  });
});

describe('ownCopy', () => {
  it('returns the same text, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), fc.nat(), fc.nat(), (s, a, b) => {
        const from = a % (s.length + 1);
        const to = from + (b % (s.length - from + 1));
        const view = s.slice(from, to);
        expect(ownCopy(view)).toBe(view);
      }),
    );
  });
});
