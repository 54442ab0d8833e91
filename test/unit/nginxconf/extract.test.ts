import { describe, expect, it } from 'vitest';
import { extractModel } from '../../../agent/nginxconf/model/extract.js';
import type { NginxConfigModel, ProxyPass, UpstreamServer } from '../../../agent/nginxconf/model/types.js';
import { parseConfig } from '../../../agent/nginxconf/parse/parse.js';

const FILE = '/etc/nginx/nginx.conf';

function model(text: string): NginxConfigModel {
  const p = parseConfig(text, FILE);
  return extractModel({ directives: p.directives, files: [FILE], problems: p.problems });
}

/** The problems as "line: message". */
function problems(m: NginxConfigModel): string[] {
  return m.problems.map((p) => `${p.line}: ${p.message}`);
}

function pass(m: NginxConfigModel, context: string): ProxyPass {
  const found = m.proxyPasses.filter((p) => p.context === context);
  expect(found.map((p) => p.context)).toEqual([context]);
  return found[0]!;
}

describe('worker settings', () => {
  it.each<[string, Partial<NginxConfigModel>]>([
    ['', { workerProcesses: null, workerConnections: null, workerRlimitNofile: null }],
    ['worker_processes auto; worker_rlimit_nofile 65535; events { worker_connections 4096; }', { workerProcesses: 'auto', workerConnections: 4096, workerRlimitNofile: 65535 }],
    ['worker_processes 8; events { }', { workerProcesses: 8, workerConnections: null }],
  ])('%s', (text, expected) => {
    const m = model(text);
    expect(m.problems).toEqual([]);
    expect(m).toMatchObject(expected);
  });

  it('reports values nginx refuses, and a repeated directive', () => {
    const m = model('worker_processes many;\nworker_rlimit_nofile -1;\nevents { worker_connections 0; }\nworker_processes 2;\n');
    expect(m).toMatchObject({ workerProcesses: null, workerConnections: null, workerRlimitNofile: null });
    expect(problems(m)).toEqual([
      '1: invalid value "many" in "worker_processes" directive: expected a whole number of at least 1',
      '2: invalid value "-1" in "worker_rlimit_nofile" directive: expected a whole number',
      '3: invalid value "0" in "worker_connections" directive: expected a whole number of at least 1',
      '4: "worker_processes" directive is duplicate (first set at /etc/nginx/nginx.conf:1); the first is used',
    ]);
  });
});

