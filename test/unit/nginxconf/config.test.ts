/**
 * The configuration reader on real files: the Debian-style fixture, the real
 * `nginx -T` output of it, broken files, and files the agent must refuse or cannot
 * read. DNS is injected except where a test says otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mapDestinations } from '../../../agent/nginxconf/model/destinations.js';
import type { NginxConfigModel } from '../../../agent/nginxconf/model/types.js';
import { readNginxConfig, type ReadNginxConfigOptions } from '../../../agent/nginxconf/read/config.js';
import { openReadOnly } from '../../../agent/io/files.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/nginxconf/', import.meta.url));
const DEBIAN = join(FIXTURES, 'debian');
const BROKEN = join(FIXTURES, 'broken');

/** No DNS: every name fails, so tests never depend on the machine's resolver. */
const noDns: ReadNginxConfigOptions = { lookup: () => Promise.reject(Object.assign(new Error('no DNS in this test'), { code: 'ENOTFOUND' })) };

/** Paths under `root` as `<name>/…`, so golden files do not depend on the checkout. */
function relocate(model: NginxConfigModel, root: string, name: string): unknown {
  return JSON.parse(JSON.stringify(model, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(`${root}/`) ? `<${name}>/${relative(root, v)}` : v)));
}

function problems(model: NginxConfigModel, root: string): string[] {
  return model.problems.map((p) => `${relative(root, p.file)}:${p.line ?? '-'}: ${p.message.split(`${root}/`).join('')}`);
}

let scratch = '';
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nginxconf-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the Debian-style fixture on disk', () => {
  it('follows every include from the main file directory, in glob order, and reads nothing else', async () => {
    const r = await readNginxConfig(join(DEBIAN, 'nginx.conf'), noDns);
    expect(r.source).toBe('files');
    expect(r.path).toBe(join(DEBIAN, 'nginx.conf'));
    expect(r.model.problems).toEqual([]);
    expect(r.model.files.map((f) => relative(DEBIAN, f))).toEqual([
      'nginx.conf',
      'mime.types',
      'conf.d/maps.conf',
      'conf.d/upstreams.conf',
      'sites-enabled/api.example.com',
      'snippets/proxy-keepalive.conf',
      'sites-enabled/default',
    ]);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['app_pool', 'search', 'legacy']);
    expect(r.dns.failures.map((f) => f.host)).toEqual(['localhost']);
  });

  it('gives the model in the golden file', async () => {
    const r = await readNginxConfig(join(DEBIAN, 'nginx.conf'), noDns);
    await expect(`${JSON.stringify(relocate(r.model, DEBIAN, 'debian'), null, 2)}\n`).toMatchFileSnapshot('../../fixtures/nginxconf/golden/debian-model.json');
  });

  it('gives the same model from the real `nginx -T` output of it (saved with 2>&1), read against the dump only', async () => {
    const disk = await readNginxConfig(join(DEBIAN, 'nginx.conf'), noDns);
    const dumpPath = join(FIXTURES, 'dump', 'nginx-T.txt');
    const dump = await readNginxConfig(dumpPath, noDns);
    expect(dump.source).toBe('dump');
    expect(dump.path).toBe(dumpPath);
    expect(dump.model.problems).toEqual([]);
    expect(relocate(dump.model, '/etc/nginx', 'debian')).toEqual(relocate(disk.model, DEBIAN, 'debian'));
  });

  it('maps destinations to the groups and direct proxy_pass entries, host names through DNS', async () => {
    const r = await readNginxConfig(join(DEBIAN, 'nginx.conf'), { lookup: (h) => Promise.resolve(h === 'localhost' ? ['127.0.0.1', '::1'] : []) });
    expect([...r.dns.resolved]).toEqual([['localhost', ['127.0.0.1', '::1']]]);
    const m = mapDestinations(['10.0.0.5:8080', '[2001:db8::11]:9200', '[::1]:9201', '127.0.0.1:8081', '10.0.0.99:80'], r.model, r.dns.resolved);
    expect(m.map((x) => [x.destination, x.upstreams.map((u) => u.group.name), x.direct.map((d) => d.proxyPass.target), x.unmapped])).toEqual([
      ['10.0.0.5:8080', ['app_pool'], [], false],
      ['[2001:db8::11]:9200', ['search'], [], false],
      ['[::1]:9201', ['search'], [], false],
      ['127.0.0.1:8081', [], ['http://127.0.0.1:8081/health'], false],
      ['10.0.0.99:80', [], [], true],
    ]);
    // The group's proxy_pass entries, including the one that reaches it through `map $http_x_backend $backend_pool`.
    expect(m[0]!.upstreams[0]!.proxyPasses.map((p) => p.context)).toEqual([
      'server api.example.com:8443 > location /api/',
      'server api.example.com:8443 > location /api/ > location /api/v1/',
      'server api.example.com:8443 > location /api/ > location /api/v1/ > if ($request_method = POST)',
      'server api.example.com:8443 > location /ws/',
      'server api.example.com:8443 > location /pick/',
    ]);
  });
});

