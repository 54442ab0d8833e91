/**
 * Permission denied: retried with exponential back-off on the injectable clock
 * (1 s doubling to 60 s), reported in status, logged once per state change.
 *
 * Root reads a mode-000 file anyway (CAP_DAC_OVERRIDE), so the schedule is proven
 * with an injected EACCES, and a real EACCES is produced by running the tailer as
 * an unprivileged user: as root through `setpriv --reuid=65534`, otherwise as
 * ourselves. Neither test skips under root.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { TailedFileStatus } from '../../../agent/errorlog/tail/tailer.js';
import { describeWith, type Requirement } from '../../support/gate.js';
import { lines, startTailer, tempDir, text, useScratch } from './support.js';

const IS_ROOT = process.getuid?.() === 0;

function eacces(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES', errno: -13, syscall: 'open', path });
}

describeWith(['linux'], 'error-log tailer: permission denied (injected EACCES, fake clock)', () => {
  const s = useScratch();

  it('backs off 1, 2, 4 … 60, 60 s; logs once per state change; reads on from the start position once allowed', async () => {
    const log = join(s.dir, 'error.log');
    writeFileSync(log, text(lines('before start', 2)));
    let clock = 0;
    let deny = true;
    const attempts: number[] = [];
    s.h = await startTailer('manual', {
      patterns: [log],
      now: () => clock,
      openFile: (p, flags) => {
        attempts.push(clock);
        if (deny) throw eacces(p);
        return openSync(p, flags);
      },
    });
    const details: string[] = [];
    const note = () => {
      const d = s.h!.tailer.status()[0]!.detail ?? '';
      if (details.at(-1) !== d) details.push(d);
    };
    note();
    writeFileSync(log, text(lines('during denial', 2)), { flag: 'a' });
    for (clock = 0; clock <= 200_000; clock += 250) {
      await s.h.tailer.reconcile();
      note();
    }
    expect(attempts).toEqual([0, 1000, 3000, 7000, 15_000, 31_000, 63_000, 123_000, 183_000]);
    expect(details).toEqual(
      ['1 s', '2 s', '4 s', '8 s', '16 s', '32 s', '60 s'].map((d) => `permission denied, retrying in ${d}`),
    );
    expect(s.h.tailer.status()[0]).toMatchObject({ state: 'error', lines: 0 });
    const logged = () => s.h!.records.filter((r) => r.path === log && r.level >= 30).map((r) => [r.level, r.msg]);
    expect(logged()).toEqual([[40, `${log}: cannot open: permission denied; retrying with back-off`]]);

    deny = false;
    clock = 243_000; // the next retry is due
    await s.h.tailer.reconcile();
    expect(s.h.tailer.status()[0]).toMatchObject({ state: 'tailing', lines: 2 });
    expect(s.h.tailer.status()[0]!.detail).toBeUndefined();
    // Present at start, so read from where its end was then: the lines written during the denial are not lost.
    expect(s.h.linesOf(log)).toEqual(lines('during denial', 2));
    expect(logged()).toEqual([
      [40, `${log}: cannot open: permission denied; retrying with back-off`],
      [30, `${log}: tailing`],
    ]);

    // A rotation to a file we may not read starts the back-off again from 1 s.
    deny = true;
    writeFileSync(`${log}.new`, '');
    execFileSync('mv', [`${log}.new`, log]);
    await s.h.tailer.reconcile();
    expect(s.h.tailer.status()[0]).toMatchObject({ state: 'error', detail: 'permission denied, retrying in 1 s', draining: 1 });
    expect(logged().slice(2)).toEqual([[40, `${log}: cannot open: permission denied; retrying with back-off`]]);
  });

  it('a denied file does not hold up the others', async () => {
    const bad = join(s.dir, 'bad-error.log');
    const good = join(s.dir, 'good-error.log');
    writeFileSync(bad, '');
    writeFileSync(good, '');
    s.h = await startTailer('manual', {
      patterns: [join(s.dir, '*-error.log')],
      openFile: (p, flags) => {
        if (p === bad) throw eacces(p);
        return openSync(p, flags);
      },
    });
    writeFileSync(good, text(lines('good', 2)), { flag: 'a' });
    await s.h.tailer.reconcile();
    expect(s.h.tailer.status().map((s) => [s.path, s.state])).toEqual([
      [bad, 'error'],
      [good, 'tailing'],
    ]);
    expect(s.h.linesOf(good)).toEqual(lines('good', 2));
  });
});

/**
 * The tailer and every module it imports under agent/, found by following its
 * relative imports (so a new import of the tailer's does not break this test).
 */
