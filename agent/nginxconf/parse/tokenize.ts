/**
 * The nginx configuration lexer, rule for rule as ngx_conf_read_token() in
 * src/core/ngx_conf_file.c reads a file, except that it never stops at an error:
 * it reports the problem with its file and line and reads on, so the agent can
 * use every directive it can still make sense of. Pure: text in, tokens out.
 *
 * Why not a library: the npm package `nginx-conf` is built for editing a file in
 * place; it does not follow `include`, does not tell a quoted "{" from a block
 * opener the way nginx does, and stops at the first syntax error. What the agent
 * needs is nginx's own reading of the text (escapes, `${var}`, `#` only at the
 * start of a word) with every problem located, which is a hundred lines of
 * well-tested code.
 *
 * nginx's rules, from ngx_conf_read_token():
 *
 * - Space, tab, CR and LF separate words; only LF counts a line.
 * - `#` starts a comment only where a word could start; inside a word it is a
 *   character (`a#b` is one word).
 * - A word that starts with `"` or `'` runs to the matching quote and must be
 *   followed by a separator, `;`, `{` or `)` (for `if (...)`); anything else is
 *   `unexpected "x"`. A quote inside an unquoted word is a character.
 * - A backslash makes the next character part of the word, whatever it is. When
 *   the word is stored, `\"`, `\'` and `\\` become the character, `\t`, `\r` and
 *   `\n` become the control character, and any other `\x` is kept as is.
 * - `$` followed by `{` (as in `${var}`) does not open a block; a `}` inside a
 *   word is an ordinary character, so `${var}` stays one word.
 * - `;`, `{` and `}` end the word they follow.
 *
 * `*_by_lua_block { ... }` (lua-nginx-module) holds Lua, not directives; the
 * module reads it with its own lexer. Here its body is scanned with Lua's string,
 * comment and long-bracket rules only to find the closing brace, and handed on as
 * one raw token.
 */
import type { ConfigProblem } from '../model/types.js';

export type Token =
  | { type: 'word'; value: string; line: number; quoted: boolean }
  | { type: ';' | '{' | '}'; line: number }
  /** The body of a `*_by_lua_block`, verbatim, between a `{` and a `}` token. */
  | { type: 'raw'; value: string; line: number };

