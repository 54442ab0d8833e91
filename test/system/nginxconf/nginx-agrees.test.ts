/**
 * The configuration reader against the real nginx: where it claims to read a
 * configuration as nginx does, nginx is asked.
 *
 * - Words: nginx names a directive it does not know in its error message
 *   ("unknown directive "…""), so the way it decoded quotes and escapes can be
 *   read back and compared with the lexer's.
 * - Errors: for each kind of syntax error, the line nginx reports and the line the
 *   agent reports (where both point at the same place).
 * - Verdicts: nginx -t accepts or refuses a configuration, and the model held
 *   against the version nginx -v reports (agent/nginxconf/model/compat.ts) must
 *   say the same, for everything that changed between 1.22 and 1.30 (keepalive 0
 *   and local, proxy_http_version 2, resolve, service= in http and stream), and
 *   the keepalive line before ip_hash that 1.22 accepts with a warning and loses.
 * - Inheritance: a real nginx proxies requests to a loopback echo server through
 *   locations that set, override and inherit proxy_http_version,
 *   proxy_set_header and proxy_bind; what the upstream receives (HTTP version,
 *   Connection header, source address) must be what the model says is in force
 *   for each location.
 *
 * The first two run on every nginx the tests know (test/support/nginxVersions.ts:
 * Debian 12's 1.22 and 1.30), the third on 1.22 only (see there). nginx runs from a temporary prefix with its
 * temporary paths, pid and logs inside it (test/support/nginxJudge.ts), so it
 * judges the configuration the same as root or as any other user; a run where
 * nginx could not open what it needs gives no verdict and skips (fails in strict
 * mode). The proxy runs `master_process off` and `daemon off`, listening on
 * 127.0.0.1 only; it is stopped by the pid the test started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it, type TestContext } from 'vitest';
import type { ProxyPass } from '../../../agent/nginxconf/model/types.js';
import { parseConfig } from '../../../agent/nginxconf/parse/parse.js';
import { tokenize } from '../../../agent/nginxconf/parse/tokenize.js';
import { readNginxConfig } from '../../../agent/nginxconf/read/config.js';
import { versionProblems } from '../../../agent/nginxconf/model/compat.js';
import { effectivePool } from '../../../agent/nginxconf/model/pool.js';
import { skipOrFail } from '../../support/gate.js';
import { confinedHttp, runNginxT, type NginxVerdict } from '../../support/nginxJudge.js';
import { describeEachNginx } from '../../support/nginxVersions.js';

/** `nginx -t` on a config text: nginx's verdict, or a skip (a failure in strict mode) when nginx could not judge it here. */
function nginxTest(ctx: TestContext, bin: string, dir: string, text: string): Exclude<NginxVerdict, { kind: 'no-verdict' }> {
  const conf = join(dir, 'test.conf');
  writeFileSync(conf, text);
  const verdict = runNginxT(bin, dir, conf);
  if (verdict.kind === 'no-verdict') skipOrFail(ctx, verdict.reason);
  return verdict;
}

describeEachNginx('the lexer reads words and finds errors where nginx does', (nginx) => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nginxconf-lex-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.for([
    ['plain', 'abc'],
    ['double-quoted with spaces and ; { }', '"a b; { } c"'],
    ['single-quoted with a double quote', `'say "hi"'`],
    ['escaped double quote inside double quotes', '"x\\"y"'],
    ['escaped single quote inside single quotes', "'it\\'s'"],
    ['escaped backslash', '"a\\\\b"'],
    ['\\t becomes a tab', '"a\\tb"'],
    ['other escapes keep their backslash', '"\\d\\.\\z"'],
    ['escaped space in an unquoted word', 'a\\ b'],
    ['escaped ; in an unquoted word', 'a\\;b'],
    ['# inside a word', 'a#b'],
    ['quote inside an unquoted word', 'a"b'],
    ['${var} with a } in the word', '${x}}y'],
  ])('%s: %s', ([_name, word], ctx) => {
    const ours = tokenize(`${word};\n`, 't.conf');
    expect(ours.problems).toEqual([]);
    const first = ours.tokens[0];
    expect(first?.type).toBe('word');
    const err = nginxTest(ctx, nginx.bin, dir, `${word};\n`).output;
    const m = /unknown directive "([\s\S]*)" in /.exec(err);
    expect(m, err).not.toBeNull();
    expect(first?.type === 'word' && first.value).toBe(m![1]);
  });

  it.for<[string, string, number]>([
    ['a character glued to a closing quote', 'events {}\nhttp {\n  default_type "text/plain"x;\n}\n', 3],
    ['";" with no directive', 'events {}\n;\n', 2],
    ['"}" after an unterminated directive', 'events {}\nhttp {\n  default_type text/plain\n}\n', 4],
    ['"}" with no open block', 'events {}\n}\n', 2],
    ['"{" with no directive', 'events {}\n{ }\n', 2],
    ['a missing include', 'events {}\nhttp {\n  include does-not-exist.conf;\n}\n', 3],
  ])('%s: same line', ([_name, text, line], ctx) => {
    const err = nginxTest(ctx, nginx.bin, dir, text).output;
    const m = /\[emerg\] .* in .*test\.conf:(\d+)/.exec(err);
    expect(m, err).not.toBeNull();
    expect(Number(m![1])).toBe(line);
  });

  it('the agent reports those lines too', async () => {
    const cases: [string, number][] = [
      ['events {}\nhttp {\n  default_type "text/plain"x;\n}\n', 3],
      ['events {}\n;\n', 2],
      ['events {}\nhttp {\n  default_type text/plain\n}\n', 3],
      ['events {}\n}\n', 2],
      ['events {}\n{ }\n', 2],
    ];
    for (const [text, line] of cases) expect(parseConfig(text, 't.conf').problems.map((p) => p.line)).toEqual([line]);
    // "not terminated by ;": nginx names the line of the "}", the agent the directive's own line, one above it.
    writeFileSync(join(dir, 'inc.conf'), 'events {}\nhttp {\n  include does-not-exist.conf;\n}\n');
    const r = await readNginxConfig(join(dir, 'inc.conf'), { resolveHosts: false });
    expect(r.model.problems.map((p) => [p.line, p.message])).toEqual([[3, `include "does-not-exist.conf": ${dir}/does-not-exist.conf does not exist`]]);
  });
}, { requires: ['linux'] });

