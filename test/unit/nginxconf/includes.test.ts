import { describe, expect, it } from 'vitest';
import { compareGlobOrder, globMatches } from '../../../agent/core/glob.js';
import {
  assembleConfig,
  confPrefixOf,
  fullIncludePath,
  includeArguments,
  isIncludePattern,
  type IncludeSource,
} from '../../../agent/nginxconf/parse/includes.js';
import { parseConfig, type Directive } from '../../../agent/nginxconf/parse/parse.js';

describe('include paths, as ngx_conf_include resolves them', () => {
  it.each([
    ['conf.d/*.conf', '/etc/nginx/', '/etc/nginx/conf.d/*.conf'],
    ['/etc/nginx/sites-enabled/*', '/opt/nginx/conf/', '/etc/nginx/sites-enabled/*'],
    ['../shared/x.conf', '/etc/nginx/', '/etc/nginx/../shared/x.conf'],
    ['mime.types', '/usr/local/nginx/conf/', '/usr/local/nginx/conf/mime.types'],
  ])('%s with conf prefix %s → %s', (arg, prefix, full) => {
    expect(fullIncludePath(arg, prefix)).toBe(full);
  });

  it('takes the conf prefix from the main file: its directory with a trailing slash', () => {
    expect(confPrefixOf('/etc/nginx/nginx.conf')).toBe('/etc/nginx/');
    expect(confPrefixOf('/nginx.conf')).toBe('/');
  });

  it.each([
    ['/etc/nginx/conf.d/*.conf', true],
    ['/etc/nginx/site?', true],
    ['/etc/nginx/[ab].conf', true],
    ['/etc/nginx/plain.conf', false],
    ['/etc/nginx/{a,b}.conf', false],
  ])('%s is a pattern: %s (strpbrk "*?[")', (p, expected) => {
    expect(isIncludePattern(p)).toBe(expected);
  });
});

