/** The catalogue, the rule table and docs/hints.md name the same ids, each once. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docAnchor, FINDING_IDS, FINDINGS } from '../../../agent/hints/catalogue.js';
import { RULES } from '../../../agent/hints/rules/index.js';

const doc = readFileSync(new URL('../../../docs/hints.md', import.meta.url), 'utf8');
const headings = [...doc.matchAll(/^### (.+)$/gm)].map((m) => m[1]!);

describe('the finding catalogue', () => {
  it('has exactly one rule per id, and no rule without an id in the catalogue', () => {
    expect(RULES.map((r) => r.id).sort()).toEqual([...FINDING_IDS].sort());
  });

  it.each(FINDING_IDS)('%s points at its own heading in docs/hints.md', (id) => {
    const heading = FINDINGS[id].doc;
    expect(headings).toContain(heading);
    expect(heading.split(',').map((s) => s.trim())).toContain(id);
    expect(docAnchor(id)).toMatch(/^docs\/hints\.md#[a-z0-9_-]+$/);
  });

  it('marks as destination causes only nginx-config causes', () => {
    for (const id of FINDING_IDS) if (FINDINGS[id].destinationCause) expect(FINDINGS[id].category).toBe('nginx_cause');
  });
});
