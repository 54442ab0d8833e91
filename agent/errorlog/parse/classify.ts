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
import { ownCopy } from './text.js';

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

/** Kind → its index in ERROR_KINDS: the counters keep arrays by kind, not maps, on the per-line path. */
export const KIND_INDEX: ReadonlyMap<ErrorKind, number> = new Map<ErrorKind, number>(ERROR_KINDS.map((k, i) => [k, i]));

/** The kinds that are a failed attempt to connect to an upstream peer (they count towards its max_fails). */
export const CONNECT_FAILURE_KINDS: readonly ErrorKind[] = ['eaddrnotavail', 'econnrefused', 'etimedout_connect', 'ehostunreach', 'enetunreach'];

export const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
export type Level = (typeof LEVELS)[number];

/** One classified line: its fields (LineFields, below) with the time as nginx wrote it, the head's numbers and the server field. */
export interface ErrorLogEvent extends Omit<LineFields, 'tailAt'> {
  /** "YYYY/MM/DD HH:MM:SS" as nginx wrote it (its local time). */
  time: string;
  /** The worker's process and thread ids ("PID#TID: "). */
  pid: number;
  tid: number;
  /** The connection's number ("*CID "), null for a line that belongs to no connection. */
  connectionId: number | null;
  /** The `server:` field (the server_name that handled the request, or stream's listen address), untrusted. */
  server: string | null;
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

/**
 * Reads the head's level, and whether it names a connection, into `into`;
 * returns where the message starts, or -1 when the line has no nginx head. The
 * head ends ": " after the thread id, or "*CID " after that: the character
 * before its last tells which. Its numbers are left in the line (headNumbers):
 * no reader counts by them, and reading their digits took 12% of the time a
 * line takes (one thread over the benchmark's log; bench/README.md).
 */
function parseHead(line: string, into: LineFields): number {
  HEAD.lastIndex = 0;
  if (!HEAD.test(line)) return -1;
  const end = HEAD.lastIndex;
  into.level = levelOf(line);
  into.connection = line.charCodeAt(end - 2) !== 0x3a; /* : */
  return end;
}

/** The head's numbers, "PID#TID: " and "*CID " if present, of a line whose head parseHead read. */
function headNumbers(line: string, level: Level): Pick<ErrorLogEvent, 'pid' | 'tid' | 'connectionId'> {
  HEAD.lastIndex = 0;
  HEAD.test(line);
  const end = HEAD.lastIndex;
  const pidStart = LEVEL_AT + level.length + 2;
  const pidEnd = digitsEnd(line, pidStart);
  const tidEnd = digitsEnd(line, pidEnd + 1);
  return {
    pid: digitsValue(line, pidStart, pidEnd),
    tid: digitsValue(line, pidEnd + 1, tidEnd),
    connectionId: end > tidEnd + 2 ? digitsValue(line, tidEnd + 3, end - 1) : null,
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

/**
 * Where the peer text after "connect() to " ends, when the message (starting at
 * `at` in the line) starts so: what /^connect\(\) to (\S+) failed/ captures is
 * line[at + 13, end); -1 otherwise. Read in the line, not in the message: the
 * match cannot run past the message, whose tail starts ", client: " or
 * ", udp client: " (the \S+ stops at its space, where " failed" is not).
 */
function connectToPeerEnd(line: string, at: number): number {
  if (!line.startsWith(CONNECT_TO_PREFIX, at)) return -1;
  CONNECT_TO_PEER.lastIndex = at + CONNECT_TO_PREFIX.length;
  if (!CONNECT_TO_PEER.test(line)) return -1;
  return CONNECT_TO_PEER.lastIndex - FAILED_LENGTH;
}

const PEER_SLOTS = 256;

/**
 * The destinations of the peer texts seen lately, so that a line naming a peer
 * seen before gets the same string back: no slice, no normalising, and a Map
 * keyed by destinations (the counts) compares one string with itself. Slots are
 * chosen by the text's length and last ten characters (a port and an
 * address's last digits tell most destinations apart); a slot is checked against the line
 * in place and replaced on a miss, so it holds at most PEER_SLOTS texts.
 */
export class PeerMemo {
  private readonly texts: (string | undefined)[] = new Array<string | undefined>(PEER_SLOTS).fill(undefined);
  private readonly destinations: (string | null)[] = new Array<string | null>(PEER_SLOTS).fill(null);

  /** normaliseDestination(line.slice(from, to)), to > from. */
  normalised(line: string, from: number, to: number): string | null {
    const n = to - from;
    let h = n;
    for (let i = Math.max(from, to - 10); i < to; i++) h = (h * 31 + line.charCodeAt(i)) | 0;
    const slot = (h ^ (h >>> 6)) & (PEER_SLOTS - 1);
    const seen = this.texts[slot];
    if (seen !== undefined && seen.length === n && line.startsWith(seen, from)) return this.destinations[slot]!;
    // The text alone: a slice of a long line would keep the whole line alive while the slot holds it.
    const text = ownCopy(line.slice(from, to));
    const d = normaliseDestination(text);
    this.texts[slot] = text;
    this.destinations[slot] = d;
    return d;
  }
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
function upstreamValueAt(line: string, tailAt: number): number {
  if (tailAt < 0) return -1;
  const i = line.indexOf(UPSTREAM_FIELD, tailAt);
  if (i < 0 || line.includes(UPSTREAM_FIELD, i + 1)) return -1;
  const start = i + UPSTREAM_FIELD.length;
  UPSTREAM_SCHEME.lastIndex = start;
  return UPSTREAM_SCHEME.test(line) ? UPSTREAM_SCHEME.lastIndex * 2 + 1 : start * 2;
}

/** The peer of the upstream field in the tail starting at tailAt (the URI after it is the client's). */
function upstreamPeer(line: string, tailAt: number, peers: PeerMemo | undefined): string | null {
  const v = upstreamValueAt(line, tailAt);
  if (v < 0) return null;
  const at = v >> 1;
  if (line.startsWith('unix:', at)) {
    // http: "http://unix:/run/app.sock:/uri" (uri_separator); stream: "unix:/run/app.sock" up to the quote.
    const end = line.indexOf((v & 1) === 1 ? ':' : '"', at + 5);
    return normaliseDestination(end < 0 ? line.slice(at) : line.slice(at, end));
  }
  UPSTREAM_PEER.lastIndex = at;
  if (!UPSTREAM_PEER.test(line)) return null;
  const end = UPSTREAM_PEER.lastIndex;
  return peers === undefined ? normaliseDestination(line.slice(at, end)) : peers.normalised(line, at, end);
}

/** The group name in the upstream field of a "no live upstreams" line, up to the URI ("/"), or the quote in stream. */
function upstreamGroupOf(line: string, tailAt: number): string | null {
  const v = upstreamValueAt(line, tailAt);
  if (v < 0) return null;
  const at = v >> 1;
  UPSTREAM_GROUP.lastIndex = at;
  if (!UPSTREAM_GROUP.test(line)) return null;
  const end = UPSTREAM_GROUP.lastIndex;
  const next = line.charCodeAt(end);
  // http: the URI follows ("/…", or nothing: `"`); stream: the closing quote.
  return next === 0x2f /* / */ || next === 0x22 /* " */ || next === 0x3f /* ? */ ? line.slice(at, end) : null;
}

/** What /, server: ([^,]*)/ captures in the tail starting at tailAt: after its first ", server: ", up to the next comma. */
export function serverField(line: string, tailAt: number): string | null {
  if (tailAt < 0) return null;
  const i = line.indexOf(SERVER_FIELD, tailAt);
  if (i < 0) return null;
  const from = i + SERVER_FIELD.length;
  const to = line.indexOf(',', from);
  return line.slice(from, to < 0 ? line.length : to);
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
 * Remembers the last timestamp converted, and the peers normalised lately
 * (PeerMemo). nginx writes thousands of lines per second with the same
 * "YYYY/MM/DD HH:MM:SS" and to the same few peers, and the conversions are a
 * sizeable part of classifying a line. It reads the times in the error log's zone
 * (`--error-log-timezone`; the agent's own by default). Each reader keeps its
 * own (no shared state).
 */
export class TimeMemo {
  /** The last time converted, as YYYYMMDD and HHMMSS (-1: none yet): two numbers compare faster than a slice of each line. */
  day = -1;
  second = -1;
  ms = 0;
  readonly clock: ZoneClock;
  readonly peers = new PeerMemo();

  constructor(zone: TimeZone = LOCAL_ZONE) {
    this.clock = new ZoneClock(zone);
  }
}

function lineMs(line: string, memo: TimeMemo | undefined): number {
  // HEAD has matched, so the 19 characters are digits where the time has them and
  // its fixed separators elsewhere: the 14 digits are the whole text. The second
  // changes far more often than the day, so it is read first.
  const second = two(line, 11) * 10_000 + two(line, 14) * 100 + two(line, 17);
  const y = two(line, 0) * 100 + two(line, 2);
  const day = y * 10_000 + two(line, 5) * 100 + two(line, 8);
  if (memo !== undefined && memo.second === second && memo.day === day) return memo.ms;
  const ms =
    memo === undefined
      ? new Date(y, two(line, 5) - 1, two(line, 8), two(line, 11), two(line, 14), two(line, 17)).getTime()
      : memo.clock.toEpochMs(y, two(line, 5), two(line, 8), two(line, 11), two(line, 14), two(line, 17));
  if (memo !== undefined) {
    memo.day = day;
    memo.second = second;
    memo.ms = ms;
  }
  return ms;
}

/**
 * The destination a line names: "connect() to PEER failed", else the upstream
 * field's peer. None for resolver lines (no upstream connection) and "no live
 * upstreams" (its upstream field holds the group's name).
 */
function destinationOf(kind: ErrorKind, line: string, messageAt: number, tailAt: number, peers: PeerMemo | undefined): string | null {
  if (kind === 'resolver' || kind === 'no_live_upstreams') return null;
  const peerEnd = connectToPeerEnd(line, messageAt);
  let d: string | null = null;
  if (peerEnd >= 0) {
    const from = messageAt + CONNECT_TO_PREFIX.length;
    d = peers === undefined ? normaliseDestination(line.slice(from, peerEnd)) : peers.normalised(line, from, peerEnd);
  }
  return d ?? upstreamPeer(line, tailAt, peers);
}

/**
 * One line's fields as classifyInto() fills them: an ErrorLogEvent less its time
 * text and server field (a reader that wants them takes them from the line: the
 * time is its first 19 characters, serverField(line, tailAt) the server), so a
 * reader that only counts pays for neither. One record is reused line after line.
 */
export interface LineFields {
  /** The line's time as Unix ms, read in the error log's time zone (the TimeMemo's; the agent's own without one). */
  timeMs: number;
  level: Level;
  /** The line belongs to a connection (its head has "*CID "). */
  connection: boolean;
  kind: ErrorKind;
  errno: number | null;
  /** `ip:port`, `[v6]:port` or `unix:/path`, as in the socket model; null when the line names none. */
  destination: string | null;
  /** The upstream group a "no live upstreams" line names (`upstream: "http://backend/"` → `backend`); null otherwise. */
  upstreamGroup: string | null;
  /** The proxy_bind address of a `bind(ADDR) failed` line, as nginx wrote it; null otherwise. */
  bindAddress: string | null;
  /** nginx's own message, up to the client-controlled tail. */
  message: string;
  /** Where the client-controlled tail (", client: …") starts in the line; -1 when it has none. */
  tailAt: number;
}

/**
 * A record for classifyInto to fill. Its time starts as a double (NaN: none
 * yet), as every line's Unix ms is: a record made with 0, a small integer, had
 * its map replaced at its first line (V8 moves the field from integer to double
 * storage), so each record made after that one had a different map, and the
 * scan thread's optimised RecentWindow.add, built for the first, was thrown
 * away at its second window (`--trace-deopt`, `--trace-generalization`).
 */
export function newLineFields(): LineFields {
  return { timeMs: Number.NaN, level: 'debug', connection: false, kind: 'other', errno: null, destination: null, upstreamGroup: null, bindAddress: null, message: '', tailAt: -1 };
}

/**
 * Classifies a line into `into`; false (and `into` as it was, but for the head's
 * fields) when the line is not an nginx error-log line. classifyLine() builds its
 * event from the same fields, so both agree line for line.
 */
export function classifyInto(line: string, into: LineFields, memo?: TimeMemo): boolean {
  const at = parseHead(line, into);
  if (at < 0) return false;
  // The message is nginx's; the first ", client: " (", udp client: ") starts the client-controlled tail.
  const cut = tailStart(line, at);
  const message = cut < 0 ? line.slice(at) : line.slice(at, cut);

  const open = errnoOpen(message);
  const errno = open < 0 ? null : digitsValue(message, open + 1, digitsEnd(message, open + 1));
  const connection = into.connection;
  // Most lines are a connect() failure with a "*CID": decided here, as kindWithErrno would (not bind(), not a resolver's name).
  const failedConnect = errno === null ? null : connectErrnoKind(errno);
  const kind =
    failedConnect !== null && connection && message.charCodeAt(0) !== 0x62 /* b */ && message.charCodeAt(open - 4) !== 0x76 /* v */
      ? failedConnect
      : errno === null
        ? kindWithoutErrno(message, connection)
        : kindWithErrno(message, open, errno, connection);
  const peers = memo?.peers;
  into.timeMs = lineMs(line, memo);
  into.kind = kind;
  into.errno = errno;
  into.destination = destinationOf(kind, line, at, cut, peers);
  into.upstreamGroup = kind === 'no_live_upstreams' ? upstreamGroupOf(line, cut) : null;
  into.bindAddress = kind === 'proxy_bind_unavailable' || kind === 'eaddrinuse' || kind === 'other' ? bindAddressOf(message) : null;
  into.message = message;
  into.tailAt = cut;
  return true;
}

export function classifyLine(line: string, memo?: TimeMemo): Classified {
  const f = newLineFields();
  if (!classifyInto(line, f, memo)) return { ok: false };
  return {
    ok: true,
    event: {
      time: line.slice(0, TIME_LENGTH),
      timeMs: f.timeMs,
      level: f.level,
      connection: f.connection,
      ...headNumbers(line, f.level),
      kind: f.kind,
      errno: f.errno,
      destination: f.destination,
      upstreamGroup: f.upstreamGroup,
      bindAddress: f.bindAddress,
      server: serverField(line, f.tailAt),
      message: f.message,
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
