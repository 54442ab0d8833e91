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
 * "*CID " is present when the entry belongs to a connection. The time is nginx's
 * local time. Everything after ", client: " comes from the client (request line,
 * Host header, and the URI inside upstream): it is never used as a label and must
 * be escaped wherever it is shown.
 */

export const ERROR_KINDS = [
  'eaddrnotavail',
  'econnrefused',
  'etimedout_connect',
  'upstream_timeout_read',
  'emfile',
  'enfile',
  'worker_connections',
  'no_live_upstreams',
  'eaddrinuse',
  'econnreset',
  'other',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
export type Level = (typeof LEVELS)[number];

export interface ErrorLogEvent {
  /** "YYYY/MM/DD HH:MM:SS" as nginx wrote it (its local time). */
  time: string;
  /** The same instant as Unix ms, read as the agent's local time (nginx and its sidecar share a clock and, normally, a zone). */
  timeMs: number;
  level: Level;
  pid: number;
  tid: number;
  connectionId: number | null;
  kind: ErrorKind;
  errno: number | null;
  /** `ip:port`, `[v6]:port` or `unix:/path`, as in the socket model; null when the line names none. */
  destination: string | null;
  /** The `server:` field (the server_name that handled the request), untrusted. */
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
// In the upstream field, at the position given: the scheme, then the peer.
const UPSTREAM_SCHEME = /[a-z]+:\/\//y;
const UPSTREAM_PEER = /\[[0-9A-Fa-f:.]+\]:\d{1,5}|[\d.]+:\d{1,5}/y;
const V4_DESTINATION = /^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/;
const V6_DESTINATION = /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;
const UPSTREAM_FIELD = ', upstream: "';
const SERVER_FIELD = ', server: ';
const CLIENT_FIELD = ', client: ';

const BY_ERRNO: Record<number, ErrorKind> = {
  // errno values are Linux's (include/uapi/asm-generic/errno*.h).
  99: 'eaddrnotavail',
  111: 'econnrefused',
  24: 'emfile',
  23: 'enfile',
  98: 'eaddrinuse',
  104: 'econnreset',
};

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
 * The first "(NNNN: text)" in the message, as /\((\d{1,4}): [^)]*\)/ finds it:
 * 1–4 digits, ": ", and a ")" somewhere after.
 */
function errnoOf(message: string): number | null {
  let open = message.indexOf('(');
  while (open !== -1) {
    const end = digitsEnd(message, open + 1);
    const n = end - open - 1;
    if (n >= 1 && n <= 4 && message.charCodeAt(end) === 0x3a /* : */ && message.charCodeAt(end + 1) === 0x20) {
      if (message.indexOf(')', end + 2) === -1) return null; // no ")" after this one, so none after any later "(" either
      return digitsValue(message, open + 1, end);
    }
    open = message.indexOf('(', open + 1);
  }
  return null;
}

/** Normalises nginx's peer text to the socket model's form: `ip:port`, `[v6]:port`, `unix:/path`. */
export function normaliseDestination(text: string): string | null {
  if (text.startsWith('unix:')) return text.length > 5 ? text : null;
  // The whole text is the address: it is its own normal form, but for the case
  // of the hex digits of an IPv6 address (nothing else in it has a case).
  if (V6_DESTINATION.test(text)) return text.toLowerCase();
  if (V4_DESTINATION.test(text)) return text;
  return null;
}

/** The peer text after "connect() to " when the message starts so, as /^connect\(\) to (\S+) failed/ captures it. */
function connectToPeer(message: string): string | null {
  if (!message.startsWith(CONNECT_TO_PREFIX)) return null;
  CONNECT_TO_PEER.lastIndex = CONNECT_TO_PREFIX.length;
  if (!CONNECT_TO_PEER.test(message)) return null;
  return message.slice(CONNECT_TO_PREFIX.length, CONNECT_TO_PEER.lastIndex - FAILED_LENGTH);
}

/**
 * The peer inside `upstream: "http://10.0.0.5:8080/uri"` (the URI after it is the
 * client's). nginx writes the field once, between the request line and the Host
 * header, both of which the client controls and may fill with a look-alike
 * `, upstream: "…"`. A line with more than one is ambiguous and names no
 * destination: a client can then blank the label, but never choose it.
 */
function upstreamPeer(tail: string): string | null {
  const i = tail.indexOf(UPSTREAM_FIELD);
  if (i < 0 || tail.includes(UPSTREAM_FIELD, i + 1)) return null;
  UPSTREAM_SCHEME.lastIndex = i + UPSTREAM_FIELD.length;
  if (!UPSTREAM_SCHEME.test(tail)) return null;
  const at = UPSTREAM_SCHEME.lastIndex;
  if (tail.startsWith('unix:', at)) {
    // "http://unix:/run/app.sock:/uri"
    const end = tail.indexOf(':', at + 5);
    return normaliseDestination(end < 0 ? tail.slice(at) : tail.slice(at, end));
  }
  UPSTREAM_PEER.lastIndex = at;
  return UPSTREAM_PEER.test(tail) ? normaliseDestination(tail.slice(at, UPSTREAM_PEER.lastIndex)) : null;
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
 * Remembers the last timestamp converted. nginx writes thousands of lines per
 * second with the same "YYYY/MM/DD HH:MM:SS", and the local-time conversion is a
 * sizeable part of classifying a line. Each reader keeps its own (no shared state).
 */
export class TimeMemo {
  text = '';
  ms = 0;
}

function localMs(line: string, time: string, memo: TimeMemo | undefined): number {
  if (memo?.text === time) return memo.ms;
  const ms = new Date(two(line, 0) * 100 + two(line, 2), two(line, 5) - 1, two(line, 8), two(line, 11), two(line, 14), two(line, 17)).getTime();
  if (memo !== undefined) {
    memo.text = time;
    memo.ms = ms;
  }
  return ms;
}

export function classifyLine(line: string, memo?: TimeMemo): Classified {
  const head = parseHead(line);
  if (head === null) return { ok: false };
  // The message is nginx's; the first ", client: " starts the client-controlled tail.
  const cut = line.indexOf(CLIENT_FIELD, head.end);
  const message = cut < 0 ? line.slice(head.end) : line.slice(head.end, cut);
  const tail = cut < 0 ? '' : line.slice(cut);

  const errno = errnoOf(message);
  let kind: ErrorKind;
  if (message.includes('worker_connections are not enough')) kind = 'worker_connections';
  else if (message.startsWith('no live upstreams')) kind = 'no_live_upstreams';
  else if (errno === 110) kind = message.includes('while connecting to upstream') ? 'etimedout_connect' : 'upstream_timeout_read';
  else kind = (errno !== null ? BY_ERRNO[errno] : undefined) ?? 'other';

  const peer = connectToPeer(message);
  const destination = (peer !== null ? normaliseDestination(peer) : null) ?? upstreamPeer(tail);
  const time = line.slice(0, TIME_LENGTH);

  return {
    ok: true,
    event: {
      time,
      timeMs: localMs(line, time, memo),
      level: head.level,
      pid: head.pid,
      tid: head.tid,
      connectionId: head.connectionId,
      kind,
      errno,
      destination,
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
