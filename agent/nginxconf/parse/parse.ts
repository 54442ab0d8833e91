/**
 * Configuration text → directive tree, as ngx_conf_parse() in
 * src/core/ngx_conf_file.c walks the tokens: a statement ends with `;` (a simple
 * directive) or `{` (a block, closed by `}`). Pure: text and the file's name in,
 * tree and problems out.
 *
 * nginx refuses the whole configuration at the first error. The agent instead
 * reports each problem with its file and line and keeps what it could read: a
 * statement cut short is dropped, an unclosed block keeps the directives read
 * before the end of the file, a stray `}` is ignored.
 *
 * The tree is not checked against any module's directive table (nginx's
 * "unknown directive" and "is not allowed here"): the agent reads only the
 * directives it models and ignores the rest, whatever modules the server has.
 */
import type { ConfigProblem } from '../model/types.js';
import { tokenize } from './tokenize.js';

/** One directive as written: `name arg…;` or `name arg… { … }`. */
export interface Directive {
  name: string;
  args: string[];
  /** The file the directive is written in (after includes are followed, the included file). */
  file: string;
  /** 1-based line of the directive's name. */
  line: number;
  /** The directives inside `{ … }`; absent for a simple directive. */
  block?: Directive[];
  /** For `*_by_lua_block`, the Lua text between the braces (block is then empty). */
  raw?: string;
  /**
   * A simple directive as written: its words with their quotes and escapes, one
   * space between them, and the `;` (`server 10.0.0.5:8080 max_fails=3;`), so a
   * fix can print a line back as the operator wrote it. Absent for blocks.
   */
  text?: string;
}

export interface ParsedFile {
  file: string;
  directives: Directive[];
  problems: ConfigProblem[];
}

/** Unclosed blocks reported one by one at the end of a file; the rest are counted in one more problem. */
const MAX_UNCLOSED = 10;

/** A UTF-8 byte order mark, which nginx would read as part of the first directive's name. */
const BOM = '\uFEFF';

export function parseConfig(text: string, file: string): ParsedFile {
  const problems: ConfigProblem[] = [];
  let body = text;
  if (body.startsWith(BOM)) {
    body = body.slice(1);
    problems.push({
      file,
      line: 1,
      message: 'the file starts with a UTF-8 byte order mark, which nginx reads as part of the first directive name ("unknown directive"); remove it',
    });
  }
  const lexed = tokenize(body, file);
  problems.push(...lexed.problems);

  const root: Directive[] = [];
  /** Open blocks, innermost last; the root list has no directive. */
  const stack: { directive: Directive | null; children: Directive[]; line: number }[] = [{ directive: null, children: root, line: 1 }];
  let pending: { value: string; line: number; source: string }[] = [];
  const problem = (line: number, message: string): void => {
    problems.push({ file, line, message });
  };

  for (const t of lexed.tokens) {
    const top = stack[stack.length - 1]!;
    switch (t.type) {
      case 'word':
        pending.push({ value: t.value, line: t.line, source: t.source });
        break;
      case ';': {
        const [name, ...args] = pending;
        if (name === undefined) problem(t.line, 'unexpected ";": a directive is missing before it');
        else top.children.push({ name: name.value, args: args.map((a) => a.value), file, line: name.line, text: `${pending.map((w) => w.source).join(' ')};` });
        pending = [];
        break;
      }
      case '{': {
        const [name, ...args] = pending;
        pending = [];
        if (name === undefined) {
          // Read the block so its braces balance, but keep nothing from it.
          problem(t.line, 'unexpected "{": a block without a directive name; its contents are ignored');
          stack.push({ directive: null, children: [], line: t.line });
          break;
        }
        const block: Directive[] = [];
        const d: Directive = { name: name.value, args: args.map((a) => a.value), file, line: name.line, block };
        top.children.push(d);
        stack.push({ directive: d, children: block, line: name.line });
        break;
      }
      case 'raw':
        if (top.directive !== null) top.directive.raw = t.value;
        break;
      case '}':
        if (pending.length > 0) {
          problem(pending[0]!.line, `unexpected "}": the directive "${pending[0]!.value}" is not terminated by ";"`);
          pending = [];
        }
        if (stack.length === 1) problem(t.line, 'unexpected "}": no block is open here');
        else stack.pop();
        break;
    }
  }

  // When the text ends inside a quote or a directive, the lexer has said so; the
  // blocks left open are the same problem, as nginx reports it once.
  if (lexed.truncated) return { file, directives: root, problems: byLine(problems) };
  // Each open block is one problem, up to MAX_UNCLOSED of the innermost; a deeper
  // nest (generated, or hostile) adds one more naming the outermost and the count.
  const what = (d: Directive | null): string => (d === null ? 'a block' : `the "${d.name}" block`);
  const innermost = Math.max(1, stack.length - MAX_UNCLOSED);
  for (let k = stack.length - 1; k >= innermost; k--) {
    const { directive: d, line } = stack[k]!;
    problems.push({ file, line, message: `unexpected end of file, expecting "}": ${what(d)} opened here is not closed` });
  }
  if (innermost > 1) {
    const { directive: d, line } = stack[1]!;
    problems.push({ file, line, message: `unexpected end of file, expecting "}": ${what(d)} opened here is not closed, nor ${innermost - 2} more blocks inside it` });
  }
  return { file, directives: root, problems: byLine(problems) };
}

/** Problems in the order of the file (a stable sort keeps same-line problems in the order found). */
function byLine(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
