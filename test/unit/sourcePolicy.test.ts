/**
 * Rules about the agent's own source that no type checker enforces:
 *   - it never runs a shell: child_process only in the allowed module(s), and only
 *     execFile/execFileSync without `shell`;
 *   - it never writes to what it reads (or anywhere): no file-writing fs API, no
 *     write/create/append/truncate open flags.
 * The scanners are tested on snippets first, so a scanner that finds nothing
 * cannot pass for a clean tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeOnly } from '../support/sourceText.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Modules allowed to import child_process (`nginx -v`, run without a shell). */
const CHILD_PROCESS_ALLOWED = ['agent/nginxconf/read/version.ts'];
const CHILD_PROCESS_FUNCTIONS = new Set(['execFile', 'execFileSync']);
/** Modules allowed to write files: none. */
const WRITERS_ALLOWED: string[] = [];

const FS_WRITE_APIS = new Set(
  [
    'writeFile', 'appendFile', 'createWriteStream', 'write', 'writev', 'rename', 'unlink', 'rm', 'rmdir', 'mkdir', 'mkdtemp',
    'copyFile', 'cp', 'truncate', 'ftruncate', 'chmod', 'fchmod', 'lchmod', 'chown', 'fchown', 'lchown', 'symlink', 'link',
    'utimes', 'futimes', 'lutimes',
  ].flatMap((n) => (n === 'createWriteStream' ? [n] : [n, `${n}Sync`])),
);

const CP_SPECIFIER = `['"\`](?:node:)?child_process['"\`]`;

/** Problems with child_process use in one module's code. */
export function childProcessProblems(file: string, code: string): string[] {
  const problems: string[] = [];
  const mentions = code.match(new RegExp(CP_SPECIFIER, 'g')) ?? [];
  if (mentions.length === 0) return problems;
  if (!CHILD_PROCESS_ALLOWED.includes(file)) return [`${file}: uses child_process; only ${CHILD_PROCESS_ALLOWED.join(', ')} may`];
  const named = [...code.matchAll(new RegExp(`import\\s+(?:type\\s+)?\\{([^}]*)\\}\\s*from\\s*${CP_SPECIFIER}`, 'g'))];
  if (named.length !== mentions.length) problems.push(`${file}: imports child_process other than by named imports (namespace, default, require or import())`);
  for (const m of named) {
    for (const raw of m[1]!.split(',')) {
      const spec = raw.trim();
      if (spec === '' || spec.startsWith('type ')) continue;
      const name = spec.split(/\s+as\s+/)[0]!;
      if (!CHILD_PROCESS_FUNCTIONS.has(name)) problems.push(`${file}: imports ${name} from child_process; only execFile/execFileSync (no shell) are allowed`);
    }
  }
  if (/\bshell\s*:(?!\s*false\b)/.test(code)) problems.push(`${file}: passes a shell option to child_process`);
  return problems;
}

const FS_SPECIFIER = `['"\`](?:node:)?fs(?:/promises)?['"\`]`;

