/**
 * Configurations nested far deeper than anyone writes by hand (generated ones,
 * or a hostile one): the reader walks the tree with its own stacks, so no depth
 * exhausts the call stack, and every other file keeps its model.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readNginxConfig } from '../../../agent/nginxconf/read/config.js';

let scratch = '';
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nginxconf-depth-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** `depth` nested locations with a proxy_pass in the innermost. */
function nestedLocations(depth: number): string {
  return `server {\n  listen 8080;\n${'location / {\n'.repeat(depth)}proxy_pass http://backend;\nproxy_http_version 1.1;\n${'}\n'.repeat(depth)}}\n`;
}

const MAIN = `http {
  upstream backend { server 10.0.0.5:8080; keepalive 16; }
  include conf.d/*.conf;
  server { listen 8081; location /other { proxy_pass http://10.0.0.6:9000; } }
}
`;

describe('deeply nested configurations', () => {
  it.each([4000, 100_000])('%d nested locations: the innermost proxy_pass is modelled, the other files too, no problem', async (depth) => {
    writeFileSync(join(scratch, 'nginx.conf'), MAIN);
    const confD = join(scratch, 'conf.d');
    mkdirSync(confD);
    writeFileSync(join(confD, 'a-deep.conf'), nestedLocations(depth));
    writeFileSync(join(confD, 'b-plain.conf'), 'upstream other { server 10.0.0.7:80; }\n');
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), { resolveHosts: false });
    expect(r.model.problems).toEqual([]);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['backend', 'other']);
    const deep = r.model.proxyPasses.find((p) => p.upstream === 'backend')!;
    expect(deep.at).toEqual({ file: join(confD, 'a-deep.conf'), line: depth + 3 });
    expect(deep.httpVersion).toBe('1.1');
    // The context names the server, the first and the last levels, and how many are left out.
    expect(deep.context).toBe(`server *:8080 > location / > location / > … ${depth - 5} more levels … > location / > location / > location /`);
    expect(r.model.proxyPasses.find((p) => p.host === '10.0.0.6')?.context).toBe('server *:8081 > location /other');
  });

  it('a deeply nested block nginx would never accept still leaves the rest of the file modelled', async () => {
    writeFileSync(join(scratch, 'nginx.conf'), `${MAIN}${'events {\n'.repeat(100_000)}${'}\n'.repeat(100_000)}`);
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), { resolveHosts: false });
    expect(r.model.problems).toEqual([]);
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['backend']);
  });

  it('an unclosed nest 100 000 deep: the ten innermost blocks, then one problem for the rest at the outermost', async () => {
    writeFileSync(join(scratch, 'nginx.conf'), `${MAIN}server {\n${'location / {\n'.repeat(100_000)}`);
    const r = await readNginxConfig(join(scratch, 'nginx.conf'), { resolveHosts: false });
    expect(r.model.upstreams.map((u) => u.name)).toEqual(['backend']);
    const main = join(scratch, 'nginx.conf');
    expect(r.model.problems).toHaveLength(11);
    expect(r.model.problems[0]).toEqual({ file: main, line: 6, message: 'unexpected end of file, expecting "}": the "server" block opened here is not closed, nor 99990 more blocks inside it' });
    expect(r.model.problems[10]).toEqual({ file: main, line: 100_006, message: 'unexpected end of file, expecting "}": the "location" block opened here is not closed' });
  });
});
