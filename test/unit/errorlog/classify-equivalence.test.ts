/**
 * classifyLine() reads the head, the errno and the peers by hand and with sticky
 * regular expressions, for speed (`npm run bench:errorlog`). Its behaviour must be
 * exactly that of the plain regular-expression version it replaced, kept here as
 * the reference (as of commit c0fb2ed, extended with each kind since): same result, field for field, on the
 * captured log, on the benchmark's generated log, and on lines built from the
 * fragments where a hand-written parser goes wrong (near-miss heads, long digit
 * runs, Unicode whitespace, missing parentheses, odd schemes…) and on random text.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateErrorLog } from '../../../bench/errorlog/generate.js';
import { classifyInto, classifyLine, newLineFields, normaliseDestination, serverField, TimeMemo, type Classified, type ErrorKind, type Level } from '../../../agent/errorlog/parse/classify.js';

// --- the reference: the regular-expression classifier, verbatim --------------------

const HEAD = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): (?:\*(\d+) )?/;
const ERRNO = /\((\d{1,4}): [^)]*\)/;
const CONNECT_TO = /^connect\(\) to (\S+) failed/;
const BIND = /^bind\(([^()\s]+)\) failed/;
const BY_ERRNO: Record<number, ErrorKind> = {
  99: 'eaddrnotavail',
  111: 'econnrefused',
  113: 'ehostunreach',
  101: 'enetunreach',
  24: 'emfile',
  23: 'enfile',
  98: 'eaddrinuse',
  104: 'econnreset',
};

function refNormaliseDestination(text: string): string | null {
  if (text.startsWith('unix:')) return text.length > 5 ? text : null;
  const mapped = /^\[::ffff:(\d{1,3}(?:\.\d{1,3}){3})\]:(\d{1,5})$/i.exec(text);
  if (mapped) return `${mapped[1]!}:${mapped[2]!}`;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text);
  if (v6) return `[${v6[1]!.toLowerCase()}]:${v6[2]!}`;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (v4) return `${v4[1]!}:${v4[2]!}`;
  return null;
}

/** The value of the one upstream field, and whether an http scheme was skipped; null without exactly one. */
function refUpstreamValue(tail: string): { after: string; scheme: boolean } | null {
  const i = tail.indexOf(', upstream: "');
  // Changed with the implementation: a second upstream field makes the line ambiguous.
  if (i < 0 || tail.includes(', upstream: "', i + 1)) return null;
  const rest = tail.slice(i + ', upstream: "'.length);
  const scheme = /^[a-z]+:\/\//.exec(rest);
  return scheme ? { after: rest.slice(scheme[0].length), scheme: true } : { after: rest, scheme: false };
}

function refUpstreamPeer(tail: string): string | null {
  const v = refUpstreamValue(tail);
  if (v === null) return null;
  const { after } = v;
  if (after.startsWith('unix:')) {
    const end = after.indexOf(v.scheme ? ':' : '"', 5);
    return refNormaliseDestination(end < 0 ? after : after.slice(0, end));
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]:\d{1,5}|[\d.]+:\d{1,5})/.exec(after);
  return m ? refNormaliseDestination(m[1]!) : null;
}

