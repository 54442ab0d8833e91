import { describe, expect, it } from 'vitest';
import { hostsToResolve, mapDestinations, parseDestination } from '../../../agent/nginxconf/model/destinations.js';
import { extractModel } from '../../../agent/nginxconf/model/extract.js';
import type { NginxConfigModel } from '../../../agent/nginxconf/model/types.js';
import { parseConfig } from '../../../agent/nginxconf/parse/parse.js';
import { formatEndpoint } from '../../../agent/core/addresses.js';

function model(text: string): NginxConfigModel {
  const p = parseConfig(text, '/n.conf');
  const m = extractModel({ directives: p.directives, files: ['/n.conf'], problems: p.problems });
  expect(m.problems).toEqual([]);
  return m;
}

const CONF = `http {
  upstream app {
    server 10.0.0.5:8080;
    server 10.0.0.6:8080 backup;
    server app-b.internal:8080;
    keepalive 16;
  }
  upstream v6 { server [2001:db8::5]:443; }
  upstream mapped { server [::ffff:10.0.0.9]:80; }
  upstream also_5 { server 10.0.0.5:8080; }
  upstream web { server localhost; server unix:/run/web.sock; }
  map $http_x $pool { default also_5; }
  server {
    location / { proxy_pass http://app; }
    location /b { proxy_pass http://app/b; }
    location /v6 { proxy_pass https://v6; }
    location /direct { proxy_pass http://10.0.0.7:9000; }
    location /named { proxy_pass http://search.internal:9200; }
    location /default-port { proxy_pass http://10.0.0.7; }
    location /var { proxy_pass http://$pool; }
    location /web { proxy_pass http://web; }
  }
}
stream {
  upstream db { server 10.0.0.20:5432; }
  server { listen 5432; proxy_pass db; }
}`;

const RESOLVED = new Map<string, string[]>([
  ['APP-B.internal', ['10.0.0.8', '::ffff:10.0.0.10']],
  ['search.internal', ['10.0.0.30', '2001:db8::30']],
  ['localhost', ['127.0.0.1', '::1']],
]);