function tailerModules(src: URL): string[] {
  const found = new Set<string>();
  const queue = ['errorlog/tail/tailer'];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (found.has(name)) continue;
    found.add(name);
    const text = readFileSync(new URL(`${name}.ts`, src), 'utf8');
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      const next = new URL(`${m[1]!}.ts`, new URL(`${name}.ts`, src));
      queue.push(next.pathname.slice(src.pathname.length).replace(/\.ts$/, ''));
    }
  }
  return [...found];
}

/**
 * The tailer's own modules, transpiled for a child process that cannot load
 * TypeScript: typescript (a dev dependency) strips the types, chokidar is pointed
 * at its absolute location. Nothing is written inside the work tree.
 */
function buildChild(outDir: string): string {
  const src = new URL('../../../agent/', import.meta.url);
  const chokidar = pathToFileURL(createRequire(import.meta.url).resolve('chokidar')).href;
  for (const name of tailerModules(src)) {
    const ts_ = readFileSync(new URL(`${name}.ts`, src), 'utf8');
    const js = ts.transpileModule(ts_, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    mkdirSync(dirname(join(outDir, name)), { recursive: true });
    writeFileSync(join(outDir, `${name}.js`), js.replace(`from 'chokidar'`, `from '${chokidar}'`));
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  const child = join(outDir, 'child.js');
  writeFileSync(
    child,
    `import { appendFileSync, chmodSync } from 'node:fs';
import { Tailer } from './errorlog/tail/tailer.js';
const log = process.argv[2];
let clock = 0;
const records = [];
const logger = {
  child: () => logger,
  debug: () => {},
  info: (_o, m) => records.push(['info', m]),
  warn: (_o, m) => records.push(['warn', m]),
  error: (_o, m) => records.push(['error', m]),
};
const got = [];
const t = new Tailer({ patterns: [log], fromStart: false, maxLineBytes: 65536, reconcileIntervalMs: 0, watch: false,
  logger, onLine: (_p, l) => got.push(l), now: () => clock });
await t.start();
const status = [t.status()[0]];
clock += 1000;
await t.reconcile();
status.push(t.status()[0]);
clock += 1000; // not due yet: no attempt, no change
await t.reconcile();
status.push(t.status()[0]);
chmodSync(log, 0o600);
appendFileSync(log, 'written while denied\\n');
clock += 1000;
await t.reconcile();
appendFileSync(log, 'after\\n');
await t.reconcile();
status.push(t.status()[0]);
await t.stop();
process.stdout.write(JSON.stringify({ uid: process.getuid(), status, got, records }));
`,
  );
  return child;
}

const realReqs: Requirement[] = IS_ROOT ? ['linux', 'command:setpriv'] : ['linux'];

describeWith(realReqs, `error-log tailer: a real EACCES (${IS_ROOT ? 'as uid 65534 via setpriv' : 'as this user'})`, () => {
  let dir = '';
  let cleanup: () => void = () => undefined;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir('errorlog-perm-'));
  });
  afterEach(() => {
    cleanup();
  });

  it('reports permission denied, backs off, and reads once the mode allows it', () => {
    chmodSync(dir, 0o755);
    const code = join(dir, 'code');
    mkdirSync(code);
    const child = buildChild(code);
    const logs = join(dir, 'logs');
    mkdirSync(logs, { mode: 0o755 });
    const log = join(logs, 'error.log');
    writeFileSync(log, 'before start\n');
    chmodSync(log, 0o000);
    if (IS_ROOT) chownSync(log, 65534, 65534);
    const cmd = IS_ROOT ? 'setpriv' : process.execPath;
    const args = IS_ROOT ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, child, log] : [child, log];
    const out = JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 })) as {
      uid: number;
      status: TailedFileStatus[];
      got: string[];
      records: [string, string][];
    };
    if (IS_ROOT) expect(out.uid).toBe(65534);
    expect(out.status.map((s) => [s.state, s.detail])).toEqual([
      ['error', 'permission denied, retrying in 1 s'],
      ['error', 'permission denied, retrying in 2 s'],
      ['error', 'permission denied, retrying in 2 s'],
      ['tailing', undefined],
    ]);
    expect(out.got).toEqual(['written while denied', 'after']);
    expect(out.records).toEqual([
      ['warn', `${log}: cannot open: permission denied; retrying with back-off`],
      ['info', `${log}: tailing`],
    ]);
  });
});
