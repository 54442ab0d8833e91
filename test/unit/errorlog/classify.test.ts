import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimeZone, type TimeZone } from '../../../agent/core/timeZone.js';
import { classifyLine, escapeUntrusted, normaliseDestination, TimeMemo } from '../../../agent/errorlog/parse/classify.js';

const T = '2026/11/21 08:43:53';
const TAIL = (upstream: string): string => `, client: 10.1.1.1, server: example.com, request: "GET /api HTTP/1.1", upstream: "${upstream}", host: "example.com"`;
/** ngx_stream_log_error() + ngx_stream_proxy_log_error(): `[udp ]client`, the listen address, the peer without a scheme, the byte counts. */
const STREAM = (upstream: string | null, udp = false): string =>
  `, ${udp ? 'udp ' : ''}client: 10.1.1.1, server: 0.0.0.0:5432${upstream === null ? '' : `, upstream: "${upstream}"`}, bytes from/to client:0/0, bytes from/to upstream:0/0`;
/** A request with no upstream field yet (the resolver runs before a peer is chosen). */
const NO_PEER = ', client: 10.1.1.1, server: example.com, request: "GET /api HTTP/1.1", host: "example.com"';

describe('classifyLine: the lines that matter', () => {
  it.each([
    [`${T} [crit] 12913#12913: *2 connect() to 127.0.0.2:9000 failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://127.0.0.2:9000/')}`, 'eaddrnotavail', 99, '127.0.0.2:9000', 'crit'],
    [`${T} [crit] 7#7: *9 connect() to [2001:DB8::5]:8080 failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://[2001:db8::5]:8080/')}`, 'eaddrnotavail', 99, '[2001:db8::5]:8080', 'crit'],
    [`${T} [error] 7#7: *3 connect() failed (111: Connection refused) while connecting to upstream${TAIL('http://10.0.0.5:8080/api')}`, 'econnrefused', 111, '10.0.0.5:8080', 'error'],
    [`${T} [error] 7#7: *3 connect() to 10.0.0.5:8080 failed (111: Connection refused) while connecting to upstream${TAIL('http://10.0.0.5:8080/api')}`, 'econnrefused', 111, '10.0.0.5:8080', 'error'],
    [`${T} [error] 7#7: *4 upstream timed out (110: Connection timed out) while connecting to upstream${TAIL('http://10.0.0.6:80/')}`, 'etimedout_connect', 110, '10.0.0.6:80', 'error'],
    [`${T} [error] 7#7: *4 upstream timed out (110: Connection timed out) while reading response header from upstream${TAIL('http://10.0.0.6:80/slow')}`, 'upstream_timeout_read', 110, '10.0.0.6:80', 'error'],
    [`${T} [alert] 7#7: *5 socket() failed (24: Too many open files) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, 'emfile', 24, '10.0.0.5:8080', 'alert'],
    [`${T} [crit] 7#7: accept4() failed (24: Too many open files)`, 'emfile', 24, null, 'crit'],
    [`${T} [crit] 7#7: accept4() failed (23: Too many open files in system)`, 'enfile', 23, null, 'crit'],
    [`${T} [alert] 7#7: *6 4096 worker_connections are not enough while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, 'worker_connections', null, '10.0.0.5:8080', 'alert'],
    [`${T} [alert] 7#7: 1024 worker_connections are not enough`, 'worker_connections', null, null, 'alert'],
    [`${T} [error] 7#7: *7 no live upstreams while connecting to upstream${TAIL('http://backend/api')}`, 'no_live_upstreams', null, null, 'error'],
    [`${T} [crit] 7#7: *8 bind(10.0.0.210) failed (98: Address already in use) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, 'eaddrinuse', 98, '10.0.0.5:8080', 'crit'],
    [`${T} [error] 7#7: *9 recv() failed (104: Connection reset by peer) while reading response header from upstream${TAIL('http://[::1]:9000/')}`, 'econnreset', 104, '[::1]:9000', 'error'],
    [`${T} [error] 7#7: *10 connect() to unix:/run/php/php-fpm.sock failed (11: Resource temporarily unavailable) while connecting to upstream${TAIL('fastcgi://unix:/run/php/php-fpm.sock:')}`, 'other', 11, 'unix:/run/php/php-fpm.sock', 'error'],
    [`${T} [error] 7#7: *11 connect() failed (111: Connection refused) while connecting to upstream${TAIL('http://unix:/run/app.sock:/api')}`, 'econnrefused', 111, 'unix:/run/app.sock', 'error'],
    [`${T} [error] 7#7: *12 open() "/usr/share/nginx/html/x" failed (2: No such file or directory), client: 1.2.3.4, server: , request: "GET /x HTTP/1.1", host: "h"`, 'other', 2, null, 'error'],
    [`${T} [notice] 1#1: signal process started`, 'other', null, null, 'notice'],
    // Stream (TCP and UDP): the peer has no scheme and no URI.
    [`${T} [error] 7#7: *13 connect() failed (111: Connection refused) while connecting to upstream${STREAM('10.0.1.20:5432')}`, 'econnrefused', 111, '10.0.1.20:5432', 'error'],
    [`${T} [error] 7#7: *13 connect() to 10.0.1.20:5432 failed (111: Connection refused) while connecting to upstream${STREAM('10.0.1.20:5432')}`, 'econnrefused', 111, '10.0.1.20:5432', 'error'],
    [`${T} [error] 7#7: *14 upstream timed out (110: Connection timed out) while connecting to upstream${STREAM('[2001:db8::7]:5432')}`, 'etimedout_connect', 110, '[2001:db8::7]:5432', 'error'],
    [`${T} [error] 7#7: *15 recv() failed (111: Connection refused) while proxying and reading from upstream${STREAM('10.0.1.53:53', true)}`, 'econnrefused', 111, '10.0.1.53:53', 'error'],
    [`${T} [error] 7#7: *16 upstream timed out (110: Connection timed out) while proxying connection${STREAM('10.0.1.53:53', true)}`, 'upstream_timeout_read', 110, '10.0.1.53:53', 'error'],
    [`${T} [error] 7#7: *17 connect() failed (111: Connection refused) while connecting to upstream${STREAM('unix:/run/pg.sock')}`, 'econnrefused', 111, 'unix:/run/pg.sock', 'error'],
    [`${T} [crit] 7#7: *18 connect() to 10.0.1.20:5432 failed (99: Cannot assign requested address) while connecting to upstream${STREAM('10.0.1.20:5432')}`, 'eaddrnotavail', 99, '10.0.1.20:5432', 'crit'],
    [`${T} [error] 7#7: *19 no live upstreams while connecting to upstream${STREAM('pg')}`, 'no_live_upstreams', null, null, 'error'],
    [`${T} [info] 7#7: *20 connection timed out (110: Connection timed out) while proxying connection${STREAM('10.0.1.20:5432')}`, 'other', 110, '10.0.1.20:5432', 'info'],
    // IPv4-mapped peers are the IPv4 destination (ngx_inet6_ntop writes ::ffff:a.b.c.d).
    [`${T} [crit] 7#7: *21 connect() to [::ffff:127.0.0.2]:9000 failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://[::ffff:127.0.0.2]:9000/')}`, 'eaddrnotavail', 99, '127.0.0.2:9000', 'crit'],
    [`${T} [error] 7#7: *22 connect() failed (111: Connection refused) while connecting to upstream${TAIL('http://[::ffff:10.0.0.5]:8080/api')}`, 'econnrefused', 111, '10.0.0.5:8080', 'error'],
    // The resolver: DNS, not an upstream connection (no destination).
    [`${T} [error] 7#7: *23 backend.internal could not be resolved (110: Operation timed out)${NO_PEER}`, 'resolver', 110, null, 'error'],
    [`${T} [error] 7#7: *24 backend.internal could not be resolved (3: Host not found)${NO_PEER}`, 'resolver', 3, null, 'error'],
    [`${T} [error] 7#7: *25 pg.internal could not be resolved (2: Server failure)${STREAM(null)}`, 'resolver', 2, null, 'error'],
    [`${T} [error] 7#7: send() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:53`, 'resolver', 111, null, 'error'],
    [`${T} [error] 7#7: recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:5353`, 'resolver', 111, null, 'error'],
    [`${T} [crit] 7#7: connect() failed (99: Cannot assign requested address) while resolving, resolver: 10.0.0.2:53`, 'resolver', 99, null, 'crit'],
    [`${T} [error] 7#7: connect() to 10.0.0.2:53 failed (111: Connection refused) while resolving, resolver: 10.0.0.2:53`, 'resolver', 111, null, 'error'],
    [`${T} [error] 7#7: *26 no resolver defined to resolve backend.internal${NO_PEER}`, 'resolver', null, null, 'error'],
    [`${T} [error] 7#7: DNS error (3: Host not found), query id:4711, name:"gone.internal"`, 'resolver', 3, null, 'error'],
    [`${T} [error] 7#7: invalid UDP DNS response 4711 fl:8180`, 'resolver', null, null, 'error'],
    [`${T} [error] 7#7: backend.internal could not be resolved (110: Operation timed out) while resolving service http of backend.internal`, 'resolver', 110, null, 'error'],
    // proxy_bind: an address the host does not have (99) is a misconfiguration, not exhaustion.
    [`${T} [crit] 7#7: *27 bind(192.0.2.250) failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, 'proxy_bind_unavailable', 99, '10.0.0.5:8080', 'crit'],
    [`${T} [crit] 7#7: *28 bind(192.0.2.250) failed (99: Cannot assign requested address) while connecting to upstream${STREAM('10.0.1.20:5432')}`, 'proxy_bind_unavailable', 99, '10.0.1.20:5432', 'crit'],
    [`${T} [crit] 7#7: *29 bind(10.0.0.210:5000) failed (98: Address already in use) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, 'eaddrinuse', 98, '10.0.0.5:8080', 'crit'],
    // A listener's bind() is no upstream event.
    [`${T} [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)`, 'other', 98, null, 'emerg'],
    [`${T} [emerg] 1#1: bind() to [::]:443 failed (99: Cannot assign requested address)`, 'other', 99, null, 'emerg'],
    [`${T} [crit] 7#7: *30 bind(10.0.0.210) failed (13: Permission denied) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, 'other', 13, '10.0.0.5:8080', 'crit'],
    // Unreachable networks and hosts, immediate and asynchronous.
    [`${T} [error] 7#7: *31 connect() to 10.99.0.5:80 failed (101: Network is unreachable) while connecting to upstream${TAIL('http://10.99.0.5:80/')}`, 'enetunreach', 101, '10.99.0.5:80', 'error'],
    [`${T} [error] 7#7: *32 connect() failed (113: No route to host) while connecting to upstream${TAIL('http://10.0.0.9:80/')}`, 'ehostunreach', 113, '10.0.0.9:80', 'error'],
    [`${T} [error] 7#7: *33 connect() to 10.0.0.9:80 failed (113: No route to host) while connecting to upstream${TAIL('http://10.0.0.9:80/')}`, 'ehostunreach', 113, '10.0.0.9:80', 'error'],
    // TLS to the upstream: a failed handshake, a handshake timeout, and a read timeout are three things.
    [`${T} [error] 7#7: *34 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream${TAIL('https://10.0.0.5:8443/')}`, 'upstream_tls_failed', null, '10.0.0.5:8443', 'error'],
    [`${T} [error] 7#7: *35 peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking to upstream${TAIL('https://10.0.0.5:8443/')}`, 'upstream_tls_failed', 104, '10.0.0.5:8443', 'error'],
    [`${T} [error] 7#7: *36 upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream${TAIL('https://10.0.0.5:8443/')}`, 'upstream_tls_failed', null, '10.0.0.5:8443', 'error'],
    [`${T} [error] 7#7: *37 upstream timed out (110: Connection timed out) while SSL handshaking to upstream${TAIL('https://10.0.0.5:8443/')}`, 'upstream_tls_timeout', 110, '10.0.0.5:8443', 'error'],
    [`${T} [error] 7#7: *38 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream${STREAM('10.0.1.20:5432')}`, 'upstream_tls_failed', null, '10.0.1.20:5432', 'error'],
    // A client's slowness or TLS is not an upstream's.
    [`${T} [info] 7#7: *39 client timed out (110: Connection timed out) while reading client request headers, client: 10.1.1.1, server: 0.0.0.0:8080`, 'other', 110, null, 'info'],
    [`${T} [info] 7#7: *40 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 10.1.1.1, server: 0.0.0.0:443`, 'other', null, null, 'info'],
    [`${T} [error] 7#7: *41 readv() failed (110: Connection timed out) while reading upstream${TAIL('http://10.0.0.6:80/')}`, 'upstream_timeout_read', 110, '10.0.0.6:80', 'error'],
  ])('%s', (line, kind, errno, destination, level) => {
    const r = classifyLine(line);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).toMatchObject({ kind, errno, destination, level });
  });

  it.each([
    [`${T} [error] 7#7: *7 no live upstreams while connecting to upstream${TAIL('http://backend/api')}`, 'backend'],
    [`${T} [error] 7#7: *7 no live upstreams while connecting to upstream${TAIL('https://api_v2.internal/')}`, 'api_v2.internal'],
    [`${T} [error] 7#7: *7 no live upstreams while connecting to upstream, client: 10.1.1.1, server: example.com, request: "GET / HTTP/1.1", upstream: "fastcgi://php", host: "h"`, 'php'],
    [`${T} [error] 7#7: *19 no live upstreams while connecting to upstream${STREAM('pg')}`, 'pg'],
    [`${T} [error] 7#7: *19 no live upstreams while connecting to upstream${STREAM('pg', true)}`, 'pg'],
    // A look-alike field from the client makes the line ambiguous: no group.
    [`${T} [error] 7#7: *7 no live upstreams while connecting to upstream, client: 1.2.3.4, server: s, request: "GET /, upstream: "http://evil/" HTTP/1.1", upstream: "http://backend/", host: "h"`, null],
  ])('names the upstream group of a "no live upstreams" line: %s', (line, group) => {
    expect(classifyLine(line)).toMatchObject({ ok: true, event: { kind: 'no_live_upstreams', destination: null, upstreamGroup: group } });
  });

  it.each([
    [`${T} [crit] 7#7: *27 bind(192.0.2.250) failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, '192.0.2.250'],
    [`${T} [crit] 7#7: *29 bind(10.0.0.210:5000) failed (98: Address already in use) while connecting to upstream${TAIL('http://10.0.0.5:8080/')}`, '10.0.0.210:5000'],
    [`${T} [crit] 7#7: *29 bind([2001:db8::250]) failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://[2001:db8::5]:80/')}`, '[2001:db8::250]'],
    [`${T} [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)`, null],
  ])('names the proxy_bind address of a bind() line: %s', (line, address) => {
    expect(classifyLine(line)).toMatchObject({ ok: true, event: { bindAddress: address } });
  });

  it('reads the time, pid, tid, connection id and server', () => {
    const r = classifyLine(`${T} [crit] 12913#12914: *2 connect() to 127.0.0.2:9000 failed (99: Cannot assign requested address) while connecting to upstream${TAIL('http://127.0.0.2:9000/')}`);
    expect(r).toMatchObject({
      ok: true,
      event: { time: T, timeMs: new Date(2026, 10, 21, 8, 43, 53).getTime(), pid: 12913, tid: 12914, connectionId: 2, server: 'example.com' },
    });
    const noConn = classifyLine(`${T} [crit] 7#7: accept4() failed (24: Too many open files)`);
    expect(noConn).toMatchObject({ ok: true, event: { connectionId: null, server: null } });
  });

  it('classifies every line of the captured error log as eaddrnotavail to 127.0.0.2:9000', () => {
    const lines = readFileSync(new URL('../../fixtures/real-tw-exhaustion/error.log', import.meta.url), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(40);
    for (const line of lines) expect(classifyLine(line)).toMatchObject({ ok: true, event: { kind: 'eaddrnotavail', destination: '127.0.0.2:9000' } });
  });

  it('never lets a client choose the destination through a look-alike upstream field', () => {
    const spoofed = `${T} [error] 7#7: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET /, upstream: "http://6.6.6.6:66/" HTTP/1.1", upstream: "http://10.0.0.5:80/", host: "h"`;
    expect(classifyLine(spoofed)).toMatchObject({ ok: true, event: { kind: 'econnrefused', destination: null } });
    const viaHost = `${T} [error] 7#7: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://10.0.0.5:80/", host: "x, upstream: "http://6.6.6.6:66/"`;
    expect(classifyLine(viaHost)).toMatchObject({ ok: true, event: { destination: null } });
  });

  it('does not take a destination from the client-controlled request line when nginx names one', () => {
    const line = `${T} [crit] 7#7: *2 connect() to 10.0.0.5:80 failed (99: Cannot assign requested address) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET /, upstream: \\"http://6.6.6.6:66/\\" HTTP/1.1", upstream: "http://10.0.0.5:80/", host: "h"`;
    expect(classifyLine(line)).toMatchObject({ ok: true, event: { destination: '10.0.0.5:80' } });
  });
});

describe('lines that are not nginx error-log entries', () => {
  it.each([[''], ['garbage'], ['2026/11/21 [crit] x'], ['2026/11/21 08:43:53 [loud] 1#1: x'], ['\u0000\u0001\ufffd binary'], ['\u001b[31mred\u001b[0m']])('%j is unparsed', (line) => {
    expect(classifyLine(line)).toEqual({ ok: false });
  });

  it('never throws, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.boolean(), (s, prefixed) => {
        const line = prefixed ? `${T} [error] 1#1: *1 ${s}` : s;
        const r = classifyLine(line);
        if (prefixed) expect(r.ok).toBe(true);
      }),
    );
  });
});

describe('normaliseDestination', () => {
  it.each([
    ['10.0.0.5:8080', '10.0.0.5:8080'],
    ['[::1]:9000', '[::1]:9000'],
    ['[FE80::1]:80', '[fe80::1]:80'],
    ['[::ffff:127.0.0.2]:9000', '127.0.0.2:9000'],
    ['[::FFFF:10.0.0.1]:443', '10.0.0.1:443'],
    ['[::ffff:7f00:2]:9000', '[::ffff:7f00:2]:9000'],
    ['unix:/run/a.sock', 'unix:/run/a.sock'],
    ['backend', null],
    ['example.com:80', null],
    ['unix:', null],
  ])('%s → %s', (text, expected) => {
    expect(normaliseDestination(text)).toBe(expected);
  });
});

describe('escapeUntrusted', () => {
  it.each([
    ['GET / HTTP/1.1', 'GET / HTTP/1.1'],
    ['\u001b[31mred\u001b[0m', '\\x1b[31mred\\x1b[0m'],
    ['a\u0000b\u007fc\u009bd', 'a\\x00b\\x7fc\\x9bd'],
    ['back\\slash', 'back\\\\slash'],
    ['new\nline\r', 'new\\x0aline\\x0d'],
    ['ünïcode ✓', 'ünïcode ✓'],
  ])('%j → %j', (input, expected) => {
    expect(escapeUntrusted(input)).toBe(expected);
  });
  it('cuts a value at the length limit and marks the cut with …', () => {
    expect(escapeUntrusted('x'.repeat(1000), 10)).toBe(`${'x'.repeat(10)}…`);
  });
  it('leaves no control byte behind (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        // eslint-disable-next-line no-control-regex
        expect(/[\u0000-\u001f\u007f-\u009f]/.test(escapeUntrusted(s, 10_000))).toBe(false);
      }),
    );
  });
});

