/**
 * Every relative link in the repository's Markdown (README.md, DEVELOPERS.md,
 * docs/, bench/README.md and any other .md) leads to a file or directory that
 * exists, and a link to a heading of a Markdown file (`file.md#anchor`, or
 * `#anchor` in the same file) to a heading that exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { githubSlug, headingAnchors, markdownFiles, markdownLinks } from '../../support/markdown.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FILES = markdownFiles(ROOT);

const anchorsOf = new Map<string, Set<string>>();
function anchors(file: string): Set<string> {
  let a = anchorsOf.get(file);
  if (a === undefined) {
    a = headingAnchors(readFileSync(join(ROOT, file), 'utf8'));
    anchorsOf.set(file, a);
  }
  return a;
}

/** What is wrong with one link of `file`, or null when it resolves. */
function brokenLink(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto:: not ours to check
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  if (path.startsWith('/')) return 'an absolute path: link relative to the document';
  const resolved = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
  if (resolved.startsWith('..')) return 'leads outside the repository';
  if (!existsSync(join(ROOT, resolved))) return `${resolved} does not exist`;
  if (anchor !== null && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) return `${resolved} has no heading #${anchor}`;
  return null;
}

describe('githubSlug', () => {
  it.each([
    ['What `agent diagnose` says', 'what-agent-diagnose-says'],
    ['Sampling sockets (`npm run bench`)', 'sampling-sockets-npm-run-bench'],
    ["Causes in nginx's configuration", 'causes-in-nginxs-configuration'],
    ['What /proc cannot show', 'what-proc-cannot-show'],
    ['headroom_exhausted, headroom_critical, headroom_low', 'headroom_exhausted-headroom_critical-headroom_low'],
    ['Dependencies, and why each is there', 'dependencies-and-why-each-is-there'],
  ])('%s → #%s', (heading, slug) => {
    expect(githubSlug(heading)).toBe(slug);
  });

  it('numbers repeated headings as GitHub does, and skips headings inside code blocks', () => {
    const text = '# A\n## B\n```yaml\n# not a heading\n```\n## B\n';
    expect([...headingAnchors(text)]).toEqual(['a', 'b', 'b-1']);
  });
});

describe('links in the Markdown documents', () => {
  it('finds the documents, README.md, DEVELOPERS.md, docs/ and bench/README.md among them', () => {
    expect(FILES).toEqual(expect.arrayContaining(['README.md', 'DEVELOPERS.md', 'bench/README.md', 'docs/configuration.md', 'docs/metrics.md']));
  });

  it.each(FILES)('%s: every relative link resolves, anchors included', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const broken = markdownLinks(text)
      .map((l) => ({ ...l, problem: brokenLink(file, l.target) }))
      .filter((l) => l.problem !== null)
      .map((l) => `${file}:${l.line}: (${l.target}) ${l.problem ?? ''}`);
    expect(broken).toEqual([]);
  });
});