describe('upstream groups', () => {
  it('reads servers with nginx defaults and parameters, and the keepalive settings with time units', () => {
    const m = model(`http {
  upstream app {
    server 10.0.0.5:8080 weight=5 max_fails=3 fail_timeout=10s;
    server 10.0.0.6 max_conns=100;
    server [2001:db8::6]:8080 backup;
    server app.internal down max_conns=0;
    server unix:/run/app.sock;
    keepalive 32;
    keepalive_requests 5000;
    keepalive_time 1h;
    keepalive_timeout 90s;
  }
  upstream bare { server 10.0.0.9:80; }
}`);
    expect(m.problems).toEqual([]);
    const [app, bare] = m.upstreams;
    expect(app).toMatchObject({
      name: 'app',
      module: 'http',
      keepalive: 32,
      keepaliveRequests: 5000,
      keepaliveTimeMs: 3_600_000,
      keepaliveTimeoutMs: 90_000,
      at: { file: FILE, line: 2 },
    });
    expect(app!.servers.map((s) => [s.address, s.host, s.port, s.weight, s.backup, s.down, s.maxConns, s.at.line])).toEqual([
      ['10.0.0.5:8080', '10.0.0.5', 8080, 5, false, false, null, 3],
      ['10.0.0.6', '10.0.0.6', 80, 1, false, false, 100, 4],
      ['[2001:db8::6]:8080', '2001:db8::6', 8080, 1, true, false, null, 5],
      ['app.internal', 'app.internal', 80, 1, false, true, null, 6],
      ['unix:/run/app.sock', null, null, 1, false, false, null, 7],
    ]);
    expect(bare).toMatchObject({ name: 'bare', keepalive: null, keepaliveRequests: null, keepaliveTimeMs: null, keepaliveTimeoutMs: null });
  });

  it.each([
    ['keepalive abc;', 'invalid value "abc" in "keepalive" directive: expected a whole number'],
    ['keepalive 16 shared;', 'invalid parameter "shared" in "keepalive" directive: the only one is "local"'],
    ['keepalive 16 local 2;', 'invalid number of arguments in "keepalive" directive: it takes a number and, from 1.29.7, "local"'],
    ['server backend.internal service=;', 'service is empty'],
    ['keepalive_time 1y;', 'invalid value "1y" in "keepalive_time" directive: expected a time such as 500ms, 60s, 1h or 1h30m'],
    ['keepalive_timeout;', 'invalid number of arguments in "keepalive_timeout" directive: it takes one'],
    ['server 10.0.0.1:99999;', 'invalid port "99999" in upstream "u" server "10.0.0.1:99999"'],
    ['server 10.0.0.1 weight=0;', 'invalid parameter "weight=0" in upstream "u" server "10.0.0.1"'],
    ['server 10.0.0.1 max_conns=x;', 'invalid parameter "max_conns=x" in upstream "u" server "10.0.0.1"'],
    ['keepalive 2; keepalive 4;', '"keepalive" directive is duplicate (first set at /etc/nginx/nginx.conf:1); the first is used'],
  ])('reports %s', (body, message) => {
    const m = model(`http { upstream u { server 10.0.0.2; ${body} } }`);
    expect(problems(m)).toEqual([`1: ${message}`]);
  });

  it('keeps each server line as written, every parameter and quote included, and the block\'s lines in order', () => {
    const m = model(`http {
  resolver 10.0.0.53;
  upstream app {
    zone app 64k;
    server 10.0.0.5:8080   max_fails=3 fail_timeout=30s slow_start=10s;
    server "app.internal" resolve max_conns=50;   # a comment
    least_conn;
    keepalive 16 local;
  }
}`);
    expect(m.problems).toEqual([]);
    const app = m.upstreams[0]!;
    expect(app.servers.map((x) => [x.text, x.resolve, x.service])).toEqual([
      ['server 10.0.0.5:8080 max_fails=3 fail_timeout=30s slow_start=10s;', false, null],
      ['server "app.internal" resolve max_conns=50;', true, null],
    ]);
    expect(app.lines!.map((l) => [l.name, l.text, l.at.line])).toEqual([
      ['zone', 'zone app 64k;', 4],
      ['server', 'server 10.0.0.5:8080 max_fails=3 fail_timeout=30s slow_start=10s;', 5],
      ['server', 'server "app.internal" resolve max_conns=50;', 6],
      ['least_conn', 'least_conn;', 7],
      ['keepalive', 'keepalive 16 local;', 8],
    ]);
    expect(app).toMatchObject({ zone: 'app', resolver: true, keepalive: 16, keepaliveLocal: true, keepaliveAt: { file: FILE, line: 8 }, balancer: { name: 'least_conn', at: { line: 7 } } });
  });

  it('records every use of something only some nginx versions accept, where it is written', () => {
    const m = model(`http {
  proxy_http_version 2;
  upstream a { server 10.0.0.5:8080; keepalive 0; }
  upstream b { keepalive 8; ip_hash; server 10.0.0.6:8080; keepalive_time 10m; }
  upstream c { zone c 64k; resolver 10.0.0.53; server backend.internal service=http resolve; keepalive 4 local; }
  upstream d { server 10.0.0.7:8080; hash $request_uri; keepalive 8; }
  server { location / { proxy_pass http://a; } }
}`);
    expect(m.problems).toEqual([]);
    expect(m.versioned!.map((v) => [v.feature, v.group, v.text, v.at.line, v.balancer?.name ?? null])).toEqual([
      ['proxy_http_version_2', null, 'proxy_http_version 2;', 2, null],
      ['keepalive_0', 'a', 'keepalive 0;', 3, null],
      ['keepalive_before_balancer', 'b', 'keepalive 8;', 4, 'ip_hash'],
      ['keepalive_time', 'b', 'keepalive_time 10m;', 4, null],
      ['upstream_resolver', 'c', 'resolver 10.0.0.53;', 5, null],
      ['server_service', 'c', 'server backend.internal service=http resolve;', 5, null],
      ['server_resolve', 'c', 'server backend.internal service=http resolve;', 5, null],
      ['keepalive_local', 'c', 'keepalive 4 local;', 5, null],
    ]);
    expect(m.upstreams.find((u) => u.name === 'a')!.keepalive).toBe(0);
    // A balancer written before keepalive (d) is the order nginx has always honoured: nothing to record.
    expect(m.versioned!.filter((v) => v.group === 'd')).toEqual([]);
    expect(m.proxyPasses[0]).toMatchObject({ httpVersion: '2', httpVersionAt: { file: FILE, line: 2 } });
  });

  it.each<[string, string, string[], Partial<UpstreamServer>]>([
    // http never says "no port" (ngx_http_upstream_server: default_port = 80); a service= server takes its ports from SRV.
    ['http, service= and resolve, no port', 'http', [], { port: null, service: 'http', resolve: true }],
    ['stream, service= and resolve, no port: no "no port" problem (1.27.3+)', 'stream', [], { port: null, service: 'http', resolve: true }],
  ])('%s', (_name, module, expected, server) => {
    const m = model(`${module} {\n  resolver 10.0.0.53;\n  upstream u {\n    zone u 64k;\n    server backend.internal service=http resolve;\n  }\n}\n`);
    expect(problems(m)).toEqual(expected);
    expect(m.upstreams[0]!.servers[0]).toMatchObject(server);
  });

  it.each<[string, string, string]>([
    ['stream server without a port or service=', 'stream', 'server 10.0.0.5;'],
    ['service= without resolve', 'http', 'server backend.internal service=http;'],
    ['service= with a port', 'stream', 'server backend.internal:5432 service=pg resolve;'],
    ['service= with an IP address', 'http', 'server 10.0.0.5 service=http resolve;'],
  ])('refuses what nginx refuses: %s', (_name, module, line) => {
    const m = model(`${module} {\n  resolver 10.0.0.53;\n  upstream u {\n    zone u 64k;\n    ${line}\n  }\n}\n`);
    const expected: Record<string, string> = {
      'server 10.0.0.5;': '5: no port in upstream "u" server "10.0.0.5"',
      'server backend.internal service=http;': '5: service upstream "backend.internal" requires "resolve" parameter (in upstream "u")',
      'server backend.internal:5432 service=pg resolve;': '5: service upstream "backend.internal:5432" may not have port (in upstream "u"): the SRV records give the ports',
      'server 10.0.0.5 service=http resolve;': '5: service upstream "10.0.0.5" requires domain name (in upstream "u")',
    };
    expect(problems(m)).toEqual([expected[line]]);
  });

  it('resolve needs the group in shared memory and a resolver in the block or at the http level', () => {
    const m = model('http {\n  upstream u {\n    server backend.internal resolve;\n  }\n  upstream v {\n    zone v 64k;\n    server backend.internal resolve;\n  }\n}\n');
    expect(problems(m)).toEqual([
      '2: resolving names at run time requires upstream "u" in /etc/nginx/nginx.conf:2 to be in shared memory: add "zone u 64k;" to the block',
      '2: no resolver defined to resolve names at run time in upstream "u" in /etc/nginx/nginx.conf:2: add "resolver ADDRESS;" to the block or the http {} level',
      '5: no resolver defined to resolve names at run time in upstream "v" in /etc/nginx/nginx.conf:5: add "resolver ADDRESS;" to the block or the http {} level',
    ]);
  });

  it('reports a group with no servers and a duplicate group (names compared without case)', () => {
    const m = model('http {\n  upstream a { server 10.0.0.1; }\n  upstream A { server 10.0.0.2; }\n  upstream empty { keepalive 2; }\n}\n');
    expect(m.upstreams.map((u) => u.name)).toEqual(['a', 'empty']);
    expect(problems(m)).toEqual(['3: duplicate upstream "A" (first defined at /etc/nginx/nginx.conf:2); this one is ignored', '4: no servers are inside upstream "empty"']);
  });
});

