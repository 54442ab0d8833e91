/**
 * nginx error-log line → classified event. Pure: a line in, a record out; never
 * throws.
 *
 * Format, from ngx_log_error_core() (src/core/ngx_log.c) and
 * ngx_http_log_error() (src/http/ngx_http_request.c):
 *
 *   2026/11/21 08:43:53 [crit] 12913#12913: *2 connect() to 127.0.0.2:9000 failed
 *   (99: Cannot assign requested address) while connecting to upstream, client:
 *   127.0.0.1, server: , request: "GET / HTTP/1.1", upstream:
 *   "http://127.0.0.2:9000/", host: "127.0.0.1:8080"
 *
 * The stream module (ngx_stream_log_error(), ngx_stream_proxy_log_error()) writes
 * `, client: IP, server: LISTEN, upstream: "10.0.1.20:5432", bytes from/to …`:
 * no scheme and no URI in the upstream field, and `, udp client: ` for UDP
 * sessions. The resolver's own lines have no client at all and end
 * `while resolving, resolver: ADDR` (ngx_resolver_log_error()).
 *
 * "*CID " is present when the entry belongs to a connection. The time is nginx's
 * local time (read in the zone a TimeMemo carries). Everything after ", client: "
 * comes from the client (request line, Host header, and the URI inside upstream):
 * it is never used as a label and must be escaped wherever it is shown.
 */
import { LOCAL_ZONE, ZoneClock, type TimeZone } from '../../core/timeZone.js';

