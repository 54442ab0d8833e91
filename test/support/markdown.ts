/**
 * Reading the repository's Markdown in tests: the documents, their links and the
 * anchors GitHub gives their headings.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git']);

/** Every .md file under `root`, as paths relative to it, sorted. */
export function markdownFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(join(dir, e.name));
      } else if (e.name.endsWith('.md')) {
        out.push(relative(root, join(dir, e.name)));
      }
    }
  };
  walk(root);
  return out.sort();
}

/** The document's lines, with those of fenced code blocks (fences included) as null. */
function linesOutsideFences(text: string): (string | null)[] {
  let fence: string | null = null;
  return text.split('\n').map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m !== null) {
      if (fence === null) fence = m[1]!;
      else if (m[1]!.startsWith(fence)) fence = null;
      return null;
    }
    return fence === null ? line : null;
  });
}

/** The text with fenced code blocks and inline code blanked, so neither is read as links. */
export function withoutCode(text: string): string {
  return linesOutsideFences(text)
    .map((line) => (line === null ? '' : line.replace(/`+[^`]*`+/g, '``')))
    .join('\n');
}

export interface MarkdownLink {
  /** 1-based line of the link. */
  line: number;
  target: string;
}

/** Inline links and images, `[text](target)` and `[text](target "title")`, outside code. */
export function markdownLinks(text: string): MarkdownLink[] {
  const out: MarkdownLink[] = [];
  withoutCode(text)
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: i + 1, target: m[1]! });
    });
  return out;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor the document's headings give, with GitHub's -1, -2 … for repeated ones. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  // Inline code stays in headings: GitHub drops the backticks and keeps the words.
  for (const line of linesOutsideFences(text)) {
    if (line === null) continue;
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const slug = githubSlug(m[1]!);
    const n = seen.get(slug) ?? 0;
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
    seen.set(slug, n + 1);
  }
  return anchors;
}