describe('proxy settings inherited as nginx merges them (http → server → location → nested, if, limit_except)', () => {
  const conf = `http {
  proxy_http_version 1.1;
  proxy_bind 10.0.0.200;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  upstream app { server 10.0.0.5:8080; keepalive 16; }
  server {
    listen 8080;
    server_name example.com;
    location /inherits { proxy_pass http://app; }
    location /own-headers {
      proxy_set_header X-Id $request_id;
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
    listen 127.0.0.1:8081;
    proxy_set_header X-Server-Level 1;
    proxy_bind $source_ip;
    location / { proxy_pass http://app; }
  }
}`;
  const m = model(conf);

  it.each<[string, string | null, string | null, string | null]>([
    ['server example.com:8080 > location /inherits', '1.1', '', '10.0.0.200'],
    // A level with any proxy_set_header inherits none from above: Connection is back to nginx's default.
    ['server example.com:8080 > location /own-headers', '1.1', null, '10.0.0.200'],
    ['server example.com:8080 > location /override', '1.0', 'close', null],
    ['server example.com:8080 > location /override > location /override/nested', '1.0', 'close', null],
    ['server example.com:8080 > location /override > location /override/nested-own', '1.1', '', null],
    ['server example.com:8080 > location /override > if ($arg_x)', '1.0', 'close', null],
    ['server example.com:8080 > location /override > limit_except GET', '1.0', 'close', null],
    // Where a directive sits inside its level does not matter.
    ['server example.com:8080 > location /late', '1.1', 'keep-alive', '10.0.0.200'],
    ['server example.com:8080 > location /late > location /late/inner', '1.1', 'keep-alive', '10.0.0.200'],
    ['server 127.0.0.1:8081 > location /', '1.1', null, '$source_ip'],
  ])('%s: proxy_http_version %s, Connection %j, proxy_bind %s', (context, version, connection, bind) => {
    const p = pass(m, context);
    expect([p.httpVersion, p.connectionHeader, p.bind, p.upstream]).toEqual([version, connection, bind, 'app']);
  });

  it('has no problems and finds every proxy_pass', () => {
    expect(m.problems).toEqual([]);
    expect(m.proxyPasses).toHaveLength(10);
  });

  it('leaves everything unset where nothing is set', () => {
    const p = model('http { server { location / { proxy_pass http://10.0.0.1:81; } } }').proxyPasses[0]!;
    expect([p.httpVersion, p.connectionHeader, p.bind]).toEqual([null, null, null]);
  });

  it('takes the header name without regard to case, the last Connection when set twice', () => {
    const p = model('http { server { location / { proxy_set_header connection "a"; proxy_set_header CONNECTION ""; proxy_pass http://h; } } }').proxyPasses[0]!;
    expect(p.connectionHeader).toBe('');
  });

  it('reports bad values of the proxy settings', () => {
    const bad = model('http {\n  proxy_http_version 2.0;\n  proxy_set_header Connection;\n  proxy_bind;\n  server { location / { proxy_pass http://h; } }\n}\n');
    expect(problems(bad)).toEqual([
      '2: invalid value "2.0" in "proxy_http_version" directive: it must be "1.0", "1.1" or (from 1.29.4) "2"',
      '3: invalid number of arguments in "proxy_set_header" directive: it takes a field name and a value',
      '4: invalid number of arguments in "proxy_bind" directive',
    ]);
  });
});

