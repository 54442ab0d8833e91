/**
 * The effective pool of a group (pool.ts) at every version boundary that decides
 * it, one version on each side, and with the version unknown. The configs are
 * parsed, so the groups come from extract.ts as in a real read.
 */
import { describe, expect, it } from 'vitest';
import { extractModel } from '../../../agent/nginxconf/model/extract.js';
import { describePool, effectivePool } from '../../../agent/nginxconf/model/pool.js';
import type { NginxConfigModel } from '../../../agent/nginxconf/model/types.js';
import { parseConfig } from '../../../agent/nginxconf/parse/parse.js';

const FILE = '/etc/nginx/nginx.conf';

function model(text: string): NginxConfigModel {
  const p = parseConfig(text, FILE);
  const m = extractModel({ directives: p.directives, files: [FILE], problems: p.problems });
  expect(m.problems).toEqual([]);
  return m;
}

describe('the pool each group gets', () => {
  const conf = (upstream: string, module = 'http'): NginxConfigModel => model(`${module} {\n  upstream u {\n    server 10.0.0.5:8080;\n${upstream}  }\n}\n`);
  it.each<[string, string, string | null, { size: number | null; source: string; text: string; local: boolean }]>([
    ['no keepalive line', '', '1.29.6', { size: null, source: 'none', text: 'none: no keepalive directive and nginx 1.29.6 < 1.29.7', local: false }],
    ['no keepalive line', '', '1.29.7', { size: 32, source: 'default', text: '1.29.7+ default, local (nginx 1.29.7; no keepalive directive)', local: true }],
    ['no keepalive line', '', null, { size: null, source: 'unknown', text: 'unknown: no keepalive directive and the nginx version is unknown (none before 1.29.7, 32 per worker from it)', local: false }],
    ['keepalive 64', '    keepalive 64;\n', '1.22.1', { size: 64, source: 'directive', text: 'keepalive 64 at /etc/nginx/nginx.conf:4', local: false }],
    ['keepalive 64', '    keepalive 64;\n', '1.30.6', { size: 64, source: 'directive', text: 'keepalive 64 at /etc/nginx/nginx.conf:4', local: false }],
    ['keepalive 64 local', '    keepalive 64 local;\n', '1.29.7', { size: 64, source: 'directive', text: 'keepalive 64 local at /etc/nginx/nginx.conf:4', local: true }],
    ['keepalive 64 local', '    keepalive 64 local;\n', '1.29.6', { size: null, source: 'unknown', text: 'unknown: keepalive 64 local at /etc/nginx/nginx.conf:4: nginx 1.29.6 refuses it (it needs 1.29.7), so this is not the configuration nginx runs', local: false }],
    ['keepalive 0', '    keepalive 0;\n', '1.29.7', { size: null, source: 'disabled', text: 'disabled: keepalive 0 at /etc/nginx/nginx.conf:4', local: false }],
    ['keepalive 0', '    keepalive 0;\n', null, { size: null, source: 'disabled', text: 'disabled: keepalive 0 at /etc/nginx/nginx.conf:4', local: false }],
    ['keepalive 0', '    keepalive 0;\n', '1.29.6', { size: null, source: 'unknown', text: 'unknown: keepalive 0 at /etc/nginx/nginx.conf:4: nginx 1.29.6 refuses it (it needs 1.29.7), so this is not the configuration nginx runs', local: false }],
    ['keepalive before random', '    keepalive 16;\n    random two;\n', '1.29.6', { size: null, source: 'none', text: 'none: keepalive 16 at /etc/nginx/nginx.conf:4 comes before random at /etc/nginx/nginx.conf:5, and nginx 1.29.6 (before 1.29.7) drops it', local: false }],
    ['keepalive before random', '    keepalive 16;\n    random two;\n', '1.29.7', { size: 16, source: 'directive', text: 'keepalive 16 at /etc/nginx/nginx.conf:4', local: false }],
    ['keepalive before random', '    keepalive 16;\n    random two;\n', null, { size: null, source: 'unknown', text: 'unknown: keepalive 16 at /etc/nginx/nginx.conf:4 comes before random at /etc/nginx/nginx.conf:5: nginx before 1.29.7 drops it, later versions keep 16; the version is unknown', local: false }],
    ['keepalive after random', '    random two;\n    keepalive 16;\n', '1.29.6', { size: 16, source: 'directive', text: 'keepalive 16 at /etc/nginx/nginx.conf:5', local: false }],
  ])('%s on %s', (_name, upstream, version, expected) => {
    expect(effectivePool(conf(upstream).upstreams[0]!, version)).toMatchObject(expected);
  });

  it('a stream group never pools, whatever the version', () => {
    const g = model('stream {\n  upstream u {\n    server 10.0.0.5:5432;\n  }\n}\n').upstreams[0]!;
    for (const v of ['1.22.1', '1.30.6', null]) expect(effectivePool(g, v)).toMatchObject({ size: null, source: 'none', text: 'none: stream {} upstreams keep no idle connections' });
  });

  it('says the size first when there is one', () => {
    const g = conf('').upstreams[0]!;
    expect(describePool(effectivePool(g, '1.30.6'))).toBe('32 per worker: 1.29.7+ default, local (nginx 1.30.6; no keepalive directive)');
    expect(describePool(effectivePool(g, '1.22.1'))).toBe('none: no keepalive directive and nginx 1.22.1 < 1.29.7');
  });
});