it('reads the captured incident config: 127.0.0.2:9000 is upstream "backend", which has no keepalive', async () => {
  const r = await readNginxConfig(fileURLToPath(new URL('../../fixtures/real-tw-exhaustion/nginx.conf', import.meta.url)), noDns);
  expect(r.model.problems).toEqual([]);
  const [m] = mapDestinations(['127.0.0.2:9000'], r.model, r.dns.resolved);
  expect(m!.upstreams.map((u) => [u.group.name, u.group.keepalive, u.proxyPasses.map((p) => [p.httpVersion, p.connectionHeader])])).toEqual([['backend', null, [['1.1', '']]]]);
  expect(r.model.workerConnections).toBe(4096);
});

describe('broken configurations: every problem located, the rest still read', () => {
  it.each<[string, string[], string[]]>([
    ['unterminated-quote.conf', ['unterminated-quote.conf:7: unterminated double quote: the string opened here runs to the end of the file'], ['before_the_quote']],
    [
      'missing-brace.conf',
      [
        'missing-brace.conf:2: unexpected end of file, expecting "}": the "http" block opened here is not closed',
        'missing-brace.conf:4: unexpected end of file, expecting "}": the "server" block opened here is not closed',
      ],
      ['app'],
    ],
    [
      'syntax.conf',
      [
        'syntax.conf:3: unexpected ";": a directive is missing before it',
        'syntax.conf:8: unexpected "t" after a quoted string (a space, ";" or "{" must follow the closing quote)',
        'syntax.conf:9: unexpected "}": the directive "proxy_pass" is not terminated by ";"',
        'syntax.conf:16: unexpected "}": no block is open here',
        'syntax.conf:4: invalid value "abc" in "keepalive" directive: expected a whole number',
      ],
      ['app'],
    ],
    [
      'includes.conf',
      [
        'includes.conf:3: include "missing.conf": missing.conf does not exist',
        'includes.conf:5: include "subdir": subdir is a directory',
        'cycle-b.conf:2: include "cycle-a.conf" not followed: it would include cycle-a.conf inside itself (includes.conf → cycle-a.conf → cycle-b.conf → cycle-a.conf)',
      ],
      ['from_a', 'from_b'],
    ],
  ])('%s', async (file, expected, upstreams) => {
    const r = await readNginxConfig(join(BROKEN, file), noDns);
    expect(problems(r.model, BROKEN)).toEqual(expected);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(upstreams);
  });

  it('still models the proxy_pass after the problems in syntax.conf and missing-brace.conf', async () => {
    const syntax = await readNginxConfig(join(BROKEN, 'syntax.conf'), noDns);
    expect(syntax.model.proxyPasses.map((p) => [p.context, p.upstream])).toEqual([['server *:8080 > location /b', 'app']]);
    const brace = await readNginxConfig(join(BROKEN, 'missing-brace.conf'), noDns);
    expect(brace.model.proxyPasses.map((p) => [p.context, p.upstream])).toEqual([['server *:8080 > location /', 'app']]);
  });
});

