/**
 * What each nginx version refuses or mishandles (compat.ts), at every boundary
 * the agent depends on, one version on each side. The configs are parsed, so the
 * uses come from extract.ts as in a real read.
 */
import { describe, expect, it } from 'vitest';
import { versionProblems } from '../../../agent/nginxconf/model/compat.js';
import { extractModel } from '../../../agent/nginxconf/model/extract.js';
import type { NginxConfigModel } from '../../../agent/nginxconf/model/types.js';
import { parseConfig } from '../../../agent/nginxconf/parse/parse.js';

const FILE = '/etc/nginx/nginx.conf';

function model(text: string): NginxConfigModel {
  const p = parseConfig(text, FILE);
  const m = extractModel({ directives: p.directives, files: [FILE], problems: p.problems });
  expect(m.problems).toEqual([]);
  return m;
}

const problemsOn = (m: NginxConfigModel, version: string | null): string[] => versionProblems(m, version).map((p) => `${p.line}: ${p.message}`);

describe('what each version refuses', () => {
  it.each<[string, string, string | null, string[]]>([
    // proxy_http_version 2: 1.29.4 (with the http_v2 module).
    ['proxy_http_version 2', 'http {\n  proxy_http_version 2;\n}', '1.29.3', ['2: proxy_http_version 2 (HTTP/2 to the upstream) needs nginx 1.29.4 or later, built with --with-http_v2_module: nginx 1.29.3 refuses the configuration (invalid value "2")']],
    ['proxy_http_version 2', 'http {\n  proxy_http_version 2;\n}', '1.29.4', []],
    ['proxy_http_version 2', 'http {\n  proxy_http_version 2;\n}', null, []],
    // keepalive 0 and local: 1.29.7.
    ['keepalive 0', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 0;\n  }\n}', '1.29.6', ['4: keepalive 0 needs nginx 1.29.7 or later: nginx 1.29.6 refuses the configuration (invalid value "0" in "keepalive" directive); before 1.29.7 a group without a keepalive line keeps no connections, so remove the line']],
    ['keepalive 0', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 0;\n  }\n}', '1.29.7', []],
    ['keepalive 0', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 0;\n  }\n}', null, []],
    ['keepalive 16 local', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16 local;\n  }\n}', '1.29.6', ['4: keepalive … local needs nginx 1.29.7 or later: nginx 1.29.6 refuses the configuration (invalid number of arguments in "keepalive" directive); drop "local"']],
    ['keepalive 16 local', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16 local;\n  }\n}', '1.29.7', []],
    // The balancer after keepalive: harmful before 1.29.7, said (conditionally) when the version is unknown.
    [
      'keepalive before ip_hash',
      'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16;\n    ip_hash;\n  }\n}',
      '1.29.6',
      ['4: "keepalive 16;" comes before ip_hash: in nginx 1.29.6 (before 1.29.7) the ip_hash directive at /etc/nginx/nginx.conf:5 replaces the keepalive module\'s hook, so the pool is lost (nginx only warns "load balancing method redefined"); move the keepalive line after ip_hash'],
    ],
    ['keepalive before ip_hash', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16;\n    ip_hash;\n  }\n}', '1.29.7', []],
    [
      'keepalive before hash',
      'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16;\n    hash $request_uri consistent;\n  }\n}',
      null,
      ['4: "keepalive 16;" comes before hash: before nginx 1.29.7 the hash directive at /etc/nginx/nginx.conf:5 replaces the keepalive module\'s hook, so the pool is lost (nginx only warns "load balancing method redefined"); the nginx version is unknown, and the order after hash is right for every version: move the keepalive line after hash'],
    ],
    ['keepalive after least_conn', 'http {\n  upstream u {\n    server 10.0.0.5;\n    least_conn;\n    keepalive 16;\n  }\n}', '1.22.1', []],
    // keepalive_time: 1.19.10.
    ['keepalive_time', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16;\n    keepalive_time 10m;\n  }\n}', '1.19.9', ['5: keepalive_time needs nginx 1.19.10 or later: nginx 1.19.9 refuses the configuration (unknown directive "keepalive_time")']],
    ['keepalive_time', 'http {\n  upstream u {\n    server 10.0.0.5;\n    keepalive 16;\n    keepalive_time 10m;\n  }\n}', '1.19.10', []],
    // resolve, service= and resolver in the block: 1.27.3, http and stream alike.
    [
      'resolve, service=, resolver',
      'stream {\n  upstream u {\n    zone u 64k;\n    resolver 10.0.0.53;\n    server db.internal service=postgresql resolve;\n  }\n}',
      '1.27.2',
      [
        '4: resolver inside an upstream block needs nginx 1.27.3 or later: nginx 1.27.2 refuses the configuration ("resolver" directive is not allowed here); put it at the http {} or stream {} level',
        '5: server … service= (open source) needs nginx 1.27.3 or later: nginx 1.27.2 refuses the configuration (invalid parameter "service=postgresql")',
        '5: server … resolve (open source) needs nginx 1.27.3 or later: nginx 1.27.2 refuses the configuration (invalid parameter "resolve")',
      ],
    ],
    ['resolve, service=, resolver', 'stream {\n  upstream u {\n    zone u 64k;\n    resolver 10.0.0.53;\n    server db.internal service=postgresql resolve;\n  }\n}', '1.27.3', []],
  ])('%s on %s', (_name, text, version, expected) => {
    expect(problemsOn(model(text), version)).toEqual(expected);
  });
});
