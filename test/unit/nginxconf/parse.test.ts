import { describe, expect, it } from 'vitest';
import { parseConfig, type Directive } from '../../../agent/nginxconf/parse/parse.js';

/** The tree without file names, as [name, args, line, children?]. */
type Shape = [string, string[], number, Shape[]?];
function shape(ds: readonly Directive[]): Shape[] {
  return ds.map((d) => (d.block === undefined ? [d.name, d.args, d.line] : [d.name, d.args, d.line, shape(d.block)]));
}

describe('parseConfig: directive tree', () => {
  it('nests blocks and records each directive with its file and line', () => {
    const text = [
      'worker_processes 2;',
      'events {',
      '  worker_connections 1024;',
      '}',
      'http {',
      '  upstream app { server 10.0.0.1:80 weight=2; keepalive 8; }',
      '  server {',
      '    listen 80;',
      '    location /api/ {',
      '      location /api/v1/ { proxy_pass http://app; }',
      '      if ($request_method = POST) { proxy_pass http://app; }',
      '    }',
      '  }',
      '}',
    ].join('\n');
    const r = parseConfig(text, '/etc/nginx/nginx.conf');
    expect(r.problems).toEqual([]);
    expect(shape(r.directives)).toEqual([
      ['worker_processes', ['2'], 1],
      ['events', [], 2, [['worker_connections', ['1024'], 3]]],
      [
        'http',
        [],
        5,
        [
          ['upstream', ['app'], 6, [['server', ['10.0.0.1:80', 'weight=2'], 6], ['keepalive', ['8'], 6]]],
          [
            'server',
            [],
            7,
            [
              ['listen', ['80'], 8],
              [
                'location',
                ['/api/'],
                9,
                [
                  ['location', ['/api/v1/'], 10, [['proxy_pass', ['http://app'], 10]]],
                  ['if', ['($request_method', '=', 'POST)'], 11, [['proxy_pass', ['http://app'], 11]]],
                ],
              ],
            ],
          ],
        ],
      ],
    ]);
    expect(r.directives[0]!.file).toBe('/etc/nginx/nginx.conf');
  });

  it('reads map and split_clients entries as directives with their values', () => {
    const r = parseConfig(
      `map $http_upgrade $connection_upgrade {\n  default upgrade;\n  '' close;\n}\nsplit_clients "\${remote_addr}x" $ip { 50% 10.0.0.1; * ""; }\n`,
      'm.conf',
    );
    expect(r.problems).toEqual([]);
    expect(shape(r.directives)).toEqual([
      ['map', ['$http_upgrade', '$connection_upgrade'], 1, [['default', ['upgrade'], 2], ['', ['close'], 3]]],
      ['split_clients', ['${remote_addr}x', '$ip'], 5, [['50%', ['10.0.0.1'], 5], ['*', [''], 5]]],
    ]);
  });

  it('keeps a Lua block body raw, with no children', () => {
    const r = parseConfig('location / {\n  access_by_lua_block { if a then ngx.exit(403) end }\n  proxy_pass http://x;\n}\n', 'l.conf');
    expect(r.problems).toEqual([]);
    const loc = r.directives[0]!;
    expect(loc.block!.map((d) => [d.name, d.raw, d.block?.length])).toEqual([
      ['access_by_lua_block', ' if a then ngx.exit(403) end ', 0],
      ['proxy_pass', undefined, undefined],
    ]);
  });

  describe('broken text: every problem with its line, and what could be read is kept', () => {
    it.each<[string, string, { line: number | null; message: RegExp }[], Shape[]]>([
      [
        'missing "}": the open blocks keep what was read',
        'http {\n  server {\n    listen 80;\n  location / { proxy_pass http://a; }\n',
        [
          { line: 1, message: /unexpected end of file, expecting "}": the "http" block opened here is not closed/ },
          { line: 2, message: /the "server" block/ },
        ],
        [['http', [], 1, [['server', [], 2, [['listen', ['80'], 3], ['location', ['/'], 4, [['proxy_pass', ['http://a'], 4]]]]]]]],
      ],
      [
        'stray "}" at the top level',
        'a;\n}\nb;\n',
        [{ line: 2, message: /unexpected "}": no block is open here/ }],
        [['a', [], 1], ['b', [], 3]],
      ],
      [
        '";" without a directive',
        'a;\n ;\nb;\n',
        [{ line: 2, message: /unexpected ";"/ }],
        [['a', [], 1], ['b', [], 3]],
      ],
      [
        'directive not terminated before "}"',
        'x {\n  a 1\n}\nb;\n',
        [{ line: 2, message: /unexpected "}": the directive "a" is not terminated by ";"/ }],
        [['x', [], 1, []], ['b', [], 4]],
      ],
      [
        'block without a name: its contents are dropped, braces still balance',
        'a;\n{ b; }\nc;\n',
        [{ line: 2, message: /unexpected "{"/ }],
        [['a', [], 1], ['c', [], 3]],
      ],
      [
        'unterminated quote: reported once, at the line it opens; nothing after it is read',
        'http {\n  upstream u { server 10.0.0.1; }\n  server {\n    return 200 "oops;\n  }\n}\n',
        [{ line: 4, message: /unterminated double quote/ }],
        [['http', [], 1, [['upstream', ['u'], 2, [['server', ['10.0.0.1'], 2]]], ['server', [], 3, []]]]],
      ],
      [
        'unclosed Lua block',
        'http {\n  init_by_lua_block { x = 1\n',
        [
          { line: 1, message: /the "http" block/ },
          { line: 2, message: /the "init_by_lua_block" block/ },
        ],
        [['http', [], 1, [['init_by_lua_block', [], 2, []]]]],
      ],
    ])('%s', (_name, text, problems, tree) => {
      const r = parseConfig(text, 'broken.conf');
      expect(r.problems.map((p) => ({ file: p.file, line: p.line }))).toEqual(problems.map((p) => ({ file: 'broken.conf', line: p.line })));
      problems.forEach((p, k) => {
        expect(r.problems[k]!.message).toMatch(p.message);
      });
      expect(shape(r.directives)).toEqual(tree);
    });
  });

  it('reports a byte order mark and reads the file anyway', () => {
    const r = parseConfig('\uFEFFworker_processes 1;\n', 'bom.conf');
    expect(r.problems).toEqual([{ file: 'bom.conf', line: 1, message: expect.stringMatching(/byte order mark/) as unknown }]);
    expect(shape(r.directives)).toEqual([['worker_processes', ['1'], 1]]);
  });
});