describe('files the agent refuses or cannot read', () => {
  it('reports a main file that does not exist, is a directory or a device, with no line, and never throws', async () => {
    for (const [path, message] of [
      [join(scratch, 'nope.conf'), 'does not exist'],
      [scratch, 'is a directory'],
      ['/dev/null', 'is a device, not a regular file'],
    ] as const) {
      const r = await readNginxConfig(path, noDns);
      expect(r.model.files).toEqual([]);
      expect(r.model.problems).toEqual([{ file: path, line: null, message: `${path} ${message}` }]);
    }
  });

  it('refuses a FIFO without opening it (no hang), and reads on', async () => {
    execFileSync('mkfifo', [join(scratch, 'pipe.conf')]);
    writeFileSync(join(scratch, 'nginx.conf'), 'http {\n  include pipe.conf;\n  upstream u { server 10.0.0.1; }\n}\n');
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), noDns);
    expect(problems(r.model, scratch)).toEqual(['nginx.conf:2: include "pipe.conf": pipe.conf is a FIFO, not a regular file']);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['u']);
  });

  it('reports permission denied at the include (EACCES injected: root reads mode-000 files; test/system/nginxconf has the real one)', async () => {
    writeFileSync(join(scratch, 'nginx.conf'), 'http {\n  include conf.d/*.conf;\n}\n');
    mkdirSync(join(scratch, 'conf.d'));
    writeFileSync(join(scratch, 'conf.d', 'a.conf'), 'upstream a { server 10.0.0.1; }\n');
    writeFileSync(join(scratch, 'conf.d', 'b.conf'), 'upstream b { server 10.0.0.2; }\n');
    const opened: string[] = [];
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), {
      ...noDns,
      openFile: (p, flags): Promise<FileHandle> => {
        opened.push(p);
        if (p.endsWith('a.conf')) return Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' }));
        return openReadOnly(p, flags);
      },
    });
    expect(problems(r.model, scratch)).toEqual(['nginx.conf:2: include "conf.d/*.conf": conf.d/a.conf cannot be read: permission denied']);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['b']);
    expect(opened.map((p) => relative(scratch, p))).toEqual(['nginx.conf', 'conf.d/a.conf', 'conf.d/b.conf']);
  });

  it('opens files read-only and leaves them as they were', async () => {
    const main = join(scratch, 'nginx.conf');
    writeFileSync(main, 'events {}\n');
    const flags: number[] = [];
    await readNginxConfig(main, { ...noDns, openFile: (p, f) => (flags.push(f), openReadOnly(p, f)) });
    const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK } = (await import('node:fs')).constants;
    expect(flags).toHaveLength(1);
    expect(flags[0]! & (O_WRONLY | O_RDWR)).toBe(O_RDONLY);
    expect(flags[0]! & O_NONBLOCK).toBe(O_NONBLOCK);
  });

  it('caps the size of a file, the bytes over all files and the number of files', async () => {
    writeFileSync(join(scratch, 'nginx.conf'), 'include big.conf;\nhttp { include s*.conf; }\n');
    writeFileSync(join(scratch, 'big.conf'), `# ${'x'.repeat(2000)}\n`);
    for (const n of ['s1', 's2', 's3']) writeFileSync(join(scratch, `${n}.conf`), `upstream ${n} { server 10.0.0.1; } # ${'y'.repeat(300)}\n`);
    const bySize = await readNginxConfig(join(scratch, 'nginx.conf'), { ...noDns, limits: { maxFileBytes: 1000 } });
    expect(problems(bySize.model, scratch)).toEqual(['nginx.conf:1: include "big.conf": big.conf is larger than 1000 bytes and was not read']);
    const byTotal = await readNginxConfig(join(scratch, 'nginx.conf'), { ...noDns, limits: { maxFileBytes: 1000, maxTotalBytes: 800 } });
    expect(problems(byTotal.model, scratch)).toEqual([
      'nginx.conf:1: include "big.conf": big.conf is larger than 1000 bytes and was not read',
      'nginx.conf:2: include "s*.conf": s3.conf was not read: the configuration files add up to more than 800 bytes',
    ]);
    const byCount = await readNginxConfig(join(scratch, 'nginx.conf'), { ...noDns, limits: { maxFiles: 3 } });
    expect(byCount.model.upstreams.map((u) => u.name)).toEqual(['s1']);
    expect(problems(byCount.model, scratch)).toEqual([
      'nginx.conf:2: include "s*.conf": s2.conf was not read: more than 3 configuration files',
      'nginx.conf:2: include "s*.conf": s3.conf was not read: more than 3 configuration files',
    ]);
  });
});

describe('includes on disk as glob(3) finds them', () => {
  it('expands wildcards in directories too, follows symbolic links (sites-enabled), sorts by bytes, skips dot files', async () => {
    for (const d of ['sites-available', 'sites-enabled', 'vhosts/b', 'vhosts/a', 'vhosts/.old']) mkdirSync(join(scratch, d), { recursive: true });
    writeFileSync(join(scratch, 'sites-available', 'site'), 'upstream linked { server 10.0.0.1; }\n');
    symlinkSync('../sites-available/site', join(scratch, 'sites-enabled', 'site'));
    for (const d of ['b', 'a', '.old']) writeFileSync(join(scratch, 'vhosts', d, 'site.conf'), `upstream v_${d.replace('.', '')} { server 10.0.0.2; }\n`);
    writeFileSync(join(scratch, 'nginx.conf'), 'http {\n  include sites-enabled/*;\n  include vhosts/*/site.conf;\n  include nowhere/*/x.conf;\n}\n');
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), noDns);
    expect(r.model.problems).toEqual([]);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['linked', 'v_a', 'v_b']);
    expect(r.model.files.map((f) => relative(scratch, f))).toEqual(['nginx.conf', 'sites-enabled/site', 'vhosts/a/site.conf', 'vhosts/b/site.conf']);
  });

  it('resolves a relative main path against the working directory and relative includes against its directory', async () => {
    mkdirSync(join(scratch, 'conf'));
    writeFileSync(join(scratch, 'conf', 'nginx.conf'), 'include inc.conf;\n');
    writeFileSync(join(scratch, 'conf', 'inc.conf'), 'worker_processes 3;\n');
    const r = await readNginxConfig(relative(process.cwd(), join(scratch, 'conf', 'nginx.conf')), noDns);
    expect(r.model.problems).toEqual([]);
    expect(r.model.workerProcesses).toBe(3);
    expect(r.model.files).toEqual([join(scratch, 'conf', 'nginx.conf'), join(scratch, 'conf', 'inc.conf')]);
  });
});

