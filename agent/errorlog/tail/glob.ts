/**
 * The small glob dialect of tailer patterns: wildcards in the file-name part only
 * (`/var/log/nginx/*error.log`), the way nginx hosts name their logs. Pure.
 *
 * `*` matches any run of characters, `?` one character, `[abc]`, `[a-z]` and
 * `[!abc]` one character of (or not of) a set. None of them matches "/". Unlike a
 * shell, a leading "." is matched like any other character.
 */

const GLOB_CHARS = /[*?[]/;

export function hasGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

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
    else if (hasGlob(dir)) problems.push(`${p}: wildcards are only supported in the file name, not in the directory part`);
    else if (hasGlob(name)) {
      try {
        globToRegExp(name);
      } catch (err) {
        problems.push(`${p}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

/** A file-name glob as an anchored RegExp. Throws on an unclosed "[". */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) throw new Error(`unclosed "[" in ${glob}`);
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      // Inside a class only "\", "]" and "^" are special to RegExp; "-" keeps its range meaning.
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 'u');
}