/** Problems with file writing in one module's code. */
export function writeProblems(file: string, code: string): string[] {
  if (WRITERS_ALLOWED.includes(file)) return [];
  const problems: string[] = [];
  for (const m of code.matchAll(new RegExp(`import\\s+(?:type\\s+)?\\{([^}]*)\\}\\s*from\\s*${FS_SPECIFIER}`, 'g'))) {
    for (const raw of m[1]!.split(',')) {
      const spec = raw.trim().replace(/^type\s+/, '');
      const name = spec.split(/\s+as\s+/)[0]!;
      if (FS_WRITE_APIS.has(name)) problems.push(`${file}: imports ${name} from fs`);
    }
  }
  const namespaces = [
    ...code.matchAll(new RegExp(`import\\s+(?:\\*\\s+as\\s+)?(\\w+)\\s+from\\s*${FS_SPECIFIER}`, 'g')),
    ...code.matchAll(new RegExp(`(\\w+)\\s*=\\s*(?:await\\s+)?(?:require|import)\\s*\\(\\s*${FS_SPECIFIER}\\s*\\)`, 'g')),
  ].map((m) => m[1]!);
  for (const ns of namespaces) {
    for (const use of code.matchAll(new RegExp(`\\b${ns}\\s*\\.\\s*(?:promises\\s*\\.\\s*)?(\\w+)`, 'g'))) {
      if (FS_WRITE_APIS.has(use[1]!)) problems.push(`${file}: calls ${ns}.${use[1]!}`);
    }
  }
  for (const flag of code.match(/\bO_(?:WRONLY|RDWR|CREAT|TRUNC|APPEND|EXCL)\b/g) ?? []) problems.push(`${file}: uses the open flag ${flag}`);
  for (const m of code.matchAll(/\bopen(?:Sync)?\s*\([^()]*?,\s*['"`]([^'"`]*)['"`]/g)) {
    if (m[1] !== 'r' && m[1] !== 'rs') problems.push(`${file}: opens with flags "${m[1]!}"`);
  }
  for (const m of code.matchAll(/\bflags?\s*:\s*['"`]([^'"`]*)['"`]/g)) {
    if (m[1] !== 'r' && m[1] !== 'rs') problems.push(`${file}: passes flag "${m[1]!}"`);
  }
  // pino.destination({ fd: 2 }) writes to a descriptor it was given; a path or `dest` would open a file.
  if (/\.destination\s*\(\s*(?!\{\s*fd\s*:|\d)/.test(code)) problems.push(`${file}: gives pino a file to write`);
  return problems;
}

function agentModules(): { file: string; code: string }[] {
  const out: { file: string; code: string }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mts|js|mjs|cjs)$/.test(e.name)) out.push({ file: relative(ROOT, p), code: codeOnly(readFileSync(p, 'utf8')) });
    }
  };
  walk(join(ROOT, 'agent'));
  return out;
}

describe('the scanners', () => {
  it('strip comments but keep code and string contents', () => {
    expect(codeOnly("a(); // writeFileSync()\n/* spawn() */ b('x // y');")).toBe("a(); \n b('x // y');");
  });

  it.each([
    ['agent/x.ts', "import { spawn } from 'node:child_process';", /agent\/x\.ts: uses child_process/],
    ['agent/nginxconf/read/version.ts', "import { exec } from 'node:child_process';", /imports exec from child_process/],
    ['agent/nginxconf/read/version.ts', "import { execSync } from 'child_process';", /imports execSync/],
    ['agent/nginxconf/read/version.ts', "import { spawn as run } from 'node:child_process';", /imports spawn/],
    ['agent/nginxconf/read/version.ts', "import * as cp from 'node:child_process';", /other than by named imports/],
    ['agent/nginxconf/read/version.ts', "const cp = await import('node:child_process');", /other than by named imports/],
    ['agent/nginxconf/read/version.ts', "import { execFile } from 'node:child_process';\nexecFile('nginx', ['-v'], { shell: true });", /shell option/],
    ['agent/nginxconf/read/version.ts', "import { execFile } from 'node:child_process';\nexecFile(bin, ['-v'], { shell: '/bin/sh' });", /shell option/],
  ])('flags child_process misuse: %s %s', (file, code, problem) => {
    expect(childProcessProblems(file, codeOnly(code)).join('\n')).toMatch(problem);
  });

  it('accepts execFile without a shell in the allowed module, and mentions in comments anywhere', () => {
    const ok = "import { execFile, type ExecFileException } from 'node:child_process';\nexecFile(bin, ['-v'], { shell: false, timeout: 2000 }, cb);";
    expect(childProcessProblems('agent/nginxconf/read/version.ts', codeOnly(ok))).toEqual([]);
    expect(childProcessProblems('agent/x.ts', codeOnly("// never import 'node:child_process' here\n"))).toEqual([]);
  });

  it.each([
    ["import { writeFileSync } from 'node:fs';", /imports writeFileSync/],
    ["import { readFileSync, appendFile as add } from 'fs';", /imports appendFile/],
    ["import { rename } from 'node:fs/promises';", /imports rename/],
    ["import { createWriteStream } from 'node:fs';", /imports createWriteStream/],
    ["import * as fs from 'node:fs';\nfs.unlinkSync(p);", /calls fs\.unlinkSync/],
    ["import fs from 'fs';\nfs.promises.writeFile(p, x);", /calls fs\.writeFile/],
    ["const fs = require('node:fs');\nfs.truncateSync(p);", /calls fs\.truncateSync/],
    ["openSync(p, constants.O_WRONLY | constants.O_CREAT);", /O_WRONLY/],
    ["openSync(p, constants.O_RDWR);", /O_RDWR/],
    ["openSync(p, 'a');", /opens with flags "a"/],
    ["await open(p, 'r+');", /opens with flags "r\+"/],
    ["readFileSync(p, { flag: 'w+' });", /passes flag "w\+"/],
    ["pino.destination('/var/log/agent.log');", /gives pino a file/],
    ["pino.destination({ dest: '/var/log/agent.log' });", /gives pino a file/],
  ])('flags writing: %s', (code, problem) => {
    expect(writeProblems('agent/x.ts', codeOnly(code)).join('\n')).toMatch(problem);
  });

  it('accepts read-only opens and reads', () => {
    const ok = [
      "import { closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';",
      'openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);',
      "openSync(p, 'r');",
      "readFileSync(p, { encoding: 'utf8', flag: 'r' });",
      'pino.destination({ fd: 2, sync: true });',
      "// we never writeFileSync(p) here\nconst rename = 'rename';",
    ].join('\n');
    expect(writeProblems('agent/x.ts', codeOnly(ok))).toEqual([]);
  });
});

describe('the agent source', () => {
  const modules = agentModules();

  it('is found: the scan covers the modules of agent/, not an empty list', () => {
    expect(modules.map((m) => m.file)).toEqual(expect.arrayContaining(['agent/cli.ts', 'agent/io/files.ts', 'agent/errorlog/tail/tailer.ts']));
  });

  it('runs no shell: child_process only in the allowed module(s), only execFile/execFileSync, no shell option', () => {
    expect(modules.flatMap((m) => childProcessProblems(m.file, m.code))).toEqual([]);
  });

  it('opens no file for writing: no write API of fs, no write/create/append/truncate flags', () => {
    expect(modules.flatMap((m) => writeProblems(m.file, m.code))).toEqual([]);
  });
});
