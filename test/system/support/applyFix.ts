/**
 * Applies the `fix` text of a finding to an nginx.conf, the way an operator
 * would: by pasting the lines the finding prints where it says they go. Strict on
 * purpose: a fix that names the wrong line, a directive that is not there, or a
 * shape this code does not know is an error, so a test cannot pass with a fix
 * that an operator could not have applied.
 *
 * The shapes, as agent/hints/nginx.ts prints them:
 *
 *     # /path/nginx.conf:12                       an upstream block, as it should read:
 *     upstream backend {                          it replaces the block of that name,
 *         server 10.0.0.5:9000;                   which must start on line 12
 *         keepalive 32;   # …
 *     }
 *
 *     # /path/nginx.conf:20, server … location /: lines for a location: they go right
 *         proxy_pass http://backend;              after the proxy_pass, which must be
 *         proxy_http_version 1.1;                 on line 20
 *         proxy_set_header Connection "";
 *
 *     # http {} context, e.g. a new file in conf.d/: a new upstream block (proxy_pass_no_pool):
 *     upstream backend_10_0_0_5_9000 {            it goes into http {}, before its
 *         server 10.0.0.5:9000;                   first server block; no block of that
 *     }                                           name may exist yet
 *
 *     # /path/nginx.conf:20, server …: replace proxy_pass http://10.0.0.5:9000; with
 *         proxy_pass http://backend_10_0_0_5_9000;   these lines replace line 20, which
 *         proxy_http_version 1.1;                    must be that proxy_pass
 *
 * Other lines (`# then: nginx -t && nginx -s reload`, blank lines) are skipped.
 * The config is expected to hold one directive per line, as the tests write it.
 */

interface Edit {
  /** 0-based index of the first line replaced. */
  start: number;
  /** 0-based index of the last line replaced. */
  end: number;
  lines: string[];
}

const LOCATED = /^# (\/\S+):(\d+)(?:, .*:)?$/;
const NEW_BLOCK = /^# http \{\} context/;
const REPLACE = /^# (\/\S+):(\d+), .*: replace (proxy_pass \S+;) with$/;

/** The lines of a block in `fixLines` from `from` (its `upstream … {` line) to its `}`, and the index of that `}`. */
function blockLines(fixLines: readonly string[], from: number, fix: string): { block: string[]; end: number } {
  const block: string[] = [];
  let j = from;
  for (; j < fixLines.length && fixLines[j] !== '}'; j++) block.push(fixLines[j]!);
  if (j === fixLines.length) throw new Error(`the upstream block in the fix is not closed:\n${fix}`);
  block.push('}');
  return { block, end: j };
}