export interface TokenizeResult {
  tokens: Token[];
  problems: ConfigProblem[];
  /** True when the text ended inside a statement (a word, a quote or unterminated arguments). */
  truncated: boolean;
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** A stored word: nginx's escape decoding (see the module comment). */
export function decodeWord(rawText: string): string {
  if (!rawText.includes('\\')) return rawText;
  let out = '';
  for (let i = 0; i < rawText.length; i++) {
    const c = rawText[i]!;
    if (c === '\\' && i + 1 < rawText.length) {
      const n = rawText[i + 1]!;
      if (n === '"' || n === "'" || n === '\\') {
        out += n;
        i++;
        continue;
      }
      if (n === 't' || n === 'r' || n === 'n') {
        out += n === 't' ? '\t' : n === 'r' ? '\r' : '\n';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

const RAW_BLOCK_SUFFIX = '_by_lua_block';

/**
 * Splits configuration text into words and `;` `{` `}`. Never throws; every
 * problem names `file` and the line it is on.
 */
export function tokenize(text: string, file: string): TokenizeResult {
  const tokens: Token[] = [];
  const problems: ConfigProblem[] = [];
  const problem = (line: number, message: string): void => {
    problems.push({ file, line, message });
  };

  let line = 1;
  let lastSpace = true;
  let needSpace = false;
  let escaped = false;
  let sQuoted = false;
  let dQuoted = false;
  let variable = false;
  let comment = false;
  let start = 0;
  let wordLine = 1;
  let wordQuoted = false;
  /** Words in the statement being read, and its first word (for the Lua raw blocks). */
  let stmtWords = 0;
  let stmtFirst = '';

  const pushWord = (end: number): void => {
    const value = decodeWord(text.slice(start, end));
    tokens.push({ type: 'word', value, line: wordLine, quoted: wordQuoted });
    if (stmtWords === 0) stmtFirst = value;
    stmtWords++;
  };

  const endStatement = (type: ';' | '{' | '}', at: number): number => {
    tokens.push({ type, line });
    const opensRaw = type === '{' && stmtWords > 0 && stmtFirst.endsWith(RAW_BLOCK_SUFFIX);
    stmtWords = 0;
    stmtFirst = '';
    if (!opensRaw) return at;
    const raw = scanLuaBlock(text, at + 1, line);
    tokens.push({ type: 'raw', value: text.slice(at + 1, raw.end), line });
    line = raw.line;
    // Unclosed, the parser reports the block as it reports any other unclosed block.
    if (!raw.closed) return text.length;
    tokens.push({ type: '}', line });
    return raw.end;
  };

  let i = 0;
  for (; i < text.length; i++) {
    const ch = text[i]!;

    if (ch === '\n') {
      line++;
      comment = false;
    }
    if (comment) continue;
    if (escaped) {
      escaped = false;
      continue;
    }

    if (needSpace) {
      if (isSpace(ch)) {
        lastSpace = true;
        needSpace = false;
        continue;
      }
      if (ch === ';' || ch === '{') {
        needSpace = false;
        lastSpace = true;
        i = endStatement(ch, i);
        continue;
      }
      if (ch === ')') {
        lastSpace = true;
        needSpace = false;
      } else {
        // nginx stops here. Reading the character as the start of the next word
        // keeps both words, which is what the author most likely meant.
        problem(line, `unexpected "${ch}" after a quoted string (a space, ";" or "{" must follow the closing quote)`);
        lastSpace = true;
        needSpace = false;
      }
    }

    if (lastSpace) {
      if (isSpace(ch)) continue;
      start = i;
      wordLine = line;
      wordQuoted = false;
      switch (ch) {
        case ';':
        case '{':
        case '}':
          i = endStatement(ch, i);
          continue;
        case '#':
          comment = true;
          continue;
        case '\\':
          escaped = true;
          lastSpace = false;
          continue;
        case '"':
          start = i + 1;
          dQuoted = true;
          wordQuoted = true;
          lastSpace = false;
          continue;
        case "'":
          start = i + 1;
          sQuoted = true;
          wordQuoted = true;
          lastSpace = false;
          continue;
        case '$':
          variable = true;
          lastSpace = false;
          continue;
        default:
          lastSpace = false;
          continue;
      }
    }

    if (ch === '{' && variable) continue;
    variable = false;
    if (ch === '\\') {
      escaped = true;
      continue;
    }
    if (ch === '$') {
      variable = true;
      continue;
    }

    let found = false;
    if (dQuoted) {
      if (ch === '"') {
        dQuoted = false;
        needSpace = true;
        found = true;
      }
    } else if (sQuoted) {
      if (ch === "'") {
        sQuoted = false;
        needSpace = true;
        found = true;
      }
    } else if (isSpace(ch) || ch === ';' || ch === '{') {
      lastSpace = true;
      found = true;
    }

    if (found) {
      pushWord(i);
      if (ch === ';' || ch === '{') i = endStatement(ch, i);
    }
  }

  let truncated = false;
  if (dQuoted || sQuoted) {
    problem(wordLine, `unterminated ${dQuoted ? 'double' : 'single'} quote: the string opened here runs to the end of the file`);
    truncated = true;
  } else if (stmtWords > 0 || !lastSpace) {
    const at = stmtWords > 0 ? firstWordLine(tokens, stmtWords) : wordLine;
    problem(at, 'unexpected end of file, expecting ";" or "}": the last directive is not terminated');
    truncated = true;
  }
  if (truncated && stmtWords > 0) tokens.splice(tokens.length - stmtWords, stmtWords);
  return { tokens, problems, truncated };
}

function firstWordLine(tokens: readonly Token[], words: number): number {
  return tokens[tokens.length - words]?.line ?? 1;
}

/**
 * Finds the `}` that closes a Lua block whose body starts at `from`, skipping Lua
 * strings, comments and long brackets (`[[ ]]`, `[==[ ]==]`) so a brace inside
 * them does not count. Returns the index of that `}` (or the text's end) and the
 * line reached.
 */
export function scanLuaBlock(text: string, from: number, startLine: number): { end: number; line: number; closed: boolean } {
  let line = startLine;
  let depth = 1;
  const n = text.length;
  const countLines = (a: number, b: number): void => {
    for (let k = a; k < b; k++) if (text[k] === '\n') line++;
  };
  /** Level of a long bracket opening at k (`[`, `=`*, `[`), or -1. */
  const longOpen = (k: number): number => {
    if (text[k] !== '[') return -1;
    let m = k + 1;
    while (text[m] === '=') m++;
    return text[m] === '[' ? m - k - 1 : -1;
  };
  const skipLong = (k: number, level: number): number => {
    const close = `]${'='.repeat(level)}]`;
    const end = text.indexOf(close, k + level + 2);
    const stop = end === -1 ? n : end + close.length;
    countLines(k, stop);
    return stop;
  };

  let k = from;
  while (k < n) {
    const c = text[k]!;
    if (c === '\n') {
      line++;
      k++;
    } else if (c === '-' && text[k + 1] === '-') {
      const level = longOpen(k + 2);
      if (level >= 0) k = skipLong(k + 2, level);
      else {
        const eol = text.indexOf('\n', k);
        k = eol === -1 ? n : eol;
      }
    } else if (c === '"' || c === "'") {
      let m = k + 1;
      while (m < n && text[m] !== c && text[m] !== '\n') m += text[m] === '\\' ? 2 : 1;
      m = Math.min(m, n);
      countLines(k + 1, m);
      // An unterminated string ends at its line's end; the main loop counts that newline.
      k = text[m] === c ? m + 1 : m;
    } else if (c === '[' && longOpen(k) >= 0) {
      k = skipLong(k, longOpen(k));
    } else if (c === '{') {
      depth++;
      k++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) return { end: k, line, closed: true };
      k++;
    } else k++;
  }
  return { end: n, line, closed: false };
}
