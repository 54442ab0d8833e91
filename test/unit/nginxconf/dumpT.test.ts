import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { looksLikeNginxDump, splitNginxDump } from '../../../agent/nginxconf/parse/dumpT.js';

const REAL_DUMP = readFileSync(new URL('../../fixtures/nginxconf/dump/nginx-T.txt', import.meta.url), 'utf8');
const DEBIAN = new URL('../../fixtures/nginxconf/debian/', import.meta.url);

describe('nginx -T output', () => {
  it.each([
    ['stdout only', '# configuration file /etc/nginx/nginx.conf:\nevents {}\n\n', true],
    ['saved with 2>&1: the stderr lines come first', 'nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n# configuration file /etc/nginx/nginx.conf:\n', true],
    ['a warning before the dump', 'nginx: [warn] the "user" directive makes sense only if the master process runs with super-user privileges\n# configuration file /x/nginx.conf:\n', true],
    ['an ordinary config', 'user www-data;\nevents {}\n', false],
    ['a config whose first line is a comment that looks like a marker, but with a relative path', '# configuration file nginx.conf:\nevents {}\n', false],
    ['a config starting with another comment', '# configuration file /etc/nginx/nginx.conf, edited by hand\n', false],
    ['empty', '', false],
  ])('looksLikeNginxDump: %s', (_name, text, expected) => {
    expect(looksLikeNginxDump(text)).toBe(expected);
  });

  it('splits the real nginx 1.22.1 dump of the Debian fixture into its files, each byte-for-byte as on disk', () => {
    expect(looksLikeNginxDump(REAL_DUMP)).toBe(true);
    const r = splitNginxDump(REAL_DUMP, '/tmp/nginx-T.txt');
    expect(r.problems).toEqual([]);
    // nginx's order: the main file, then each include as it was met (globs in sorted order).
    expect(r.files.map((f) => f.path)).toEqual([
      '/etc/nginx/nginx.conf',
      '/etc/nginx/mime.types',
      '/etc/nginx/conf.d/maps.conf',
      '/etc/nginx/conf.d/upstreams.conf',
      '/etc/nginx/sites-enabled/api.example.com',
      '/etc/nginx/snippets/proxy-keepalive.conf',
      '/etc/nginx/sites-enabled/default',
    ]);
    for (const f of r.files) {
      const onDisk = readFileSync(new URL(f.path.slice('/etc/nginx/'.length), DEBIAN), 'utf8');
      expect(f.text).toBe(onDisk);
    }
    expect(r.files[0]!.dumpLine).toBe(4);
  });

  it('keeps a file whose last line has no newline, and files in the order given', () => {
    const r = splitNginxDump('# configuration file /a.conf:\na;\n\n# configuration file /b.conf:\nb;\n', 'd');
    expect(r.files.map((f) => [f.path, f.text, f.dumpLine])).toEqual([
      ['/a.conf', 'a;\n', 2],
      ['/b.conf', 'b;', 5],
    ]);
  });

  it('reports stray text before the first marker once, and a file dumped twice', () => {
    const r = splitNginxDump('garbage\nmore garbage\n# configuration file /a.conf:\na;\n\n# configuration file /a.conf:\nb;\n\n', 'dump.txt');
    expect(r.files.map((f) => [f.path, f.text])).toEqual([['/a.conf', 'a;\n']]);
    expect(r.problems).toEqual([
      { file: 'dump.txt', line: 1, message: expect.stringMatching(/text before the first/) as unknown },
      { file: 'dump.txt', line: 6, message: '/a.conf appears twice in the nginx -T output; the first copy is used' },
    ]);
  });

  it('says so when there is no marker at all', () => {
    expect(splitNginxDump('nginx: configuration file /x test failed\n', 'd').problems).toEqual([
      { file: 'd', line: null, message: 'no "# configuration file …:" line found: this is not nginx -T output' },
    ]);
  });
});
