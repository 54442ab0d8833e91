/**
 * The configured error-log paths: a path, with wildcards allowed in the
 * file-name part only (`/var/log/nginx/*error.log`), the way nginx hosts name
 * their logs. Pure: the readers (read/paths.ts, tail/tailer.ts) list the
 * directories.
 *
 * The wildcards are glob(3)'s, the dialect nginx uses for `include`
 * (agent/core/glob.ts): a wildcard does not match a leading "." (`*error.log`
 * does not pick up a hidden `.error.log` copy; `.*error.log` names those), and a
 * backslash quotes the next character. An unclosed "[" would be a literal
 * character to glob(3); in a hand-written log path it is a typo, so it is
 * refused.
 */
import { globSegmentRegExp, hasUnclosedBracket, hasWildcard } from '../../core/glob.js';

/** Splits at the last "/": the directory part keeps its trailing-slash-free form ("" → "."). */
export function splitPattern(pattern: string): { dir: string; name: string } {
  const slash = pattern.lastIndexOf('/');
  if (slash === -1) return { dir: '.', name: pattern };
  return { dir: slash === 0 ? '/' : pattern.slice(0, slash), name: pattern.slice(slash + 1) };
}

/** Problems with these patterns, one sentence each; empty when all are usable. */
export function patternProblems(patterns: readonly string[]): string[] {
  const problems: string[] = [];
  if (patterns.length === 0) problems.push('no error-log paths given');
  for (const p of patterns) {
    const { dir, name } = splitPattern(p);
    if (p.length === 0) problems.push('an error-log path is empty');
    else if (name.length === 0) problems.push(`${p}: names a directory; give the log file's path`);
    else if (hasWildcard(dir)) problems.push(`${p}: wildcards are only supported in the file name, not in the directory part`);
    else if (hasUnclosedBracket(name)) problems.push(`${p}: unclosed "[" in ${name}`);
  }
  return problems;
}

/** A file-name pattern in one directory. */
export interface NamePattern {
  /** The directory part, as written. */
  dir: string;
  /** Whether an entry of dir is a name the pattern names. */
  matches: (name: string) => boolean;
}

export interface ErrorLogPatterns {
  /** Paths without wildcards, deduplicated: followed (and reported) even while missing. */
  literals: string[];
  /** Patterns with wildcards in the file name: matched against the directory's entries. */
  globs: { dir: string; name: RegExp }[];
  /** Every pattern as a directory and a name test (literals too), for a watcher. */
  all: NamePattern[];
}

/** Whether the file-name part has wildcards (the directory part may not: see patternProblems). */
function namesMany(pattern: string): boolean {
  return hasWildcard(splitPattern(pattern).name);
}

/** Compiles patterns (the tailer takes only those patternProblems() finds usable). */
export function compilePatterns(patterns: readonly string[]): ErrorLogPatterns {
  const literals = [...new Set(patterns.filter((p) => !namesMany(p)))];
  const globs = patterns.filter(namesMany).map((p) => {
    const { dir, name } = splitPattern(p);
    return { dir, name: globSegmentRegExp(name) };
  });
  const all: NamePattern[] = [
    ...literals.map((p) => {
      const { dir, name } = splitPattern(p);
      return { dir, matches: (entry: string) => entry === name };
    }),
    ...globs.map(({ dir, name }) => ({ dir, matches: (entry: string) => name.test(entry) })),
  ];
  return { literals, globs, all };
}

/** The path of a directory entry, as the pattern wrote the directory ("/" without a doubled slash). */
export function entryPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
