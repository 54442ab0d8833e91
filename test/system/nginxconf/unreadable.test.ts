/**
 * A configuration file the agent may not read: a real EACCES. Root reads a
 * mode-000 file anyway (CAP_DAC_OVERRIDE), so as root the reader runs as uid
 * 65534 through `setpriv`; otherwise as this user. The reader's modules are
 * transpiled (typescript strips the types) into a temporary directory for that
 * child process, since it cannot load TypeScript itself.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWith, type Requirement } from '../../support/gate.js';

const IS_ROOT = process.getuid?.() === 0;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Every .ts file under agent/nginxconf and the shared modules it imports (agent/core, agent/io), as .js under `out`. */
function transpileReader(out: string): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) files.push(p);
    }
  };
  for (const dir of ['agent/nginxconf', 'agent/core', 'agent/io']) walk(join(REPO, dir));
  for (const f of files) {
    const js = ts.transpileModule(readFileSync(f, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    const dest = join(out, relative(REPO, f)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  const child = join(out, 'child.js');
  writeFileSync(
    child,
    `import { readNginxConfig } from './agent/nginxconf/read/config.js';
const r = await readNginxConfig(process.argv[2], { resolveHosts: false });
process.stdout.write(JSON.stringify({ uid: process.getuid(), problems: r.model.problems, upstreams: r.model.upstreams.map((u) => u.name), files: r.model.files }));
`,
  );
  return child;
}

const reqs: Requirement[] = IS_ROOT ? ['linux', 'command:setpriv'] : ['linux'];

describeWith(reqs, `nginx config: a real EACCES (${IS_ROOT ? 'as uid 65534 via setpriv' : 'as this user'})`, () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nginxconf-perm-'));
    chmodSync(dir, 0o755);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the unreadable include at its include line, skips a directory it may not list, and reads the rest', () => {
    const code = join(dir, 'code');
    mkdirSync(code);
    const child = transpileReader(code);
    const conf = join(dir, 'conf');
    mkdirSync(conf, { mode: 0o755 });
    writeFileSync(join(conf, 'nginx.conf'), 'http {\n  include secret.conf;\n  include locked/*.conf;\n  include ok.conf;\n}\n');
    writeFileSync(join(conf, 'secret.conf'), 'upstream secret { server 10.0.0.1; }\n');
    writeFileSync(join(conf, 'ok.conf'), 'upstream ok { server 10.0.0.2; }\n');
    mkdirSync(join(conf, 'locked'));
    writeFileSync(join(conf, 'locked', 'hidden.conf'), 'upstream hidden { server 10.0.0.3; }\n');
    for (const f of ['nginx.conf', 'ok.conf']) chmodSync(join(conf, f), 0o644);
    chmodSync(join(conf, 'secret.conf'), 0o000);
    chmodSync(join(conf, 'locked'), 0o000);
    chmodSync(code, 0o755);
    const cmd = IS_ROOT ? 'setpriv' : process.execPath;
    const args = IS_ROOT ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, child, join(conf, 'nginx.conf')] : [child, join(conf, 'nginx.conf')];
    const out = JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 })) as {
      uid: number;
      problems: { file: string; line: number | null; message: string }[];
      upstreams: string[];
      files: string[];
    };
    if (IS_ROOT) expect(out.uid).toBe(65534);
    expect(out.problems).toEqual([
      { file: join(conf, 'nginx.conf'), line: 2, message: `include "secret.conf": ${join(conf, 'secret.conf')} cannot be read: permission denied` },
    ]);
    // glob(3) without GLOB_ERR skips a directory it cannot read, as nginx does: no match, no error.
    expect(out.upstreams).toEqual(['ok']);
    expect(out.files).toEqual([join(conf, 'nginx.conf'), join(conf, 'ok.conf')]);
    // Nothing was changed.
    expect(statSync(join(conf, 'secret.conf')).mode & 0o777).toBe(0o000);
    chmodSync(join(conf, 'locked'), 0o755);
  });

  it('reports an unreadable main file with no line', () => {
    const code = join(dir, 'code');
    mkdirSync(code);
    const child = transpileReader(code);
    chmodSync(code, 0o755);
    const main = join(dir, 'nginx.conf');
    writeFileSync(main, 'events {}\n');
    chmodSync(main, 0o000);
    const cmd = IS_ROOT ? 'setpriv' : process.execPath;
    const args = IS_ROOT ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, child, main] : [child, main];
    const out = JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 })) as { problems: unknown[]; files: string[] };
    expect(out.files).toEqual([]);
    expect(out.problems).toEqual([{ file: main, line: null, message: `${main} cannot be read: permission denied` }]);
  });
});