function refUpstreamGroup(tail: string): string | null {
  const v = refUpstreamValue(tail);
  return v === null ? null : (/^([A-Za-z0-9_.-]+)[/"?]/.exec(v.after)?.[1] ?? null);
}

function refServerField(tail: string): string | null {
  const m = /, server: ([^,]*)/.exec(tail);
  return m ? m[1]! : null;
}

function refKind(message: string, errno: number | null, errnoAt: number, connection: boolean): ErrorKind {
  if (errno === null) {
    if (/worker_connections are not enough/.test(message)) return 'worker_connections';
    if (/^no live upstreams/.test(message)) return 'no_live_upstreams';
    if (/^no resolver defined to resolve /.test(message)) return 'resolver';
    const action = / while ([\s\S]*)$/.exec(message)?.[1];
    if (!connection && (action?.startsWith('resolving') === true || / DNS response/.test(message))) return 'resolver';
    return action?.startsWith('SSL handshaking to upstream') === true ? 'upstream_tls_failed' : 'other';
  }
  if (/^bind\(\) to /.test(message)) return 'other';
  if (/^bind\(/.test(message)) return errno === 99 ? 'proxy_bind_unavailable' : errno === 98 ? 'eaddrinuse' : 'other';
  const action = /^\([^)]*\) while ([\s\S]*)$/.exec(message.slice(errnoAt))?.[1];
  if (/ could not be resolved $/.test(message.slice(0, errnoAt))) return 'resolver';
  if (!connection && (action?.startsWith('resolving') === true || /^DNS error \(/.test(message))) return 'resolver';
  const tls = action?.startsWith('SSL handshaking to upstream') === true;
  if (errno === 110) {
    if (action?.startsWith('connecting to upstream') === true) return 'etimedout_connect';
    if (tls) return 'upstream_tls_timeout';
    return /^upstream timed out/.test(message) || action?.includes('upstream') === true ? 'upstream_timeout_read' : 'other';
  }
  if ([99, 111, 113, 101].includes(errno)) return BY_ERRNO[errno]!;
  if (tls) return 'upstream_tls_failed';
  return BY_ERRNO[errno] ?? 'other';
}

function reference(line: string): Classified {
  const head = HEAD.exec(line);
  if (!head) return { ok: false };
  const [, y, mo, d, h, mi, s, level, pid, tid, cid] = head;
  const body = line.slice(head[0].length);
  const cut = (/, client: /.exec(body) ?? /, udp client: /.exec(body))?.index ?? -1;
  const message = cut < 0 ? body : body.slice(0, cut);
  const tail = cut < 0 ? '' : body.slice(cut);
  const errnoMatch = ERRNO.exec(message);
  const errno = errnoMatch ? Number(errnoMatch[1]) : null;
  const kind = refKind(message, errno, errnoMatch?.index ?? -1, cid !== undefined);
  const connectTo = CONNECT_TO.exec(message);
  const named = kind !== 'resolver' && kind !== 'no_live_upstreams';
  const destination = named ? ((connectTo ? refNormaliseDestination(connectTo[1]!) : null) ?? refUpstreamPeer(tail)) : null;
  const bindAddress = kind === 'proxy_bind_unavailable' || kind === 'eaddrinuse' || kind === 'other' ? (BIND.exec(message)?.[1] ?? null) : null;
  return {
    ok: true,
    event: {
      time: `${y!}/${mo!}/${d!} ${h!}:${mi!}:${s!}`,
      timeMs: new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime(),
      level: level as Level,
      connection: cid !== undefined,
      pid: Number(pid),
      tid: Number(tid),
      connectionId: cid === undefined ? null : Number(cid),
      kind,
      errno,
      destination,
      upstreamGroup: kind === 'no_live_upstreams' ? refUpstreamGroup(tail) : null,
      bindAddress,
      server: refServerField(tail),
      message,
    },
  };
}

// --- fragments ---------------------------------------------------------------------

const HEADS = [
  '2026/11/21 08:43:53 [crit] 12913#12913: *2 ',
  '2026/11/21 08:43:53 [error] 7#7: ',
  '2026/11/21 08:43:53 [emerg] 1#1: *0 ',
  '0000/00/00 00:00:00 [debug] 0#0: *00 ',
  '9999/99/99 99:99:99 [notice] 99999999999999999999#123456789012345678: *1234567890123456789 ',
  '2026/02/30 24:61:61 [warn] 3#4: ',
  '2026/11/21 08:43:53 [info] 3#4: *',
  '2026/11/21 08:43:53 [alert] 3#4: *12',
  '2026/11/21 08:43:53 [alert] 3#4: *12x ',
  '2026/11/21 08:43:53 [alert] 3#4: * ',
  '2026/11/21 08:43:53 [alert] 3#4: **1 ',
  '2026/11/21 08:43:53 [alert] 3#4:',
  '2026/11/21 08:43:53 [alert] 3#4 ',
  '2026/11/21 08:43:53 [alert] #4: ',
  '2026/11/21 08:43:53 [alert] 3#: ',
  '2026/11/21 08:43:53 [errors] 3#4: ',
  '2026/11/21 08:43:53 [emergency] 3#4: ',
  '2026/11/21 08:43:53 [Crit] 3#4: ',
  '2026/11/21 08:43:53 [crit]3#4: ',
  '2026/11/21 08:43:53  [crit] 3#4: ',
  '2026/11/21 08:43:5 [crit] 3#4: ',
  '2026-11-21 08:43:53 [crit] 3#4: ',
  '２026/11/21 08:43:53 [crit] 3#4: ',
  ' 2026/11/21 08:43:53 [crit] 3#4: ',
  '2026/11/21 08:43:53 [',
  '2026/11/21 08:43:53 [er',
  '2026/11/21 08:43:53 [debu] 3#4: ',
  '2026/11/21 08:43:53 [warn]',
  '2026/11/21 08:43:53 [warn] 3#4:\t',
  '2026/11/21 08:43:53 [emerg] 3#4: *7\t',
  '2026/11/21 08:43:53 [notice] 3##4: ',
  '',
];
const PEERS = [
  '10.0.0.5:8080',
  '127.0.0.2:9000',
  '[2001:DB8::5]:8080',
  '[fe80::1%eth0]:80',
  '[::FFFF:10.0.0.1]:443',
  'unix:/run/php/php-fpm.sock',
  'unix:',
  'unix::',
  'backend',
  'example.com:80',
  '1234.1.1.1:80',
  '10.0.0.5:808012',
  '10.0.0.5',
  '10.0.0.5:',
  '1.2.3:80',
  '10.0.0.5.6:80',
  '[::ffff:127.0.0.2]:9000',
  '[::FFFF:10.0.0.1]:80',
  '[::ffff:1.2.3]:80',
  '[::ffff:7f00:2]:9000',
  'backend',
  'backend/',
  'back end/',
];
const MESSAGE_PARTS = [
  'connect() to ',
  'connect() failed ',
  ' failed',
  ' failed ',
  '\tfailed',
  '\u00a0failed',
  '\u2028',
  '\ufeff',
  // Every other /\s/ character, and three that are not (U+0085, U+180E, U+200B).
  '\u000b\u000c\r\n',
  '\u1680',
  '\u2000',
  '\u200a',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\u0085',
  '\u180e',
  '\u200b',
  '(99: Cannot assign requested address)',
  '(111: Connection refused)',
  '(110: Connection timed out)',
  '(24: Too many open files)',
  '(23: x)',
  '(98: y)',
  '(104: z)',
  '(12345: too many digits)',
  '(99:no space)',
  '(99: no close',
  '(0: )',
  '(',
  ')',
  '((99: x)',
  ' while connecting to upstream',
  ' while reading response header from upstream',
  'upstream timed out ',
  '4096 worker_connections are not enough',
  'worker_connections are not enough',
  'no live upstreams',
  ' no live upstreams',
  'socket() failed ',
  'bind(10.0.0.210) failed ',
  'ünïcode ✓ 日本',
  '\u0000',
  ' while resolving',
  ', resolver: 127.0.0.1:53',
  'backend.internal could not be resolved ',
  ' could not be resolved (110: Operation timed out)',
  '(3: Host not found)',
  'no resolver defined to resolve ',
  'DNS error (',
  ' DNS response',
  'send() failed ',
  'bind() to 0.0.0.0:80 failed ',
  'bind(',
  'bind(192.0.2.250) failed (99: Cannot assign requested address)',
  ') failed',
  ' while SSL handshaking to upstream',
  ' while SSL handshaking',
  'SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number)',
  '(113: No route to host)',
  '(101: Network is unreachable)',
  'client timed out ',
  ' while ',
];
const TAIL_PARTS = [
  ', client: 10.1.1.1',
  ', client: ',
  ', udp client: ',
  ' udp client: ',
  ', udp',
  ', server: example.com',
  ', server: ',
  ', server: a,b',
  ', request: "GET /api HTTP/1.1"',
  ', request: "GET /, upstream: \\"http://6.6.6.6:66/\\" HTTP/1.1"',
  ', upstream: "',
  'http://',
  'https://',
  'fastcgi://',
  'HTTP://',
  'grpc://',
  'http:/',
  '://',
  ':',
  '/uri?x=1',
  '"',
  ', host: "example.com"',
  ', upstream: "10.0.1.20:5432", bytes from/to client:0/0, bytes from/to upstream:0/0',
  ', upstream: "unix:/run/pg.sock"',
  'backend/',
  'backend"',
  '?x',
];

const line = fc
  .tuple(
    fc.constantFrom(...HEADS),
    fc.array(fc.oneof(fc.constantFrom(...MESSAGE_PARTS), fc.constantFrom(...PEERS), fc.string({ maxLength: 6 })), { maxLength: 8 }),
    fc.array(fc.oneof(fc.constantFrom(...TAIL_PARTS), fc.constantFrom(...PEERS), fc.string({ maxLength: 6 })), { maxLength: 10 }),
  )
  .map(([head, message, tail]) => head + message.join('') + tail.join(''));

describe('classifyLine = the regular-expression classifier it replaced', () => {
  it('on the captured log', () => {
    const lines = readFileSync(new URL('../../fixtures/real-tw-exhaustion/error.log', import.meta.url), 'utf8').split('\n');
    for (const l of lines) expect(classifyLine(l)).toEqual(reference(l));
  });

  it("on the benchmark's generated log (every kind, IPv6, unix sockets, cut lines)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'classify-eq-'));
    try {
      const file = join(dir, 'error.log');
      generateErrorLog(file, { lines: 30_000, seed: 7 });
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.length).toBeGreaterThan(30_000);
      let differ = 0;
      for (const l of lines) {
        const got = classifyLine(l);
        const want = reference(l);
        if (differ < 5 && JSON.stringify(got) !== JSON.stringify(want)) {
          differ++;
          expect({ line: l, got }).toEqual({ line: l, got: want });
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on lines built from tricky fragments (property)', () => {
    fc.assert(
      fc.property(line, (l) => {
        expect(classifyLine(l)).toEqual(reference(l));
      }),
      { numRuns: 20_000 },
    );
  });

  it('on random text, with and without a valid head (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('', ...HEADS), (s, head) => {
        const l = head + s;
        expect(classifyLine(l)).toEqual(reference(l));
      }),
      { numRuns: 5_000 },
    );
  });

  it('normaliseDestination on peers and random text (property)', () => {
    for (const p of PEERS) expect(normaliseDestination(p)).toBe(refNormaliseDestination(p));
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...PEERS), fc.string({ unit: 'binary', maxLength: 40 }), fc.stringMatching(/^\[[0-9A-Fa-f:.]{1,12}\]:\d{1,6}$/)), (p) => {
        expect(normaliseDestination(p)).toBe(refNormaliseDestination(p));
      }),
      { numRuns: 5_000 },
    );
  });
});