describe('mapDestinations', () => {
  const m = model(CONF);
  const map = (dest: string): ReturnType<typeof mapDestinations>[number] => mapDestinations([dest], m, RESOLVED)[0]!;
  const summary = (dest: string): { upstreams: [string, string[], string[]][]; direct: [string, string][]; unmapped: boolean } => {
    const r = map(dest);
    return {
      upstreams: r.upstreams.map((u) => [u.group.name, u.servers.map((s) => `${s.server.address}/${s.via}`), u.proxyPasses.map((p) => p.context)]),
      direct: r.direct.map((d) => [d.proxyPass.target, d.via]),
      unmapped: r.unmapped,
    };
  };

  it.each<[string, ReturnType<typeof summary>]>([
    [
      '10.0.0.5:8080',
      {
        upstreams: [
          ['app', ['10.0.0.5:8080/address'], ['server *:80 > location /', 'server *:80 > location /b']],
          ['also_5', ['10.0.0.5:8080/address'], ['server *:80 > location /var']],
        ],
        direct: [],
        unmapped: false,
      },
    ],
    ['10.0.0.6:8080', { upstreams: [['app', ['10.0.0.6:8080/address'], ['server *:80 > location /', 'server *:80 > location /b']]], direct: [], unmapped: false }],
    // Through DNS, and through an IPv4-mapped answer shown as IPv4.
    ['10.0.0.8:8080', { upstreams: [['app', ['app-b.internal:8080/dns'], ['server *:80 > location /', 'server *:80 > location /b']]], direct: [], unmapped: false }],
    ['10.0.0.10:8080', { upstreams: [['app', ['app-b.internal:8080/dns'], ['server *:80 > location /', 'server *:80 > location /b']]], direct: [], unmapped: false }],
    ['[2001:db8::5]:443', { upstreams: [['v6', ['[2001:db8::5]:443/address'], ['server *:80 > location /v6']]], direct: [], unmapped: false }],
    // A mapped address in the config is the IPv4 peer the socket model shows.
    ['10.0.0.9:80', { upstreams: [['mapped', ['[::ffff:10.0.0.9]:80/address'], []]], direct: [], unmapped: false }],
    ['10.0.0.7:9000', { upstreams: [], direct: [['http://10.0.0.7:9000', 'address']], unmapped: false }],
    ['10.0.0.7:80', { upstreams: [], direct: [['http://10.0.0.7', 'address']], unmapped: false }],
    ['[2001:db8::30]:9200', { upstreams: [], direct: [['http://search.internal:9200', 'dns']], unmapped: false }],
    ['127.0.0.1:80', { upstreams: [['web', ['localhost/dns'], ['server *:80 > location /web']]], direct: [], unmapped: false }],
    ['10.0.0.20:5432', { upstreams: [['db', ['10.0.0.20:5432/address'], ['stream server *:5432']]], direct: [], unmapped: false }],
    // The right address on the wrong port, and addresses nothing points at.
    ['10.0.0.5:8081', { upstreams: [], direct: [], unmapped: true }],
    ['10.0.0.99:8080', { upstreams: [], direct: [], unmapped: true }],
    ['not-a-destination', { upstreams: [], direct: [], unmapped: true }],
  ])('%s', (dest, expected) => {
    expect(summary(dest)).toEqual(expected);
  });

  it('keeps the order and the text of the destinations given, with their parsed IP and port', () => {
    const r = mapDestinations(['10.0.0.99:1', '[2001:DB8::5]:443', 'x'], m, RESOLVED);
    expect(r.map((x) => [x.destination, x.ip, x.port, x.unmapped])).toEqual([
      ['10.0.0.99:1', '10.0.0.99', 1, true],
      ['[2001:DB8::5]:443', '2001:db8::5', 443, false],
      ['x', null, null, true],
    ]);
  });

  it('maps nothing by name when DNS has no answer for it', () => {
    expect(mapDestinations(['10.0.0.8:8080'], m, new Map())[0]!.unmapped).toBe(true);
  });

  it('reads destinations in the form the socket model prints them', () => {
    for (const [ip, port] of [
      ['10.0.0.5', 8080],
      ['2001:db8::5', 443],
      ['::1', 9000],
    ] as const) {
      expect(parseDestination(formatEndpoint(ip, port))).toEqual({ ip, port });
    }
  });

  it('lists the host names to resolve: not literals, not unix sockets, lower case, once', () => {
    expect(hostsToResolve(m)).toEqual(['app-b.internal', 'localhost', 'search.internal']);
  });
});

it('scales: 2000 destinations against 5000 groups and 5000 locations (indexed once, not scanned per destination)', () => {
  const parts: string[] = ['http {'];
  for (let i = 0; i < 5000; i++) parts.push(`upstream u${i} { server 10.${(i >> 8) & 255}.${i & 255}.1:8080; server 10.${(i >> 8) & 255}.${i & 255}.2:8080; }`);
  parts.push('server {');
  for (let i = 0; i < 5000; i++) parts.push(`location /p${i} { proxy_pass http://u${i}; }`);
  parts.push('} }');
  const m = model(parts.join('\n'));
  const destinations = Array.from({ length: 2000 }, (_v, i) => `10.${(i >> 8) & 255}.${i & 255}.2:8080`);
  const started = performance.now();
  const r = mapDestinations(destinations, m, new Map());
  // A generous bound: the indexed mapping takes milliseconds; a per-destination scan of the model took tens of seconds.
  expect(performance.now() - started).toBeLessThan(5000);
  expect(r.every((x, i) => x.upstreams.length === 1 && x.upstreams[0]!.group.name === `u${i}` && x.upstreams[0]!.proxyPasses.length === 1)).toBe(true);
});