describe('nginx -T output given as the file', () => {
  it('resolves includes against the dumped files only, never the disk', async () => {
    // inc.conf exists on disk next to the dump, but is not in the dump: it must not be read.
    writeFileSync(join(scratch, 'inc.conf'), 'upstream from_disk { server 10.0.0.1; }\n');
    const dump = [
      'nginx: the configuration file /srv/nginx/nginx.conf syntax is ok',
      'nginx: configuration file /srv/nginx/nginx.conf test is successful',
      '# configuration file /srv/nginx/nginx.conf:',
      'http {',
      '    include conf.d/*.conf;',
      `    include ${scratch}/inc.conf;`,
      '}',
      '',
      '# configuration file /srv/nginx/conf.d/a.conf:',
      'upstream a { server 10.0.0.5:8080; keepalive 4; }',
      '',
    ].join('\n');
    writeFileSync(join(scratch, 'dump.txt'), dump);
    const r = await readNginxConfig(join(scratch, 'dump.txt'), noDns);
    expect(r.source).toBe('dump');
    expect(r.model.files).toEqual(['/srv/nginx/nginx.conf', '/srv/nginx/conf.d/a.conf']);
    expect(r.model.upstreams.map((u) => [u.name, u.keepalive, u.at])).toEqual([['a', 4, { file: '/srv/nginx/conf.d/a.conf', line: 1 }]]);
    expect(r.model.problems).toEqual([
      { file: '/srv/nginx/nginx.conf', line: 3, message: `include "${scratch}/inc.conf": ${scratch}/inc.conf is not in the nginx -T output in ${join(scratch, 'dump.txt')}` },
    ]);
  });

  it('reports the dump\'s own problems against the dump file', async () => {
    writeFileSync(join(scratch, 'dump.txt'), 'nginx: the configuration file /n/nginx.conf syntax is ok\n# configuration file /n/nginx.conf:\nevents {}\n\n# configuration file /n/nginx.conf:\nevents {}\n\n');
    const r = await readNginxConfig(join(scratch, 'dump.txt'), noDns);
    expect(r.source).toBe('dump');
    expect(r.model.problems).toEqual([{ file: join(scratch, 'dump.txt'), line: 5, message: '/n/nginx.conf appears twice in the nginx -T output; the first copy is used' }]);
  });
});

describe('host names', () => {
  it('resolves the names of upstream servers and proxy_pass targets, records failures, and can be turned off', async () => {
    writeFileSync(
      join(scratch, 'nginx.conf'),
      'http {\n  upstream u { server app.internal:8080; server 10.0.0.1; }\n  server { location / { proxy_pass http://Gone.Internal; } }\n}\n',
    );
    const asked: string[] = [];
    const lookup = (h: string): Promise<string[]> => {
      asked.push(h);
      return h === 'app.internal' ? Promise.resolve(['10.0.0.7']) : Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    };
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), { lookup });
    expect(asked.sort()).toEqual(['app.internal', 'gone.internal']);
    expect([...r.dns.resolved]).toEqual([['app.internal', ['10.0.0.7']]]);
    expect(r.dns.failures).toEqual([{ host: 'gone.internal', error: 'not found (ENOTFOUND)' }]);
    expect(mapDestinations(['10.0.0.7:8080'], r.model, r.dns.resolved)[0]!.upstreams.map((u) => u.group.name)).toEqual(['u']);

    asked.length = 0;
    const off = await readNginxConfig(join(scratch, 'nginx.conf'), { lookup, resolveHosts: false });
    expect(asked).toEqual([]);
    expect(off.dns).toEqual({ resolved: new Map(), failures: [] });
  });
});