// --- the fast entry -------------------------------------------------------------------

/**
 * classifyInto() as the readers use it: one record and one TimeMemo for a whole
 * stream of lines, so a field left from the line before, a remembered time or a
 * remembered peer would show here. Each line's result, with the time and server
 * read back from the line, must be classifyLine()'s with nothing remembered.
 */
function sameAsClassifyLine(lines: readonly string[]): void {
  const fields = newLineFields();
  const memo = new TimeMemo();
  for (const l of lines) {
    const want = classifyLine(l, new TimeMemo());
    const got: Classified = classifyInto(l, fields, memo)
      ? {
          ok: true,
          event: {
            time: l.slice(0, 19),
            timeMs: fields.timeMs,
            level: fields.level,
            connection: fields.connection,
            // The head's numbers are classifyLine's alone (the record does not carry them); `connection` must agree with them.
            ...(want.ok ? { pid: want.event.pid, tid: want.event.tid, connectionId: want.event.connectionId } : { pid: 0, tid: 0, connectionId: null }),
            kind: fields.kind,
            errno: fields.errno,
            destination: fields.destination,
            upstreamGroup: fields.upstreamGroup,
            bindAddress: fields.bindAddress,
            server: serverField(l, fields.tailAt),
            message: fields.message,
          },
        }
      : { ok: false };
    expect({ line: l, result: got }).toEqual({ line: l, result: want });
  }
}