describe('proxy_pass targets', () => {
  const groups = 'upstream app { server 10.0.0.5:8080; }\n  upstream search { server 10.0.0.6:9200; }';
  it.each<[string, Partial<ProxyPass>]>([
    ['http://app', { scheme: 'http', upstream: 'app', host: null, port: null, hasVariables: false }],
    ['http://app/api/', { upstream: 'app' }],
    ['http://APP', { upstream: 'app' }],
    ['HTTP://app', { scheme: 'http', upstream: 'app' }],
    ['https://search', { scheme: 'https', upstream: 'search' }],
    ['http://later', { upstream: 'later' }],
    ['http://10.0.0.7:8080/x', { upstream: null, host: '10.0.0.7', port: 8080 }],
    ['http://10.0.0.7', { host: '10.0.0.7', port: 80 }],
    ['https://10.0.0.7', { host: '10.0.0.7', port: 443 }],
    ['http://backend.example.com?x=1', { host: 'backend.example.com', port: 80 }],
    ['http://[::1]:9000/', { host: '::1', port: 9000 }],
    ['http://unix:/run/app.sock:/api', { upstream: null, host: null, port: null }],
    ['http://$upstream_name', { hasVariables: true, upstream: null, host: null, port: null, upstreamCandidates: [] }],
    ['$scheme://app', { hasVariables: true, scheme: '' }],
    ['http://$pool', { hasVariables: true, upstreamCandidates: ['app', 'search'] }],
    ['http://${pool}/x', { upstreamCandidates: ['app', 'search'] }],
    ['http://$pool$request_uri', { upstreamCandidates: ['app', 'search'] }],
    ['http://$pool.example.com', { upstreamCandidates: [] }],
    ['http://$split', { upstreamCandidates: ['app'] }],
  ])('%s', (target, expected) => {
    const m = model(`http {
  ${groups}
  map $http_x_pool $pool { default app; "s" search; "x" 10.0.0.9:80; }
  split_clients "$remote_addr" $split { 50% app; * nothing; }
  server { location / { proxy_pass ${target}; } }
  upstream later { server 10.0.0.8:80; }
}`);
    expect(m.problems).toEqual([]);
    expect(m.proxyPasses).toHaveLength(1);
    expect(m.proxyPasses[0]).toMatchObject({ target, module: 'http', ...expected });
  });

  it.each([
    ['ftp://app', 'invalid URL prefix in "ftp://app": proxy_pass takes http:// or https://'],
    ['app', 'invalid URL prefix in "app": proxy_pass takes http:// or https://'],
    ['http://app:8080', 'upstream "app" may not have port 8080 in "http://app:8080"'],
    ['http://10.0.0.1:0', 'invalid port "0" in "http://10.0.0.1:0"'],
  ])('refuses %s as nginx does', (target, message) => {
    const m = model(`http {\n  ${groups}\n  server { location / { proxy_pass ${target}; } }\n}`);
    expect(problems(m)).toEqual([`4: ${message}`]);
    expect(m.proxyPasses).toEqual([]);
  });

  it('reports proxy_pass outside a location, and a second proxy_pass in one location', () => {
    const m = model('http {\n  server {\n    proxy_pass http://a;\n    location / {\n      proxy_pass http://a;\n      proxy_pass http://b;\n    }\n  }\n}\n');
    expect(problems(m)).toEqual([
      '3: "proxy_pass" directive is not allowed here: it belongs in a location',
      '6: "proxy_pass" directive is duplicate (first at /etc/nginx/nginx.conf:5)',
    ]);
  });

  it('names the context of each proxy_pass', () => {
    const m = model(`http { server { listen [::]:443 ssl; server_name a.example b.example;
      location ~ ^/x { location @named { proxy_pass http://h; } }
      location = /y { proxy_pass http://h; } }
      server { proxy_pass_header X; location / { proxy_pass http://h; } } }`);
    expect(m.proxyPasses.map((p) => p.context)).toEqual([
      'server a.example:443 > location ~ ^/x > location @named',
      'server a.example:443 > location = /y',
      'server *:80 > location /',
    ]);
  });
});