describeEachNginx('the model refuses what nginx refuses (nginx -t as the judge)', (nginx) => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nginxconf-judge-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.for([
    ['keepalive_time 1h30m;', ''],
    ['keepalive_time "1h 30m";', ''],
    ['keepalive_time "1m 30";', ''],
    ['keepalive_time 500ms;', ''],
    ['keepalive_timeout 1w;', ''],
    ['keepalive_time 30m1h;', ''],
    ['keepalive_time 1M;', ''],
    ['keepalive_time 1y;', ''],
    ['keepalive_time 1.5s;', ''],
    ['keepalive 0;', ''],
    ['keepalive_requests 1k;', ''],
    ['', 'http://app'],
    ['', 'http://APP/x'],
    ['', 'http://app:8080'],
    ['', 'https://127.0.0.1'],
    ['', 'http://[::1]:9000/'],
    ['', 'http://unix:/tmp/x.sock:/api'],
    ['', 'http://10.0.0.1:0'],
    ['', 'http://10.0.0.1:65536'],
    ['', 'ftp://app'],
    ['', 'http://$host$request_uri'],
  ])('upstream { %s } / proxy_pass %s', async ([upstreamExtra, target], ctx) => {
    const conf = join(dir, 'judge.conf');
    writeFileSync(
      conf,
      `events {}\nhttp {\n  ${confinedHttp(dir)}\n  upstream app { server 127.0.0.1:9; keepalive 2; ${upstreamExtra} }\n  server { location / { proxy_pass ${target === '' ? 'http://app' : target}; } }\n}\n`,
    );
    const verdict = runNginxT(nginx.bin, dir, conf);
    if (verdict.kind === 'no-verdict') skipOrFail(ctx, verdict.reason);
    expect(await ourVerdict(conf, nginx.version)).toBe(verdict.kind === 'accepted' ? 'accepted' : 'refused');
  });

  /*
   * What changed between the versions (agent/nginxconf/model/compat.ts), each
   * with the verdict nginx itself gives on 1.22 and on 1.30; the model, held
   * against the version nginx -v reports, must give the same.
   */
  const VERSIONED: readonly [string, string, string, Record<'1.22' | '1.30', 'accepted' | 'refused'>][] = [
    ['keepalive 0 (1.29.7)', 'server 127.0.0.1:9; keepalive 0;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'accepted' }],
    ['keepalive 16 local (1.29.7)', 'server 127.0.0.1:9; keepalive 16 local;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'accepted' }],
    ['keepalive 16 shared (never)', 'server 127.0.0.1:9; keepalive 16 shared;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'refused' }],
    ['proxy_http_version 2 (1.29.4, with http_v2)', 'server 127.0.0.1:9;', 'proxy_pass http://app; proxy_http_version 2;', { '1.22': 'refused', '1.30': 'accepted' }],
    ['server … resolve (1.27.3)', 'zone app 64k; resolver 127.0.0.1; server localhost:9 resolve;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'accepted' }],
    ['resolve without zone', 'resolver 127.0.0.1; server localhost:9 resolve;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'refused' }],
    ['resolve without a resolver', 'zone app 64k; server localhost:9 resolve;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'refused' }],
    ['service= (1.27.3), no port', 'zone app 64k; resolver 127.0.0.1; server localhost service=http resolve;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'accepted' }],
    ['service= with a port', 'zone app 64k; resolver 127.0.0.1; server localhost:9 service=http resolve;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'refused' }],
    ['service= without resolve', 'zone app 64k; resolver 127.0.0.1; server localhost service=http;', 'proxy_pass http://app;', { '1.22': 'refused', '1.30': 'refused' }],
    ['keepalive before ip_hash (a warning, not a refusal)', 'server 127.0.0.1:9; keepalive 16; ip_hash;', 'proxy_pass http://app;', { '1.22': 'accepted', '1.30': 'accepted' }],
  ];
  it.for(VERSIONED)('%s', async ([_name, upstream, location, expected], ctx) => {
    const conf = join(dir, 'versioned.conf');
    writeFileSync(conf, `events {}\nhttp {\n  ${confinedHttp(dir)}\n  upstream app { ${upstream} }\n  server { location / { ${location} } }\n}\n`);
    const verdict = runNginxT(nginx.bin, dir, conf);
    if (verdict.kind === 'no-verdict') skipOrFail(ctx, verdict.reason);
    const label = nginx.label;
    expect(verdict.kind, verdict.output).toBe(expected[label]);
    expect(await ourVerdict(conf, nginx.version)).toBe(expected[label]);
  });

  it('keepalive before ip_hash: nginx warns "load balancing method redefined" exactly where the model says the pool is lost', async (ctx) => {
    const conf = join(dir, 'order.conf');
    writeFileSync(conf, `events {}\nhttp {\n  ${confinedHttp(dir)}\n  upstream app {\n    server 127.0.0.1:9;\n    keepalive 16;\n    ip_hash;\n  }\n  server { location / { proxy_pass http://app; } }\n}\n`);
    const verdict = runNginxT(nginx.bin, dir, conf);
    if (verdict.kind === 'no-verdict') skipOrFail(ctx, verdict.reason);
    const ipHashLine = readFileSync(conf, 'utf8').split('\n').findIndex((l) => l.trim() === 'ip_hash;') + 1;
    const warned = new RegExp(`\\[warn\\] load balancing method redefined in .*order\\.conf:${ipHashLine}\\b`).test(verdict.output);
    const ours = await readNginxConfig(conf, { resolveHosts: false });
    const lost = effectivePool(ours.model.upstreams[0]!, nginx.version).size === null;
    expect({ warned, lost }).toEqual(nginx.label === '1.22' ? { warned: true, lost: true } : { warned: false, lost: false });
  });

  it('stream: service= needs no port from 1.27.3, a plain server still does', async (ctx) => {
    if (nginx.streamModule === null) skipOrFail(ctx, `no stream module for nginx ${nginx.label}`);
    const conf = join(dir, 'stream.conf');
    const text = (server: string): string =>
      `load_module ${nginx.streamModule!};\nevents {}\nhttp {\n  ${confinedHttp(dir)}\n}\nstream {\n  resolver 127.0.0.1;\n  upstream db {\n    zone db 64k;\n    ${server}\n  }\n  server { listen 127.0.0.1:15432; proxy_pass db; }\n}\n`;
    for (const [server, expected] of [
      ['server localhost service=postgresql resolve;', nginx.label === '1.22' ? 'refused' : 'accepted'],
      ['server localhost resolve;', 'refused'],
      ['server localhost:5432 resolve;', nginx.label === '1.22' ? 'refused' : 'accepted'],
    ] as const) {
      writeFileSync(conf, text(server));
      const verdict = runNginxT(nginx.bin, dir, conf);
      if (verdict.kind === 'no-verdict') skipOrFail(ctx, verdict.reason);
      expect([server, verdict.kind], verdict.output).toEqual([server, expected]);
      expect([server, await ourVerdict(conf, nginx.version)]).toEqual([server, expected]);
    }
  });
}, { requires: ['linux'] });

/** The model's verdict on a config for this nginx version: its own problems and what the version refuses. */
async function ourVerdict(conf: string, version: string | null): Promise<'accepted' | 'refused'> {
  const ours = await readNginxConfig(conf, { resolveHosts: false });
  const problems = [...ours.model.problems, ...versionProblems(ours.model, version, { refusalsOnly: true })];
  return problems.length === 0 ? 'accepted' : 'refused';
}

/** A free loopback port (bound and released; nginx takes it right after). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => {
    s.close(() => {
      r();
    });
  });
  return port;
}

interface Seen {
  httpVersion: string;
  connection: string | null;
  source: string;
}

/*
 * On nginx 1.22 only. `expected()` holds nginx's defaults before 1.29.7: with
 * no Connection header in force (a level with proxy_set_header of its own
 * inherits none), nginx sends "Connection: close". nginx 1.29.7 changed the
 * proxy defaults (HTTP/1.1, no "Connection: close", keepalive in every upstream
 * block), so on 1.30 the upstream gets no Connection header at all for
 * GET /own-headers and the second server's GET / ({ connection: null } where
 * this expects "close"); the other eight cases hold on 1.30 as well.
 */
describeEachNginx('a real nginx sends upstream what the model says is in force', (nginx) => {
  let dir = '';
  let echo: Server | undefined;
  let proc: ChildProcess | undefined;
  let port1 = 0;
  let port2 = 0;
  let passes: ProxyPass[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nginxconf-proxy-'));
    echo = createHttpServer((req, res) => {
      const h: IncomingHttpHeaders = req.headers;
      const body = JSON.stringify({ httpVersion: req.httpVersion, connection: h.connection ?? null, source: req.socket.remoteAddress ?? '' });
      res.setHeader('content-type', 'application/json');
      res.end(body);
    });
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as AddressInfo).port;
    port1 = await freePort();
    port2 = await freePort();
    const conf = `master_process off;
daemon off;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  proxy_http_version 1.1;
  proxy_bind 127.0.0.5;
  proxy_set_header Connection "";
  # No keepalive: a cached connection is reused whatever the proxy_bind of the
  # location asking for it, which would hide the source address under test.
  upstream app { server 127.0.0.1:${echoPort}; }
  server {
    listen 127.0.0.1:${port1};
    location /inherits { proxy_pass http://app; }
    location /own-headers {
      proxy_set_header X-Own 1;
      proxy_pass http://app;
    }
    location /override {
      proxy_http_version 1.0;
      proxy_bind off;
      proxy_set_header Connection close;
      proxy_pass http://app;
      location /override/nested { proxy_pass http://app; }
      location /override/nested-own {
        proxy_http_version 1.1;
        proxy_bind 127.0.0.6;
        proxy_set_header Connection "";
        proxy_pass http://app;
      }
      if ($arg_x) { proxy_pass http://app; }
      limit_except GET { proxy_pass http://app; }
    }
    location /late {
      proxy_pass http://app;
      location /late/inner { proxy_pass http://app; }
      proxy_set_header Connection keep-alive;
    }
  }
  server {
    listen 127.0.0.1:${port2};
    proxy_set_header X-Server 1;
    proxy_bind 127.0.0.7;
    location / { proxy_pass http://app; }
  }
}
`;
    writeFileSync(join(dir, 'nginx.conf'), conf);
    passes = (await readNginxConfig(join(dir, 'nginx.conf'), { resolveHosts: false })).model.proxyPasses;
    // -e: the error log nginx opens before it reads the configuration, in the prefix too.
    proc = spawn(nginx.bin, ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
      try {
        await get(port1, 'GET', '/inherits');
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`nginx did not start: ${stderr}`);
  });

  afterAll(async () => {
    if (proc !== undefined && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((r) => {
      if (echo === undefined) r();
      else
        echo.close(() => {
          r();
        });
    });
    rmSync(dir, { recursive: true, force: true });
  });

  function get(port: number, method: string, path: string): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as Seen);
          } catch {
            reject(new Error(`not JSON from nginx (${res.statusCode}): ${body}`));
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** What the upstream must see, from the model's settings: nginx's defaults where it says null. */
  function expected(p: ProxyPass): Seen {
    return {
      httpVersion: p.httpVersion ?? '1.0',
      // An empty value is not sent at all; with none set, nginx sends "Connection: close".
      connection: p.connectionHeader === null ? 'close' : p.connectionHeader === '' ? null : p.connectionHeader,
      source: p.bind ?? '127.0.0.1',
    };
  }

  it.each<[string, string, 1 | 2, string]>([
    ['GET', '/inherits', 1, '> location /inherits'],
    ['GET', '/own-headers', 1, '> location /own-headers'],
    ['GET', '/override', 1, '> location /override'],
    ['GET', '/override/nested', 1, '> location /override > location /override/nested'],
    ['GET', '/override/nested-own', 1, '> location /override > location /override/nested-own'],
    ['GET', '/override?x=1', 1, '> location /override > if ($arg_x)'],
    ['POST', '/override', 1, '> location /override > limit_except GET'],
    ['GET', '/late', 1, '> location /late'],
    ['GET', '/late/inner', 1, '> location /late > location /late/inner'],
    ['GET', '/', 2, `> location /`],
  ])('%s %s', async (method, path, which, suffix) => {
    const port = which === 1 ? port1 : port2;
    const context = `server 127.0.0.1:${port} ${suffix}`;
    const p = passes.find((x) => x.context === context);
    expect(p, `no proxy_pass with context ${context} in ${passes.map((x) => x.context).join(', ')}`).toBeDefined();
    expect(await get(port, method, path)).toEqual(expected(p!));
  });
}, { requires: ['linux'], versions: ['1.22'] });
