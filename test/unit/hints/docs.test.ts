/** docs/hints.md documents every finding id the code can emit, and no other. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FINDING_IDS } from '../../../agent/hints/findings.js';

const doc = readFileSync(new URL('../../../docs/hints.md', import.meta.url), 'utf8');
/** Ids are `### id` headings; a heading may list several ids separated by commas. */
const documented = [...doc.matchAll(/^### (.+)$/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));

describe('docs/hints.md', () => {
  it('documents every finding id', () => {
    expect(FINDING_IDS.filter((id) => !documented.includes(id))).toEqual([]);
  });
  it('documents no id the code does not have', () => {
    expect(documented.filter((id) => !(FINDING_IDS as readonly string[]).includes(id))).toEqual([]);
  });
  it('every id section says what it means', () => {
    const sections = doc.split(/^### /m).slice(1);
    for (const s of sections) expect(s, s.split('\n')[0]).toMatch(/\*\*Means:\*\*/);
  });
});