describe('map and split_clients', () => {
  it('lists each variable with its distinct values', () => {
    const m = model(`http {
  map $http_upgrade $connection_upgrade { default upgrade; '' close; hostnames; volatile; }
  map $x $no_default { a 1; b 1; }
  split_clients "\${remote_addr}AAA" $source_ip { 33% 10.0.0.210; 33% 10.0.0.211; * 10.0.0.210; }
}`);
    expect(m.problems).toEqual([]);
    expect(m.maps).toEqual([
      { variable: '$connection_upgrade', source: '$http_upgrade', defaultValue: 'upgrade', values: ['upgrade', 'close'], at: { file: FILE, line: 2 } },
      { variable: '$no_default', source: '$x', defaultValue: null, values: ['1'], at: { file: FILE, line: 3 } },
    ]);
    expect(m.splitClients).toEqual([{ variable: '$source_ip', values: ['10.0.0.210', '10.0.0.211'], at: { file: FILE, line: 4 } }]);
  });

  it('reports malformed entries', () => {
    const m = model('http {\n  map $a { x 1; }\n  map $a $b { x; }\n  split_clients "x" $v { 50%; }\n}\n');
    expect(problems(m)).toEqual([
      '2: invalid number of arguments in "map" directive: it takes a source and a $variable',
      '3: a map entry takes a key and one value',
      '4: a split_clients entry takes a percentage (or "*") and one value',
    ]);
  });
});

