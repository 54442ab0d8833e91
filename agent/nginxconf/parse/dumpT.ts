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

function lines(text: string): string[] {
  return text.split('\n');
}

/** Whether this text is `nginx -T` output: its first line that is neither blank nor an "nginx: " message is a file marker. */
export function looksLikeNginxDump(text: string): boolean {
  for (const l of lines(text.length > 65_536 ? text.slice(0, 65_536) : text)) {
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
  const all = lines(text);
  let current: { path: string; dumpLine: number; body: string[] } | null = null;
  const seen = new Set<string>();
  let strayReported = false;

  const flush = (): void => {
    if (current === null) return;
    // nginx ends every file with one extra newline; split() left it as a last empty line.
    if (current.body.length > 0 && current.body[current.body.length - 1] === '') current.body.pop();
    if (seen.has(current.path)) {
      problems.push({ file: dumpName, line: current.dumpLine - 1, message: `${current.path} appears twice in the nginx -T output; the first copy is used` });
    } else {
      seen.add(current.path);
      files.push({ path: current.path, text: current.body.join('\n'), dumpLine: current.dumpLine });
    }
  };

  for (let i = 0; i < all.length; i++) {
    const raw = all[i]!;
    const m = MARKER.exec(raw.replace(/\r$/, ''));
    if (m !== null) {
      flush();
      current = { path: m[1]!, dumpLine: i + 2, body: [] };
      continue;
    }
    if (current !== null) current.body.push(raw);
    else if (!strayReported && raw.trim() !== '' && !NGINX_STDERR.test(raw)) {
      strayReported = true;
      problems.push({ file: dumpName, line: i + 1, message: 'text before the first "# configuration file …:" line of the nginx -T output is ignored' });
    }
  }
  flush();
  if (files.length === 0) problems.push({ file: dumpName, line: null, message: 'no "# configuration file …:" line found: this is not nginx -T output' });
  return { files, problems };
}
