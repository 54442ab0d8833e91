/**
 * The output of `nginx -T`, split back into the files it was made from. Pure.
 *
 * After a successful test, main() in src/core/nginx.c writes, for every file the
 * configuration read (the main file first, then each included file once, in the
 * order nginx opened them):
 *
 *     # configuration file <full path>:\n<the file's bytes>\n
 *
 * to stdout, and "nginx: the configuration file … syntax is ok" / "nginx:
 * configuration file … test is successful" (and any warnings, all prefixed
 * "nginx: ") to stderr, before the dump. Saved with `2>&1`, those lines come
 * first; they are skipped here.
 *
 * A file's own text could contain a line that looks like a marker; only a line
 * whose path is absolute (nginx always prints the full name) counts as one.
 */
import type { ConfigProblem } from '../model/types.js';

export interface DumpedFile {
  /** The full path nginx printed. */
  path: string;
  text: string;
  /** Line of the dump where the file's first line is (for messages about the dump itself). */
  dumpLine: number;
}

export interface SplitDump {
  files: DumpedFile[];
  problems: ConfigProblem[];
}

const MARKER = /^# configuration file (\/.*):$/;
const NGINX_STDERR = /^nginx: /;

/** Whether this text is `nginx -T` output: its first line that is neither blank nor an "nginx: " message is a file marker. */
export function looksLikeNginxDump(text: string): boolean {
  for (const l of (text.length > 65_536 ? text.slice(0, 65_536) : text).split('\n')) {
    const t = l.replace(/\r$/, '');
    if (t.trim() === '' || NGINX_STDERR.test(t)) continue;
    return MARKER.test(t);
  }
  return false;
}

/** Splits `nginx -T` output into its files. `dumpName` names the dump in problems. */
export function splitNginxDump(text: string, dumpName: string): SplitDump {
  const files: DumpedFile[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  let strayReported = false;
  /** The open file: its path, the offset its text starts at, and the dump line of that text. */
  let current: { path: string; from: number; dumpLine: number } | null = null;

  const close = (to: number): void => {
    if (current === null) return;
    // nginx appends one newline after each file's bytes; the rest is the file as it was.
    let body = text.slice(current.from, to);
    if (body.endsWith('\n')) body = body.slice(0, -1);
    if (seen.has(current.path)) {
      problems.push({ file: dumpName, line: current.dumpLine - 1, message: `${current.path} appears twice in the nginx -T output; the first copy is used` });
    } else {
      seen.add(current.path);
      files.push({ path: current.path, text: body, dumpLine: current.dumpLine });
    }
  };

  let offset = 0;
  let lineNo = 1;
  while (offset <= text.length) {
    const nl = text.indexOf('\n', offset);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(offset, end).replace(/\r$/, '');
    const m = MARKER.exec(line);
    if (m !== null) {
      close(offset);
      current = { path: m[1]!, from: nl === -1 ? text.length : nl + 1, dumpLine: lineNo + 1 };
    } else if (current === null && !strayReported && line.trim() !== '' && !NGINX_STDERR.test(line)) {
      strayReported = true;
      problems.push({ file: dumpName, line: lineNo, message: 'text before the first "# configuration file …:" line of the nginx -T output is ignored' });
    }
    if (nl === -1) break;
    offset = nl + 1;
    lineNo++;
  }
  close(text.length);
  if (files.length === 0) problems.push({ file: dumpName, line: null, message: 'no "# configuration file …:" line found: this is not nginx -T output' });
  return { files, problems };
}