describe('glob(3) matching for dumped file names', () => {
  it.each([
    ['/etc/nginx/conf.d/*.conf', '/etc/nginx/conf.d/a.conf', true],
    ['/etc/nginx/conf.d/*.conf', '/etc/nginx/conf.d/a.conf.off', false],
    ['/etc/nginx/conf.d/*.conf', '/etc/nginx/conf.d/.hidden.conf', false],
    ['/etc/nginx/conf.d/.*.conf', '/etc/nginx/conf.d/.hidden.conf', true],
    ['/etc/nginx/conf.d/*.conf', '/etc/nginx/conf.d/sub/a.conf', false],
    ['/etc/nginx/*/*.conf', '/etc/nginx/conf.d/a.conf', true],
    ['/etc/nginx/sites-enabled/*', '/etc/nginx/sites-enabled/default', true],
    ['/etc/nginx/site?-enabled/x', '/etc/nginx/sites-enabled/x', true],
    ['/etc/nginx/[ab].conf', '/etc/nginx/b.conf', true],
    ['/etc/nginx/[!ab].conf', '/etc/nginx/b.conf', false],
    ['/etc/nginx/[^ab].conf', '/etc/nginx/c.conf', true],
    ['/etc/nginx/[a-c].conf', '/etc/nginx/b.conf', true],
    ['/etc/nginx/[]].conf', '/etc/nginx/].conf', true],
    ['/etc/nginx/[.]x', '/etc/nginx/.x', false],
    ['/etc/nginx/\\*.conf', '/etc/nginx/*.conf', true],
    ['/etc/nginx/\\*.conf', '/etc/nginx/a.conf', false],
    ['/etc/nginx/a[.conf', '/etc/nginx/a[.conf', true],
    ['/etc/nginx/*.conf', '/etc/nginx/a(1)+$.conf', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(globMatches(pattern, path)).toBe(expected);
  });

  it('sorts by bytes, as glob(3) does in the C locale nginx runs in', () => {
    expect(['b.conf', 'B.conf', 'a.conf', '_x', 'é.conf', '10.conf', '9.conf'].sort(compareGlobOrder)).toEqual([
      '10.conf',
      '9.conf',
      'B.conf',
      '_x',
      'a.conf',
      'b.conf',
      'é.conf',
    ]);
  });
});

/** An in-memory file system: path → text. Patterns expand against its names. */
function memory(files: Record<string, string>, unreadable: Record<string, string> = {}): IncludeSource & { loads: string[] } {
  const loads: string[] = [];
  return {
    loads,
    expand: (full) => (isIncludePattern(full) ? Object.keys(files).filter((n) => globMatches(full, n)).sort(compareGlobOrder) : [full]),
    load: (p) => {
      loads.push(p);
      if (p in unreadable) return { error: unreadable[p]! };
      const text = files[p];
      return text === undefined ? { error: 'does not exist' } : parseConfig(text, p);
    },
  };
}

function flat(ds: readonly Directive[]): string[] {
  return ds.flatMap((d) => [`${d.name} ${d.args.join(' ')} @${d.file.split('/').pop()}:${d.line}`, ...flat(d.block ?? [])]);
}

describe('assembleConfig: includes spliced in place', () => {
  it('follows nested includes depth first, globs in sorted order, relative paths against the main file directory', () => {
    const src = memory({
      '/etc/nginx/nginx.conf': 'http {\n  include conf.d/*.conf;\n  include /etc/nginx/sites/site;\n}\n',
      '/etc/nginx/conf.d/b.conf': 'upstream b { server 10.0.0.2; }\n',
      '/etc/nginx/conf.d/a.conf': 'upstream a { server 10.0.0.1; }\ninclude snippets/s.conf;\n',
      '/etc/nginx/snippets/s.conf': 'keepalive_timeout 5s;\n',
      '/etc/nginx/sites/site': 'server { listen 80; }\n',
    });
    const r = assembleConfig('/etc/nginx/nginx.conf', src);
    expect(r.problems).toEqual([]);
    expect(flat(r.directives)).toEqual([
      'http  @nginx.conf:1',
      'upstream a @a.conf:1',
      'server 10.0.0.1 @a.conf:1',
      'keepalive_timeout 5s @s.conf:1',
      'upstream b @b.conf:1',
      'server 10.0.0.2 @b.conf:1',
      'server  @site:1',
      'listen 80 @site:1',
    ]);
    expect(r.files).toEqual([
      '/etc/nginx/nginx.conf',
      '/etc/nginx/conf.d/a.conf',
      '/etc/nginx/snippets/s.conf',
      '/etc/nginx/conf.d/b.conf',
      '/etc/nginx/sites/site',
    ]);
  });

  it('a pattern that matches nothing includes nothing, silently; a missing plain file is a problem at the include', () => {
    const r = assembleConfig('/c/nginx.conf', memory({ '/c/nginx.conf': 'include none/*.conf;\ninclude gone.conf;\na;\n' }));
    expect(flat(r.directives)).toEqual(['a  @nginx.conf:3']);
    expect(r.problems).toEqual([{ file: '/c/nginx.conf', line: 2, message: 'include "gone.conf": /c/gone.conf does not exist' }]);
  });

  it('reports an unreadable include at the include, and reads on', () => {
    const r = assembleConfig(
      '/c/nginx.conf',
      memory({ '/c/nginx.conf': 'include secret.conf;\nb;\n', '/c/secret.conf': 'x;' }, { '/c/secret.conf': 'cannot be read: permission denied' }),
    );
    expect(flat(r.directives)).toEqual(['b  @nginx.conf:2']);
    expect(r.problems).toEqual([{ file: '/c/nginx.conf', line: 1, message: 'include "secret.conf": /c/secret.conf cannot be read: permission denied' }]);
  });

  it('stops an include cycle, names it, and keeps everything else', () => {
    const src = memory({
      '/c/nginx.conf': 'include a.conf;\nmain;\n',
      '/c/a.conf': 'in_a;\ninclude b.conf;\n',
      '/c/b.conf': 'in_b;\ninclude a.conf;\ninclude nginx.conf;\n',
    });
    const r = assembleConfig('/c/nginx.conf', src);
    expect(flat(r.directives)).toEqual(['in_a  @a.conf:1', 'in_b  @b.conf:1', 'main  @nginx.conf:2']);
    expect(r.problems.map((p) => [p.file, p.line, p.message])).toEqual([
      ['/c/b.conf', 2, 'include "a.conf" not followed: it would include /c/a.conf inside itself (/c/nginx.conf → /c/a.conf → /c/b.conf → /c/a.conf)'],
      ['/c/b.conf', 3, 'include "nginx.conf" not followed: it would include /c/nginx.conf inside itself (/c/nginx.conf → /c/a.conf → /c/b.conf → /c/nginx.conf)'],
    ]);
  });

  it('includes a file twice when asked to (not a cycle), reading and reporting it once', () => {
    const src = memory({ '/c/nginx.conf': 'include x.conf;\ninclude x.conf;\n', '/c/x.conf': 'x;\n;\n' });
    const r = assembleConfig('/c/nginx.conf', src);
    expect(flat(r.directives)).toEqual(['x  @x.conf:1', 'x  @x.conf:1']);
    expect(src.loads).toEqual(['/c/nginx.conf', '/c/x.conf']);
    expect(r.problems).toEqual([{ file: '/c/x.conf', line: 2, message: expect.stringMatching(/unexpected ";"/) as unknown }]);
  });

  it('caps the include depth, the file count and the directive count', () => {
    const chain: Record<string, string> = { '/c/nginx.conf': 'include 1.conf;\n' };
    for (let i = 1; i <= 5; i++) chain[`/c/${i}.conf`] = `d${i};\ninclude ${i + 1}.conf;\n`;
    chain['/c/6.conf'] = 'd6;\n';
    const deep = assembleConfig('/c/nginx.conf', memory(chain), { maxIncludeDepth: 3, maxFiles: 100, maxDirectives: 1000 });
    expect(flat(deep.directives)).toEqual(['d1  @1.conf:1', 'd2  @2.conf:1', 'd3  @3.conf:1']);
    expect(deep.problems).toEqual([{ file: '/c/3.conf', line: 2, message: 'include "4.conf" not followed: includes are nested more than 3 deep' }]);

    const many = assembleConfig('/c/nginx.conf', memory(chain), { maxIncludeDepth: 16, maxFiles: 3, maxDirectives: 1000 });
    expect(many.files).toEqual(['/c/nginx.conf', '/c/1.conf', '/c/2.conf']);
    expect(many.problems).toEqual([{ file: '/c/2.conf', line: 2, message: 'include "3.conf": /c/3.conf was not read: more than 3 configuration files' }]);

    // A file included ten times by each of ten files: 100 copies of its directives.
    const fan: Record<string, string> = { '/c/nginx.conf': 'include f*.conf;\n', '/c/leaf': 'a;\nb;\n' };
    for (let i = 0; i < 10; i++) fan[`/c/f${i}.conf`] = 'include leaf;\n'.repeat(10);
    const capped = assembleConfig('/c/nginx.conf', memory(fan), { maxIncludeDepth: 16, maxFiles: 100, maxDirectives: 50 });
    expect(flat(capped.directives)).toHaveLength(50);
    // Reading stops where the 51st would come from: f2's sixth include.
    expect(capped.problems).toEqual([{ file: '/c/f2.conf', line: 6, message: 'more than 50 directives: the rest of the configuration is not read' }]);
  });

  it('reports a main file that cannot be read, with no line', () => {
    const r = assembleConfig('/c/nginx.conf', memory({}));
    expect(r).toEqual({ directives: [], files: [], problems: [{ file: '/c/nginx.conf', line: null, message: '/c/nginx.conf does not exist' }] });
  });

  it('checks the include argument count', () => {
    const r = assembleConfig('/c/n.conf', memory({ '/c/n.conf': 'include;\ninclude a b;\n' }));
    expect(r.problems.map((p) => p.line)).toEqual([1, 2]);
    expect(r.problems[0]!.message).toMatch(/invalid number of arguments in "include"/);
  });

  it('includeArguments lists every include at any depth, with where it is', () => {
    const p = parseConfig('include a;\nhttp {\n  map $a $b { include m.map; }\n  include b/*;\n}\n', '/f');
    expect(includeArguments(p.directives)).toEqual([
      { arg: 'a', file: '/f', line: 1 },
      { arg: 'm.map', file: '/f', line: 3 },
      { arg: 'b/*', file: '/f', line: 4 },
    ]);
  });
});
