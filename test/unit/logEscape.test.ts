import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { escapeControl, escapeLogValue } from '../../agent/core/logEscape.js';
import { createLogger } from '../../agent/logger.js';

// Any control or display-reordering character, decoded.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('escapeControl', () => {
  it.each([
    ['plain text', 'plain text'],
    ['\u001b[31mred\u001b[0m', '\\x1b[31mred\\x1b[0m'],
    ['line\r\nforged {"level":50}', 'line\\x0d\\x0aforged {"level":50}'],
    ['tab\there', 'tab\\x09here'],
    ['nul\u0000 del\u007f csi\u009b', 'nul\\x00 del\\x7f csi\\x9b'],
    ['sep\u2028\u2029', 'sep\\u2028\\u2029'],
    ['bidi\u202eevil\u2066', 'bidi\\u202eevil\\u2066'],
    ['ünïcødé and emoji 🚀 stay', 'ünïcødé and emoji 🚀 stay'],
    ['a backslash \\ stays', 'a backslash \\ stays'],
  ])('%j → %j', (text, escaped) => {
    expect(escapeControl(text)).toBe(escaped);
  });
});

describe('escapeLogValue', () => {
  it('escapes strings in nested objects and arrays, keys too, and leaves other values alone', () => {
    const err = new Error('x\u001b');
    expect(escapeLogValue({ path: '/a\nb', n: 1, ok: true, list: ['\r', { deep: '\u001b' }], 'k\u001b': null, err })).toEqual({
      path: '/a\\x0ab',
      n: 1,
      ok: true,
      list: ['\\x0d', { deep: '\\x1b' }],
      'k\\x1b': null,
      err,
    });
  });
});

describe('createLogger', () => {
  it('writes no control character from a message, a field, a binding or an error, even once the JSON is decoded', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = createLogger('debug', sink).child({ file: 'error\u001b[2J.log' });
    const evil = 'evil\u001b]0;title\u0007\r\n{"level":60,"msg":"forged"}\u009b31m\u202e';
    log.warn({ path: `/var/log/${evil}`, nested: { line: evil } }, `cannot open /var/log/${evil}`);
    log.info('printf style %s', evil);
    log.error({ err: new Error(`open '${evil}'`) }, 'failed');

    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(3); // no forged line
    const walk = (v: unknown, key: string): void => {
      if (typeof v === 'string') {
        // A stack keeps its line feeds (the frames); nothing else may carry one.
        const ok = key === 'stack' ? v.replace(/\n/g, '') : v;
        expect(ok, `${key}: ${JSON.stringify(v)}`).not.toMatch(RAW_CONTROL);
      } else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) walk(x, k);
      }
    };
    for (const line of lines) walk(JSON.parse(line), '');
    // The raw bytes too: only the line feeds that end each JSON line.
    expect(out.replace(/\n/g, '')).not.toMatch(RAW_CONTROL);
    const first = JSON.parse(lines[0]!) as Record<string, string>;
    expect(first['msg']).toBe('cannot open /var/log/evil\\x1b]0;title\\x07\\x0d\\x0a{"level":60,"msg":"forged"}\\x9b31m\\u202e');
    expect(first['file']).toBe('error\\x1b[2J.log');
    expect((JSON.parse(lines[2]!) as { err: { message: string } }).err.message).toContain('evil\\x1b]0;title');
  });
});