export const ERROR_KINDS = [
  'eaddrnotavail',
  'econnrefused',
  'etimedout_connect',
  'ehostunreach',
  'enetunreach',
  'upstream_timeout_read',
  'upstream_tls_failed',
  'upstream_tls_timeout',
  'emfile',
  'enfile',
  'worker_connections',
  'no_live_upstreams',
  'eaddrinuse',
  'proxy_bind_unavailable',
  'econnreset',
  'resolver',
  'other',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The kinds that are a failed attempt to connect to an upstream peer (they count towards its max_fails). */
export const CONNECT_FAILURE_KINDS: readonly ErrorKind[] = ['eaddrnotavail', 'econnrefused', 'etimedout_connect', 'ehostunreach', 'enetunreach'];

export const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
export type Level = (typeof LEVELS)[number];

export interface ErrorLogEvent {
  /** "YYYY/MM/DD HH:MM:SS" as nginx wrote it (its local time). */
  time: string;
  /** The same instant as Unix ms, read in the error log's time zone (the TimeMemo's; the agent's own without one). */
  timeMs: number;
  level: Level;
  pid: number;
  tid: number;
  connectionId: number | null;
  kind: ErrorKind;
  errno: number | null;
  /** `ip:port`, `[v6]:port` or `unix:/path`, as in the socket model; null when the line names none. */
  destination: string | null;
  /** The upstream group a "no live upstreams" line names (`upstream: "http://backend/"` → `backend`); null otherwise. */
  upstreamGroup: string | null;
  /** The proxy_bind address of a `bind(ADDR) failed` line, as nginx wrote it; null otherwise. */
  bindAddress: string | null;
  /** The `server:` field (the server_name that handled the request, or stream's listen address), untrusted. */
  server: string | null;
  /** nginx's own message, up to the client-controlled tail. */
  message: string;
}

export type Classified = { ok: true; event: ErrorLogEvent } | { ok: false };

// "2026/11/21 08:43:53 [crit] 12913#12913: *2 message". classifyLine() runs on
// every line of every tailed log (`npm run bench:errorlog` measures it), so the
// head is recognised by one regular expression without capture groups (sticky:
// test() leaves the end of the match in lastIndex and allocates nothing) and the
// fields are read from their known places; the ten captures, the match array and
// their substrings cost more than twice the match itself. It reads exactly what
//   ^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): (?:\*(\d+) )?
// would capture; test/unit/errorlog/classify-equivalence.test.ts checks that.
const HEAD = /\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[(?:debug|info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?/y;
const TIME_LENGTH = 19; // "2026/11/21 08:43:53"
/** Where the level starts: after the time, a space and "[". */
const LEVEL_AT = TIME_LENGTH + 2;
// After "connect() to ": what /^connect\(\) to (\S+) failed/ captures ends where
// this sticky match ends, less " failed".
const CONNECT_TO_PREFIX = 'connect() to ';
const CONNECT_TO_PEER = /\S+ failed/y;
const FAILED_LENGTH = ' failed'.length;
// `bind(%V) failed` (ngx_event_connect_peer: the proxy_bind address as configured
// or as its variable evaluated). A listener's is `bind() to %V failed`
// (ngx_open_listening_sockets), which the "(" right after "bind" tells apart.
const BIND_PREFIX = 'bind(';
const BIND_ADDRESS = /[^()\s]+\) failed/y;
// In the upstream field, at the position given: the scheme (http only; stream
// writes the peer alone), then the peer.
const UPSTREAM_SCHEME = /[a-z]+:\/\//y;
const UPSTREAM_PEER = /\[[0-9A-Fa-f:.]+\]:\d{1,5}|[\d.]+:\d{1,5}/y;
// The group name "no live upstreams" puts where the peer goes (`pc->name = peers->name`).
const UPSTREAM_GROUP = /[A-Za-z0-9_.-]+/y;
const V4_DESTINATION = /^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/;
const V6_DESTINATION = /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;
const UPSTREAM_FIELD = ', upstream: "';
const SERVER_FIELD = ', server: ';
const CLIENT_FIELD = ', client: ';
/** Stream's UDP sessions (ngx_stream_log_error: `"%sclient: "` with "udp "). */
const UDP_CLIENT_FIELD = ', udp client: ';

/** The kind other errnos name (Linux's numbers, include/uapi/asm-generic/errno*.h). */
function errnoKind(errno: number): ErrorKind {
  switch (errno) {
    case 24: return 'emfile';
    case 23: return 'enfile';
    case 98: return 'eaddrinuse';
    case 104: return 'econnreset';
    default: return connectErrnoKind(errno) ?? 'other';
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The end of the run of ASCII digits starting at `from`. */
function digitsEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** The value of the digits s[from, to): exact below 2^53, as Number() of the same text. */
function digitsValue(s: string, from: number, to: number): number {
  if (to - from > 15) return Number(s.slice(from, to));
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (s.charCodeAt(i) - 0x30);
  return v;
}

/** Two digits at i, i + 1 (already known to be digits). */
function two(s: string, i: number): number {
  return (s.charCodeAt(i) - 0x30) * 10 + s.charCodeAt(i + 1) - 0x30;
}

/** The level of a line HEAD matched: its first letter tells, but for e(rror)/e(merg). */
function levelOf(line: string): Level {
  switch (line.charCodeAt(LEVEL_AT)) {
    case 0x63: return 'crit';
    case 0x65: return line.charCodeAt(LEVEL_AT + 1) === 0x72 ? 'error' : 'emerg';
    case 0x61: return 'alert';
    case 0x77: return 'warn';
    case 0x6e: return 'notice';
    case 0x69: return 'info';
    default: return 'debug';
  }
}

interface Head {
  level: Level;
  pid: number;
  tid: number;
  connectionId: number | null;
  /** Where the message starts. */
  end: number;
}

function parseHead(line: string): Head | null {
  HEAD.lastIndex = 0;
  if (!HEAD.test(line)) return null;
  const end = HEAD.lastIndex;
  const level = levelOf(line);
  // "] PID#TID: " then, if the match went on, "*CID ".
  const pidStart = LEVEL_AT + level.length + 2;
  const pidEnd = digitsEnd(line, pidStart);
  const tidEnd = digitsEnd(line, pidEnd + 1);
  return {
    level,
    pid: digitsValue(line, pidStart, pidEnd),
    tid: digitsValue(line, pidEnd + 1, tidEnd),
    connectionId: end > tidEnd + 2 ? digitsValue(line, tidEnd + 3, end - 1) : null,
    end,
  };
}

/**
 * Where the first "(NNNN: text)" of the message starts (its "("), as
 * /\((\d{1,4}): [^)]*\)/ finds it: 1–4 digits, ": ", and a ")" somewhere after;
 * -1 when there is none.
 */
function errnoOpen(message: string): number {
  let open = message.indexOf('(');
  while (open !== -1) {
    const end = digitsEnd(message, open + 1);
    const n = end - open - 1;
    if (n >= 1 && n <= 4 && message.charCodeAt(end) === 0x3a /* : */ && message.charCodeAt(end + 1) === 0x20) {
      return message.indexOf(')', end + 2) === -1 ? -1 : open; // no ")" after this one, so none after any later "(" either
    }
    open = message.indexOf('(', open + 1);
  }
  return -1;
}

/**
 * The IPv6 text (between the brackets) in the socket model's form: lower case,
 * and an IPv4-mapped address (`::ffff:127.0.0.2`, how ngx_inet6_ntop() writes
 * one) as the IPv4 address it is, as agent/sockets/parse/procNetTcp.ts maps
 * them: one IPv4 and IPv6 port space, one destination.
 */
function v6Destination(inner: string, port: string): string {
  const lower = inner.toLowerCase();
  if (lower.startsWith('::ffff:') && V4_DESTINATION.test(`${lower.slice(7)}:0`)) return `${lower.slice(7)}:${port}`;
  return `[${lower}]:${port}`;
}

/** Normalises nginx's peer text to the socket model's form: `ip:port`, `[v6]:port`, `unix:/path`. */
export function normaliseDestination(text: string): string | null {
  if (text.startsWith('unix:')) return text.length > 5 ? text : null;
  if (V4_DESTINATION.test(text)) return text;
  if (V6_DESTINATION.test(text)) {
    const close = text.lastIndexOf(']');
    return v6Destination(text.slice(1, close), text.slice(close + 2));
  }
  return null;
}

/** The peer text after "connect() to " when the message starts so, as /^connect\(\) to (\S+) failed/ captures it. */
function connectToPeer(message: string): string | null {
  if (!message.startsWith(CONNECT_TO_PREFIX)) return null;
  CONNECT_TO_PEER.lastIndex = CONNECT_TO_PREFIX.length;
  if (!CONNECT_TO_PEER.test(message)) return null;
  return message.slice(CONNECT_TO_PREFIX.length, CONNECT_TO_PEER.lastIndex - FAILED_LENGTH);
}

/** The address in "bind(ADDR) failed" at the start of the message, as /^bind\(([^()\s]+)\) failed/ captures it. */
function bindAddressOf(message: string): string | null {
  if (!message.startsWith(BIND_PREFIX)) return null;
  BIND_ADDRESS.lastIndex = BIND_PREFIX.length;
  if (!BIND_ADDRESS.test(message)) return null;
  return message.slice(BIND_PREFIX.length, BIND_ADDRESS.lastIndex - ') failed'.length);
}

/**
 * Where the value of the one `upstream: "…"` field starts, past an http scheme
 * (`http://10.0.0.5:8080/uri`; stream writes `10.0.1.20:5432`, no scheme), times
 * two, plus one when a scheme was skipped (a number, not an object: this runs on
 * every line); -1 when there is no such field. nginx writes the field once,
 * between the request line and the Host header, both of which the client
 * controls and may fill with a look-alike `, upstream: "…"`. A line with more
 * than one is ambiguous and names no destination: a client can then blank the
 * label, but never choose it.
 */
function upstreamValueAt(tail: string): number {
  const i = tail.indexOf(UPSTREAM_FIELD);
  if (i < 0 || tail.includes(UPSTREAM_FIELD, i + 1)) return -1;
  const start = i + UPSTREAM_FIELD.length;
  UPSTREAM_SCHEME.lastIndex = start;
  return UPSTREAM_SCHEME.test(tail) ? UPSTREAM_SCHEME.lastIndex * 2 + 1 : start * 2;
}

/** The peer of the upstream field (the URI after it is the client's). */
function upstreamPeer(tail: string): string | null {
  const v = upstreamValueAt(tail);
  if (v < 0) return null;
  const at = v >> 1;
  if (tail.startsWith('unix:', at)) {
    // http: "http://unix:/run/app.sock:/uri" (uri_separator); stream: "unix:/run/app.sock" up to the quote.
    const end = tail.indexOf((v & 1) === 1 ? ':' : '"', at + 5);
    return normaliseDestination(end < 0 ? tail.slice(at) : tail.slice(at, end));
  }
  UPSTREAM_PEER.lastIndex = at;
  return UPSTREAM_PEER.test(tail) ? normaliseDestination(tail.slice(at, UPSTREAM_PEER.lastIndex)) : null;
}

/** The group name in the upstream field of a "no live upstreams" line, up to the URI ("/"), or the quote in stream. */
function upstreamGroupOf(tail: string): string | null {
  const v = upstreamValueAt(tail);
  if (v < 0) return null;
  const at = v >> 1;
  UPSTREAM_GROUP.lastIndex = at;
  if (!UPSTREAM_GROUP.test(tail)) return null;
  const end = UPSTREAM_GROUP.lastIndex;
  const next = tail.charCodeAt(end);
  // http: the URI follows ("/…", or nothing: `"`); stream: the closing quote.
  return next === 0x2f /* / */ || next === 0x22 /* " */ || next === 0x3f /* ? */ ? tail.slice(at, end) : null;
}

/** What /, server: ([^,]*)/ captures: after the first ", server: ", up to the next comma. */
function serverField(tail: string): string | null {
  const i = tail.indexOf(SERVER_FIELD);
  if (i < 0) return null;
  const from = i + SERVER_FIELD.length;
  const to = tail.indexOf(',', from);
  return tail.slice(from, to < 0 ? tail.length : to);
}

/**
 * Where the client-controlled tail starts: the first ", client: ", or in a line
 * without one the first ", udp client: " (a stream UDP session's tail has no
 * ", client: "); -1 when there is neither. Two searches only for lines with no
 * client at all, which are few.
 */
function tailStart(line: string, from: number): number {
  const i = line.indexOf(CLIENT_FIELD, from);
  return i >= 0 ? i : line.indexOf(UDP_CLIENT_FIELD, from);
}

const WHILE = ' while ';
const COULD_NOT_BE_RESOLVED = ' could not be resolved ';

/*
 * The kind of one message. nginx's messages about upstreams, read from its
 * source:
 *
 * - ngx_log_error_core() writes the message, then the errno's " (N: text)",
 *   then the handler's " while ACTION" (c->log->action), so after an errno the
 *   action is right there; without one it is the first " while ".
 * - "N worker_connections are not enough" and "no live upstreams" are logged
 *   with no errno (ngx_get_connection(), ngx_http_upstream_connect()).
 * - Name resolution is not an upstream connection (src/core/ngx_resolver.c and
 *   its callers): a request or session that waited for a name says "NAME could
 *   not be resolved (N: text)" with ngx_resolver_strerror's text, so "(110:
 *   Operation timed out)" is the resolver's timeout, not a connect timeout; a
 *   variable *_pass without a resolver says "no resolver defined to resolve
 *   NAME"; the resolver's own lines go to the cycle's log, so they have no
 *   "*CID": its socket errors end "while resolving, resolver: ADDR"
 *   (ngx_resolver_log_error), the DNS answers it rejects say "DNS error (…)" or
 *   "… DNS response …".
 * - proxy_bind's `bind(ADDR) failed`: 99, the address is not on this host; 98,
 *   the address (and port) taken. A listener's `bind() to ADDR failed` is no
 *   upstream event.
 * - ngx_http_upstream_next() logs "upstream timed out (110: …)" while
 *   connecting, SSL handshaking, sending or reading.
 * - A connect()'s errnos (99, 111, 113, 101) name the kind: nginx logs them
 *   while connecting, before any handshake.
 * - A TLS handshake with the upstream fails "while SSL handshaking to
 *   upstream", with or without an errno.
 * - Then the errno.
 */

/** The kind of a message without an errno. */
function kindWithoutErrno(message: string, connection: boolean): ErrorKind {
  if (message.includes('worker_connections are not enough')) return 'worker_connections';
  if (message.startsWith('no live upstreams')) return 'no_live_upstreams';
  if (message.startsWith('no resolver defined to resolve ')) return 'resolver';
  const w = message.indexOf(WHILE);
  const action = w < 0 ? -1 : w + WHILE.length;
  if (!connection && ((action >= 0 && message.startsWith('resolving', action)) || message.includes(' DNS response'))) return 'resolver';
  return action >= 0 && message.startsWith('SSL handshaking to upstream', action) ? 'upstream_tls_failed' : 'other';
}

/** The kind an errno of a failed connect() names, whatever nginx was doing; null for other errnos. A switch: no lookup in a sparse table per line. */
function connectErrnoKind(errno: number): ErrorKind | null {
  switch (errno) {
    case 99: return 'eaddrnotavail';
    case 111: return 'econnrefused';
    case 113: return 'ehostunreach';
    case 101: return 'enetunreach';
    default: return null;
  }
}

/**
 * The kind of a message whose errno starts at `open`. The checks are ordered so
 * that the common line (a connect() failure with a "*CID") decides after a few
 * character comparisons: this runs on every line.
 */
function kindWithErrno(message: string, open: number, errno: number, connection: boolean): ErrorKind {
  if (message.charCodeAt(0) === 0x62 /* b */ && message.startsWith('bind')) {
    if (message.startsWith('bind() to ')) return 'other';
    if (message.startsWith(BIND_PREFIX)) return errno === 99 ? 'proxy_bind_unavailable' : errno === 98 ? 'eaddrinuse' : 'other';
  }
  // "…resolved (": the "v" four characters before the "(" tells it from "…failed (" at once.
  if (message.charCodeAt(open - 4) === 0x76 /* v */ && message.startsWith(COULD_NOT_BE_RESOLVED, open - COULD_NOT_BE_RESOLVED.length)) return 'resolver';
  const failedConnect = connectErrnoKind(errno);
  let action = -1;
  if (!connection || failedConnect === null) {
    const close = message.indexOf(')', open) + 1;
    if (message.startsWith(WHILE, close)) action = close + WHILE.length;
  }
  if (!connection && ((action >= 0 && message.startsWith('resolving', action)) || message.startsWith('DNS error ('))) return 'resolver';
  if (errno === 110) {
    if (action >= 0 && message.startsWith('connecting to upstream', action)) return 'etimedout_connect';
    if (action >= 0 && message.startsWith('SSL handshaking to upstream', action)) return 'upstream_tls_timeout';
    // "client timed out … while reading client request headers", stream's idle
    // "connection timed out … while proxying connection": not an upstream's slowness.
    return message.startsWith('upstream timed out') || (action >= 0 && message.includes('upstream', action)) ? 'upstream_timeout_read' : 'other';
  }
  if (failedConnect !== null) return failedConnect;
  if (action >= 0 && message.startsWith('SSL handshaking to upstream', action)) return 'upstream_tls_failed';
  return errnoKind(errno);
}

/**
 * Remembers the last timestamp converted. nginx writes thousands of lines per
 * second with the same "YYYY/MM/DD HH:MM:SS", and the conversion is a sizeable
 * part of classifying a line. It reads the times in the error log's zone
 * (`--error-log-timezone`; the agent's own by default). Each reader keeps its
 * own (no shared state).
 */
export class TimeMemo {
  text = '';
  ms = 0;
  readonly clock: ZoneClock;

  constructor(zone: TimeZone = LOCAL_ZONE) {
    this.clock = new ZoneClock(zone);
  }
}

function lineMs(line: string, time: string, memo: TimeMemo | undefined): number {
  if (memo?.text === time) return memo.ms;
  const y = two(line, 0) * 100 + two(line, 2);
  const ms =
    memo === undefined
      ? new Date(y, two(line, 5) - 1, two(line, 8), two(line, 11), two(line, 14), two(line, 17)).getTime()
      : memo.clock.toEpochMs(y, two(line, 5), two(line, 8), two(line, 11), two(line, 14), two(line, 17));
  if (memo !== undefined) {
    memo.text = time;
    memo.ms = ms;
  }
  return ms;
}

/**
 * The destination a line names: "connect() to PEER failed", else the upstream
 * field's peer. None for resolver lines (no upstream connection) and "no live
 * upstreams" (its upstream field holds the group's name).
 */
function destinationOf(kind: ErrorKind, message: string, tail: string): string | null {
  if (kind === 'resolver' || kind === 'no_live_upstreams') return null;
  const peer = connectToPeer(message);
  return (peer !== null ? normaliseDestination(peer) : null) ?? upstreamPeer(tail);
}

export function classifyLine(line: string, memo?: TimeMemo): Classified {
  const head = parseHead(line);
  if (head === null) return { ok: false };
  // The message is nginx's; the first ", client: " (", udp client: ") starts the client-controlled tail.
  const cut = tailStart(line, head.end);
  const message = cut < 0 ? line.slice(head.end) : line.slice(head.end, cut);
  const tail = cut < 0 ? '' : line.slice(cut);

  const open = errnoOpen(message);
  const errno = open < 0 ? null : digitsValue(message, open + 1, digitsEnd(message, open + 1));
  const connection = head.connectionId !== null;
  // Most lines are a connect() failure with a "*CID": decided here, as kindWithErrno would (not bind(), not a resolver's name).
  const failedConnect = errno === null ? null : connectErrnoKind(errno);
  const kind =
    failedConnect !== null && connection && message.charCodeAt(0) !== 0x62 /* b */ && message.charCodeAt(open - 4) !== 0x76 /* v */
      ? failedConnect
      : errno === null
        ? kindWithoutErrno(message, connection)
        : kindWithErrno(message, open, errno, connection);
  const time = line.slice(0, TIME_LENGTH);

  return {
    ok: true,
    event: {
      time,
      timeMs: lineMs(line, time, memo),
      level: head.level,
      pid: head.pid,
      tid: head.tid,
      connectionId: head.connectionId,
      kind,
      errno,
      destination: destinationOf(kind, message, tail),
      upstreamGroup: kind === 'no_live_upstreams' ? upstreamGroupOf(tail) : null,
      bindAddress: kind === 'proxy_bind_unavailable' || kind === 'eaddrinuse' || kind === 'other' ? bindAddressOf(message) : null,
      server: serverField(tail),
      message,
    },
  };
}

/** Backslash and control bytes: what escapeUntrusted rewrites. */
// eslint-disable-next-line no-control-regex
const UNTRUSTED = /[\\\u0000-\u001f\u007f-\u009f]/g;

/**
 * Escapes control bytes (C0, DEL, C1, so ANSI escape sequences too) and
 * backslashes, for showing untrusted log text in a terminal or a log line.
 * One regular-expression pass over at most maxChars of input: the result is one
 * flat string, not a chain of one-character pieces, which matters where samples
 * are kept (the findings window keeps one per kind and bucket).
 */
export function escapeUntrusted(text: string, maxChars = 300): string {
  // Escaping only lengthens text, so the first maxChars characters are all that can show.
  const escaped = text.slice(0, maxChars).replace(UNTRUSTED, (ch) => {
    const c = ch.charCodeAt(0);
    return c === 0x5c ? '\\\\' : `\\x${c.toString(16).padStart(2, '0')}`;
  });
  return escaped.length >= maxChars ? `${escaped.slice(0, maxChars)}…` : escaped;
}
