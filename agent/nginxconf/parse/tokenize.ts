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
  /** `source`: the word as written, quotes and escapes included (`"a b"`, `b\\ c`). */
  | { type: 'word'; value: string; line: number; quoted: boolean; source: string }
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

/** What the lexer does with the character it is at: carry on with the next one, or jump to an index. */
type Step = { next: number };

/**
 * ngx_conf_read_token()'s state machine, one method per state of its loop:
 * after a closing quote (a separator must follow), between words, and inside a
 * word.
 */
class Lexer {
  readonly tokens: Token[] = [];
  readonly problems: ConfigProblem[] = [];
  private line = 1;
  private lastSpace = true;
  private needSpace = false;
  private escaped = false;
  private singleQuoted = false;
  private doubleQuoted = false;
  private variable = false;
  private comment = false;
  private start = 0;
  private wordLine = 1;
  private wordQuoted = false;
  /** Words in the statement being read, and its first word (for the Lua raw blocks). */
  private statementWords = 0;
  private statementFirst = '';

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  run(): TokenizeResult {
    const text = this.text;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\n') {
        this.line++;
        this.comment = false;
      }
      if (this.comment) continue;
      if (this.escaped) {
        this.escaped = false;
        continue;
      }
      if (this.needSpace) {
        const step = this.afterQuote(ch, i);
        if (step !== null) {
          i = step.next;
          continue;
        }
      }
      i = this.lastSpace ? this.betweenWords(ch, i).next : this.inWord(ch, i).next;
    }
    return this.finish();
  }

  private problem(line: number, message: string): void {
    this.problems.push({ file: this.file, line, message });
  }

  /** After a closing quote: a separator, ";", "{" or ")" must follow. Null: read ch as the start of a word. */
  private afterQuote(ch: string, i: number): Step | null {
    if (isSpace(ch)) {
      this.lastSpace = true;
      this.needSpace = false;
      return { next: i };
    }
    if (ch === ';' || ch === '{') {
      this.needSpace = false;
      this.lastSpace = true;
      return { next: this.endStatement(ch, i) };
    }
    if (ch !== ')') {
      // nginx stops here. Reading the character as the start of the next word
      // keeps both words, which is what the author most likely meant.
      this.problem(this.line, `unexpected "${ch}" after a quoted string (a space, ";" or "{" must follow the closing quote)`);
    }
    this.lastSpace = true;
    this.needSpace = false;
    return null;
  }

  /** Between words: skip space, or start a word, a comment or a statement end. */
  private betweenWords(ch: string, i: number): Step {
    if (isSpace(ch)) return { next: i };
    this.start = i;
    this.wordLine = this.line;
    this.wordQuoted = false;
    switch (ch) {
      case ';':
      case '{':
      case '}':
        return { next: this.endStatement(ch, i) };
      case '#':
        this.comment = true;
        return { next: i };
      case '\\':
        this.escaped = true;
        break;
      case '"':
        this.start = i + 1;
        this.doubleQuoted = true;
        this.wordQuoted = true;
        break;
      case "'":
        this.start = i + 1;
        this.singleQuoted = true;
        this.wordQuoted = true;
        break;
      case '$':
        this.variable = true;
        break;
    }
    this.lastSpace = false;
    return { next: i };
  }

  /** Inside a word: does ch end it? */
  private inWord(ch: string, i: number): Step {
    if (ch === '{' && this.variable) return { next: i };
    this.variable = false;
    if (ch === '\\') {
      this.escaped = true;
      return { next: i };
    }
    if (ch === '$') {
      this.variable = true;
      return { next: i };
    }
    let found = false;
    if (this.doubleQuoted) {
      if (ch === '"') {
        this.doubleQuoted = false;
        this.needSpace = true;
        found = true;
      }
    } else if (this.singleQuoted) {
      if (ch === "'") {
        this.singleQuoted = false;
        this.needSpace = true;
        found = true;
      }
    } else if (isSpace(ch) || ch === ';' || ch === '{') {
      this.lastSpace = true;
      found = true;
    }
    if (!found) return { next: i };
    this.pushWord(i);
    return { next: ch === ';' || ch === '{' ? this.endStatement(ch, i) : i };
  }

  private pushWord(end: number): void {
    const value = decodeWord(this.text.slice(this.start, end));
    // A quoted word starts after its quote and ends at the closing one.
    const source = this.wordQuoted ? this.text.slice(this.start - 1, end + 1) : this.text.slice(this.start, end);
    this.tokens.push({ type: 'word', value, line: this.wordLine, quoted: this.wordQuoted, source });
    if (this.statementWords === 0) this.statementFirst = value;
    this.statementWords++;
  }

  /** Emits `;`, `{` or `}`; a `*_by_lua_block {` is read to its closing brace as one raw token. Returns where to go on. */
  private endStatement(type: ';' | '{' | '}', at: number): number {
    this.tokens.push({ type, line: this.line });
    const opensRaw = type === '{' && this.statementWords > 0 && this.statementFirst.endsWith(RAW_BLOCK_SUFFIX);
    this.statementWords = 0;
    this.statementFirst = '';
    if (!opensRaw) return at;
    const raw = scanLuaBlock(this.text, at + 1, this.line);
    this.tokens.push({ type: 'raw', value: this.text.slice(at + 1, raw.end), line: this.line });
    this.line = raw.line;
    // Unclosed, the parser reports the block as it reports any other unclosed block.
    if (!raw.closed) return this.text.length;
    this.tokens.push({ type: '}', line: this.line });
    return raw.end;
  }

  private finish(): TokenizeResult {
    let truncated = false;
    if (this.doubleQuoted || this.singleQuoted) {
      this.problem(this.wordLine, `unterminated ${this.doubleQuoted ? 'double' : 'single'} quote: the string opened here runs to the end of the file`);
      truncated = true;
    } else if (this.statementWords > 0 || !this.lastSpace) {
      const at = this.statementWords > 0 ? firstWordLine(this.tokens, this.statementWords) : this.wordLine;
      this.problem(at, 'unexpected end of file, expecting ";" or "}": the last directive is not terminated');
      truncated = true;
    }
    if (truncated && this.statementWords > 0) this.tokens.splice(this.tokens.length - this.statementWords, this.statementWords);
    return { tokens: this.tokens, problems: this.problems, truncated };
  }
}

/**
 * Splits configuration text into words and `;` `{` `}`. Never throws; every
 * problem names `file` and the line it is on.
 */
export function tokenize(text: string, file: string): TokenizeResult {
  return new Lexer(text, file).run();
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