const corpusLines = (name: string): string[] => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8').split('\n');

describe('classifyInto with one record and one memo = classifyLine, line for line', () => {
  it.each(['errorlog-corpus/1.22.log', 'errorlog-corpus/1.30.log', 'real-tw-exhaustion/error.log'])('on %s', (name) => {
    const lines = corpusLines(name);
    expect(lines.length).toBeGreaterThan(10);
    sameAsClassifyLine(lines);
  });

  it("on the benchmark's generated log", () => {
    const dir = mkdtempSync(join(tmpdir(), 'classify-into-'));
    try {
      const file = join(dir, 'error.log');
      generateErrorLog(file, { lines: 20_000, seed: 11 });
      sameAsClassifyLine(readFileSync(file, 'utf8').split('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on streams of lines built from tricky fragments, peers repeating (property)', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 40 }), (ls) => {
        sameAsClassifyLine(ls);
      }),
      { numRuns: 2_000 },
    );
  });

  it('on streams of random text, with and without a valid head (property)', () => {
    const l = fc.tuple(fc.constantFrom('', ...HEADS), fc.string({ unit: 'binary', maxLength: 200 })).map(([h, s]) => h + s);
    fc.assert(
      fc.property(fc.array(l, { minLength: 1, maxLength: 20 }), (ls) => {
        sameAsClassifyLine(ls);
      }),
      { numRuns: 1_000 },
    );
  });

  it('when many peers share slots, and peer texts are prefixes of others', () => {
    const head = '2026/11/21 08:43:53 [crit] 1#1: *2 ';
    const peers = Array.from({ length: 600 }, (_, i) => `10.${i % 7}.${i % 256}.${i % 3}:${8000 + (i % 97)}`);
    const ls = peers.flatMap((p, i) => [
      `${head}connect() to ${p} failed (99: Cannot assign requested address) while connecting to upstream, client: 1.2.3.4, server: s${i}, request: "GET / HTTP/1.1", upstream: "http://${p}/"`,
      `${head}connect() to ${p}0 failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4`,
      `${head}upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: , request: "GET / HTTP/1.1", upstream: "http://${p}/"`,
    ]);
    sameAsClassifyLine([...ls, ...ls.reverse()]);
  });
});