/** A new upstream block goes into http {}, just before its first server block. */
function newBlockEdit(lines: readonly string[], block: readonly string[], fix: string): Edit {
  const name = /^upstream (\S+) \{$/.exec(block[0]!)![1]!;
  if (lines.some((l) => l.trim() === `upstream ${name} {`)) throw new Error(`the fix adds upstream ${name}, which exists already:\n${fix}`);
  const http = lines.findIndex((l) => l.trim() === 'http {');
  const server = lines.findIndex((l, i) => i > http && l.trim() === 'server {');
  if (http < 0 || server < 0) throw new Error('no http {} with a server {} in the config to put the new upstream block in');
  const ind = indentOf(lines[server]!);
  // An insertion: the server line is kept, after the block.
  return { start: server, end: server, lines: [...block.map((l) => ind + l), lines[server]!] };
}

function indentOf(line: string): string {
  return /^\s*/.exec(line)![0];
}

/** The 0-based index of the `}` that closes the block opened on line `open`. */
function blockEnd(lines: readonly string[], open: number): number {
  let depth = 0;
  for (let i = open; i < lines.length; i++) {
    for (const ch of lines[i]!.replace(/#.*$/, '')) {
      if (ch === '{') depth++;
      if (ch === '}' && --depth === 0) return i;
    }
  }
  throw new Error(`no closing brace for the block at line ${open + 1}`);
}

/** The config with every located section of `fix` applied; throws when a section cannot be applied as written. */
export function applyFix(config: string, configPath: string, fix: string): string {
  const lines = config.split('\n');
  const fixLines = fix.split('\n');
  const edits: Edit[] = [];
  for (let i = 0; i < fixLines.length; i++) {
    if (NEW_BLOCK.test(fixLines[i]!)) {
      if (!/^upstream \S+ \{$/.test(fixLines[i + 1] ?? '')) throw new Error(`no upstream block after "${fixLines[i]!}":\n${fix}`);
      const { block, end } = blockLines(fixLines, i + 1, fix);
      edits.push(newBlockEdit(lines, block, fix));
      i = end;
      continue;
    }
    const r = REPLACE.exec(fixLines[i]!);
    if (r !== null) {
      if (r[1] !== configPath) throw new Error(`the fix names ${r[1]}, not the config ${configPath}:\n${fix}`);
      const at = Number(r[2]) - 1;
      const target = lines[at] ?? '';
      if (target.trim() !== r[3]) throw new Error(`line ${at + 1} is "${target.trim()}", not ${r[3]}:\n${fix}`);
      const replacement: string[] = [];
      let j = i + 1;
      for (; j < fixLines.length && /^\s+\S/.test(fixLines[j]!); j++) replacement.push(fixLines[j]!.trim());
      edits.push({ start: at, end: at, lines: replacement.map((l) => indentOf(target) + l) });
      i = j - 1;
      continue;
    }
    const m = LOCATED.exec(fixLines[i]!);
    if (m === null) continue;
    if (m[1] !== configPath) throw new Error(`the fix names ${m[1]}, not the config ${configPath}:\n${fix}`);
    const at = Number(m[2]) - 1;
    const target = lines[at];
    if (target === undefined) throw new Error(`the fix names line ${at + 1}, past the end of the config:\n${fix}`);
    const first = fixLines[i + 1] ?? '';
    const up = /^upstream (\S+) \{$/.exec(first);
    if (up !== null) {
      if (target.trim() !== `upstream ${up[1]} {`) throw new Error(`line ${at + 1} is "${target.trim()}", not upstream ${up[1]}:\n${fix}`);
      const { block, end } = blockLines(fixLines, i + 1, fix);
      const ind = indentOf(target);
      edits.push({ start: at, end: blockEnd(lines, at), lines: block.map((l) => ind + l) });
      i = end;
      continue;
    }
    const pass = /^\s+(proxy_pass \S+;)$/.exec(first);
    if (pass !== null) {
      if (target.trim() !== pass[1]) throw new Error(`line ${at + 1} is "${target.trim()}", not ${pass[1]}:\n${fix}`);
      const extra: string[] = [];
      let j = i + 2;
      for (; j < fixLines.length && /^\s+\S/.test(fixLines[j]!); j++) extra.push(fixLines[j]!.trim());
      edits.push({ start: at, end: at, lines: [target, ...extra.map((l) => indentOf(target) + l)] });
      i = j - 1;
      continue;
    }
    throw new Error(`a fix section this test cannot apply: "${first}":\n${fix}`);
  }
  if (edits.length === 0) throw new Error(`nothing in the fix to apply:\n${fix}`);
  edits.sort((a, b) => b.start - a.start);
  for (let k = 1; k < edits.length; k++) {
    if (edits[k]!.end >= edits[k - 1]!.start) throw new Error(`the fix edits overlapping lines:\n${fix}`);
  }
  for (const e of edits) lines.splice(e.start, e.end - e.start + 1, ...e.lines);
  return lines.join('\n');
}

/** Adds `serverLine` (e.g. `server 10.0.0.6:9000;`) to the upstream block `name`, after its last server. */
export function addUpstreamServer(config: string, name: string, serverLine: string): string {
  const lines = config.split('\n');
  const open = lines.findIndex((l) => l.trim() === `upstream ${name} {`);
  if (open < 0) throw new Error(`no upstream ${name} block in the config`);
  const end = blockEnd(lines, open);
  let last = open;
  for (let i = open + 1; i < end; i++) if (/^\s*server\s/.test(lines[i]!)) last = i;
  if (last === open) throw new Error(`upstream ${name} has no server line`);
  lines.splice(last + 1, 0, indentOf(lines[last]!) + serverLine.trim());
  return lines.join('\n');
}
