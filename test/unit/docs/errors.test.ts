/**
 * docs/errors.md documents every code of agent/errors.ts, and no other: each with
 * all of its message templates as the agent prints them (`CODE: message`), its
 * hint in the catalogue's words, and whether it stops the agent.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../../agent/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** `## CODE` sections, by code, backticks removed (the hint is plain text in the catalogue). */
const sections = new Map(
  doc
    .split(/^## /m)
    .slice(1)
    .map((s) => [s.slice(0, s.indexOf('\n')).trim(), s.replaceAll('`', '')] as const),
);

describe('docs/errors.md', () => {
  it('has a section for every error code', () => {
    expect(CODES.filter((code) => !sections.has(code))).toEqual([]);
  });

  it('documents no code the catalogue does not have', () => {
    expect([...sections.keys()].filter((code) => !(CODES as string[]).includes(code))).toEqual([]);
  });

  it.each(CODES)('%s: every message template, as the agent prints it', (code) => {
    const section = sections.get(code) ?? '';
    for (const template of Object.values(ERROR_CODES[code].messages as Readonly<Record<string, string>>)) {
      expect(section, template).toContain(`${code}: ${template}`);
    }
  });

  it.each(CODES)('%s: the hint, in the catalogue’s words', (code) => {
    expect(sections.get(code) ?? '').toContain(`**What to do:** ${ERROR_CODES[code].hint}`);
  });

  it.each(CODES)('%s: whether it stops the agent', (code) => {
    expect(sections.get(code) ?? '').toMatch(new RegExp(`\\*\\*Stops the agent:\\*\\* ${ERROR_CODES[code].fatal ? 'yes' : 'no'}\\b`));
  });
});
