/**
 * The classifier on lines real nginx 1.22 and 1.30 wrote
 * (test/fixtures/errorlog-corpus/, kept by test/system/errorlog/corpus.test.ts):
 * every line is one scenario's and reads as that scenario says, and every
 * scenario has its lines in both versions' logs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyLine } from '../../../agent/errorlog/parse/classify.js';
import { CORPUS_SCENARIOS, scenarioOf } from '../../support/errorlogCorpus.js';

const VERSIONS = ['1.22', '1.30'] as const;
const corpus = (version: string): string[] =>
  readFileSync(new URL(`../../fixtures/errorlog-corpus/${version}.log`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe.each(VERSIONS)('the corpus nginx %s wrote', (version) => {
  const lines = corpus(version);

  it.each(lines.map((line) => [line]))('%s', (line) => {
    const scenario = scenarioOf(line);
    expect(scenario, 'a scenario for the line').not.toBeNull();
    const r = classifyLine(line);
    expect(r.ok).toBe(true);
    if (!r.ok || scenario === null) return;
    expect({ kind: r.event.kind, destination: r.event.destination, upstreamGroup: r.event.upstreamGroup, bindAddress: r.event.bindAddress }).toEqual({
      kind: scenario.kind,
      destination: scenario.destination,
      upstreamGroup: scenario.upstreamGroup ?? null,
      bindAddress: scenario.bindAddress ?? null,
    });
  });

  it('has lines for every scenario', () => {
    const seen = new Set(lines.map((l) => scenarioOf(l)?.name));
    expect(CORPUS_SCENARIOS.filter((s) => s.optional !== true && !seen.has(s.name)).map((s) => s.name)).toEqual([]);
  });
});