describe('stream {}', () => {
  it('reads stream groups and proxy_pass (tcp and udp), proxy_bind inherited from the stream level', () => {
    const m = model(`stream {
  proxy_bind 10.0.0.210;
  upstream db { server 10.0.0.20:5432; server db2.internal:5432 weight=2; }
  upstream dns { server 10.0.0.53:53; }
  server { listen 5432; proxy_pass db; }
  server { listen 53 udp; proxy_bind off; proxy_pass dns; }
  server { listen 6000; proxy_pass 10.0.0.30:6000; }
  server { listen 6001; proxy_pass $target; }
}
http { upstream db { server 10.0.0.99:80; } }`);
    expect(m.problems).toEqual([]);
    expect(m.upstreams.map((u) => [u.name, u.module, u.servers.map((s) => `${s.host}:${s.port}`)])).toEqual([
      ['db', 'http', ['10.0.0.99:80']],
      ['db', 'stream', ['10.0.0.20:5432', 'db2.internal:5432']],
      ['dns', 'stream', ['10.0.0.53:53']],
    ]);
    expect(m.proxyPasses.map((p) => [p.context, p.module, p.scheme, p.upstream, p.host, p.port, p.bind, p.hasVariables, p.httpVersion, p.connectionHeader])).toEqual([
      ['stream server *:5432', 'stream', 'tcp', 'db', null, null, '10.0.0.210', false, null, null],
      ['stream server *:53 udp', 'stream', 'udp', 'dns', null, null, null, false, null, null],
      ['stream server *:6000', 'stream', 'tcp', null, '10.0.0.30', 6000, '10.0.0.210', false, null, null],
      ['stream server *:6001', 'stream', 'tcp', null, null, null, '10.0.0.210', true, null, null],
    ]);
  });

  it('refuses a stream server or proxy_pass without a port', () => {
    const m = model('stream {\n  upstream u { server 10.0.0.1; server 10.0.0.2:5; }\n  server { listen 1; proxy_pass 10.0.0.3; }\n}\n');
    expect(problems(m)).toEqual(['2: no port in upstream "u" server "10.0.0.1"', '3: no port in "10.0.0.3" and no upstream group of that name']);
    expect(m.upstreams[0]!.servers.map((s) => s.port)).toEqual([null, 5]);
  });
});

it('keeps the problems it was given (parse and include problems) ahead of its own', () => {
  const m = extractModel({ directives: parseConfig('http { upstream u { } }', FILE).directives, files: [FILE, '/x'], problems: [{ file: '/x', line: 3, message: 'from the parser' }] });
  expect(m.files).toEqual([FILE, '/x']);
  expect(m.problems.map((p) => p.message)).toEqual(['from the parser', 'no servers are inside upstream "u"']);
});