describe('TimeMemo', () => {
  it('gives the same times as without it, across second and day boundaries', () => {
    const memo = new TimeMemo();
    const times = ['2026/11/21 23:59:58', '2026/11/21 23:59:58', '2026/11/21 23:59:59', '2026/11/22 00:00:00', '2026/11/22 00:00:00', '2026/11/21 23:59:58'];
    for (const t of times) {
      const line = `${t} [crit] 1#1: *1 connect() to 10.0.0.5:80 failed (99: Cannot assign requested address) while connecting to upstream`;
      const a = classifyLine(line, memo);
      const b = classifyLine(line);
      expect(a).toEqual(b);
    }
  });
});

describe('TimeMemo with the error log\'s time zone (--error-log-timezone)', () => {
  const zone = (text: string): TimeZone => parseTimeZone(text) as TimeZone;
  it.each([
    ['Europe/Berlin', '2026/11/21 08:43:53', '2026-11-21T07:43:53.000Z'],
    ['Europe/Berlin', '2026/10/25 02:30:00', '2026-10-25T00:30:00.000Z'], // the repeated hour: the earlier instant
    ['Europe/Berlin', '2026/03/29 02:30:00', '2026-03-29T01:30:00.000Z'], // the skipped hour: the offset before
    ['+05:30', '2026/11/21 08:43:53', '2026-11-21T03:13:53.000Z'],
    ['UTC', '2026/11/21 08:43:53', '2026-11-21T08:43:53.000Z'],
  ])('%s: %s → %s', (z, time, expected) => {
    const memo = new TimeMemo(zone(z));
    const line = `${time} [crit] 1#1: *1 connect() to 10.0.0.5:80 failed (99: Cannot assign requested address) while connecting to upstream`;
    for (let i = 0; i < 2; i++) expect(new Date((classifyLine(line, memo) as { ok: true; event: { timeMs: number } }).event.timeMs).toISOString()).toBe(expected);
  });
});
