/**
 * The one glob dialect of the agent: glob(3) as nginx calls it. Pure: patterns
 * and names in, RegExps and answers out; reading directories is the readers' job
 * (nginxconf/read/files.ts, errorlog/read/paths.ts).
 *
 * nginx expands `include` patterns with ngx_open_glob (src/os/unix/ngx_files.c),
 * which calls glob() with no flags, so POSIX glob(3)/fnmatch(3) rules hold:
 *
 * - `*` matches any run of characters, `?` one character, `[abc]`, `[a-z]`,
 *   `[!abc]` (or `[^abc]`) one character of (or not of) a set; a `]` right after
 *   the opening `[` (or `[!`) is a member. None of them matches "/".
 * - Without GLOB_PERIOD a wildcard or a bracket expression does not match a
 *   leading "." of a name: only a literal "." does (`.*.conf` matches
 *   `.hidden.conf`, `*.conf` does not).
 * - Without GLOB_NOESCAPE a backslash quotes the next character (`\*` is a
 *   literal star).
 * - A "[" without its "]" is an ordinary character, as in fnmatch.
 * - Matches come back sorted by strcoll(); nginx does not call setlocale(), so in
 *   the C locale, i.e. by bytes.
 *
 * Error-log patterns use the same dialect (errorlog/parse/patterns.ts), with
 * wildcards allowed in the file-name part only.
 */

const WILDCARD = /[*?[]/;

/** Whether a path (or one component) has any of `*?[`: nginx's own test, strpbrk(name, "*?[") in ngx_conf_include. */
export function hasWildcard(path: string): boolean {
  return WILDCARD.test(path);
}

/**
 * One path component of a glob(3) pattern as an anchored RegExp: `*`, `?`,
 * `[…]` (with `!` or `^` to negate, ranges, a leading `]` as a member), `\x` for a
 * literal x; a wildcard never matches a leading ".".
 */
export function globSegmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\' && i + 1 < segment.length) {
      re += escapeRegExp(segment[++i]!);
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const cls = readBracket(segment, i);
      if (cls === null) re += '\\[';
      else {
        re += cls.re;
        i = cls.end;
      }
    } else re += escapeRegExp(c);
  }
  const leadingDotLiteral = segment.startsWith('.') || segment.startsWith('\\.');
  return new RegExp(`^${leadingDotLiteral ? '' : '(?!\\.)'}${re}$`, 'su');
}

/** Whether a component has a "[" that is never closed: glob(3) takes it literally, which in a hand-written pattern is usually a typo. */
export function hasUnclosedBracket(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\') i++;
    else if (c === '[') {
      const cls = readBracket(segment, i);
      if (cls === null) return true;
      i = cls.end;
    }
  }
  return false;
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A bracket expression starting at `start`, or null when it is not closed (then "[" is literal, as in fnmatch). */
function readBracket(s: string, start: number): { re: string; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (s[i] === '!' || s[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === ']' && !first) return { re: `[${negate ? '^' : ''}${body}]`, end: i };
    first = false;
    if (c === '\\' && i + 1 < s.length) {
      body += escapeClassChar(s[++i]!);
    } else if (c === '-' && body !== '' && s[i + 1] !== undefined && s[i + 1] !== ']') {
      body += '-';
    } else body += escapeClassChar(c);
  }
  return null;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

/** Removes the backslashes that quote characters in a component without wildcards. */
function unescapeLiteral(segment: string): string {
  return segment.replace(/\\(.)/gsu, '$1');
}

export interface GlobSegment {
  text: string;
  /** Null for a literal component. */
  re: RegExp | null;
}

/** A full pattern, split at "/", each component compiled if it has wildcards. */
export function globSegments(fullPattern: string): GlobSegment[] {
  return fullPattern.split('/').map((text) => (hasWildcard(text) ? { text, re: globSegmentRegExp(text) } : { text: unescapeLiteral(text), re: null }));
}

/** Whether a full path matches a full pattern, component by component (for names not on the disk, e.g. a dump's files). */
export function globMatches(fullPattern: string, path: string): boolean {
  const segs = globSegments(fullPattern);
  const parts = path.split('/');
  if (segs.length !== parts.length) return false;
  return segs.every((s, k) => (s.re === null ? s.text === parts[k] : s.re.test(parts[k]!)));
}

/** glob(3)'s order: nginx does not call setlocale(), so strcoll() in the C locale, i.e. by bytes. */
export function compareGlobOrder(a: string, b: string): number {
  // UTF-8 byte order is code point order; UTF-16 code units differ from it only
  // above U+FFFF, so compare code points.
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    if (x[k] !== y[k]) return x[k]! - y[k]!;
  }
  return x.length - y.length;
}
