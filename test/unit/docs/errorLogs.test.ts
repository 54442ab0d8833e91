/** docs/error-logs.md lists every kind the classifier gives a line (ERROR_KINDS), and no other. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_KINDS } from '../../../agent/errorlog/parse/classify.js';

const doc = readFileSync(new URL('../../../docs/error-logs.md', import.meta.url), 'utf8');
/** The kinds table: its header line and every table line after it. */
const lines = doc.split('\n');
const start = lines.indexOf('| kind | nginx writes |');
const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
const table = lines.slice(start, end < 0 ? undefined : end);
/** First cells of the kinds table: `a`, `b` → a, b. */
const documented = table
  .map((line) => line.split('|')[1]!.trim())
  .filter((cell) => cell.startsWith('`'))
  .flatMap((cell) => [...cell.matchAll(/`([a-z_]+)`/g)].map((k) => k[1]!));

describe('docs/error-logs.md', () => {
  it('lists every error-log kind', () => {
    expect(ERROR_KINDS.filter((k) => !documented.includes(k))).toEqual([]);
  });

  it('lists no kind the classifier does not have', () => {
    expect(documented.filter((k) => !(ERROR_KINDS as readonly string[]).includes(k))).toEqual([]);
  });
});
