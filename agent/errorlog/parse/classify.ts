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

// "2026/11/21 08:43:53 [crit] 12913#12913: *2 message"
const HEAD = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): (?:\*(\d+) )?/;
const ERRNO = /\((\d{1,4}): [^)]*\)/;
const CONNECT_TO = /^connect\(\) to (\S+) failed/;

const BY_ERRNO: Record<number, ErrorKind> = {
  // errno values are Linux's (include/uapi/asm-generic/errno*.h).
  99: 'eaddrnotavail',
  111: 'econnrefused',
  24: 'emfile',
  23: 'enfile',
  98: 'eaddrinuse',
  104: 'econnreset',
};

/** Normalises nginx's peer text to the socket model's form: `ip:port`, `[v6]:port`, `unix:/path`. */
export function normaliseDestination(text: string): string | null {
  if (text.startsWith('unix:')) return text.length > 5 ? text : null;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text);
  if (v6) return `[${v6[1]!.toLowerCase()}]:${v6[2]!}`;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (v4) return `${v4[1]!}:${v4[2]!}`;
  return null;
}

/** The peer inside `upstream: "http://10.0.0.5:8080/uri"` (the URI after it is the client's). */
function upstreamPeer(tail: string): string | null {
  const i = tail.indexOf(', upstream: "');
  if (i < 0) return null;
  const rest = tail.slice(i + ', upstream: "'.length);
  const scheme = /^[a-z]+:\/\//.exec(rest);
  if (!scheme) return null;
  const after = rest.slice(scheme[0].length);
  if (after.startsWith('unix:')) {
    // "http://unix:/run/app.sock:/uri"
    const end = after.indexOf(':', 5);
    return normaliseDestination(end < 0 ? after : after.slice(0, end));
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]:\d{1,5}|[\d.]+:\d{1,5})/.exec(after);
  return m ? normaliseDestination(m[1]!) : null;
}

function serverField(tail: string): string | null {
  const m = /, server: ([^,]*)/.exec(tail);
  return m ? m[1]! : null;
}

export function classifyLine(line: string): Classified {
  const head = HEAD.exec(line);
  if (!head) return { ok: false };
  const [, y, mo, d, h, mi, s, level, pid, tid, cid] = head;
  const body = line.slice(head[0].length);
  // The message is nginx's; the first ", client: " starts the client-controlled tail.
  const cut = body.indexOf(', client: ');
  const message = cut < 0 ? body : body.slice(0, cut);
  const tail = cut < 0 ? '' : body.slice(cut);

  const errnoMatch = ERRNO.exec(message);
  const errno = errnoMatch ? Number(errnoMatch[1]) : null;
  let kind: ErrorKind;
  if (message.includes('worker_connections are not enough')) kind = 'worker_connections';
  else if (message.startsWith('no live upstreams')) kind = 'no_live_upstreams';
  else if (errno === 110) kind = message.includes('while connecting to upstream') ? 'etimedout_connect' : 'upstream_timeout_read';
  else kind = (errno !== null ? BY_ERRNO[errno] : undefined) ?? 'other';

  const connectTo = CONNECT_TO.exec(message);
  const destination = (connectTo ? normaliseDestination(connectTo[1]!) : null) ?? upstreamPeer(tail);

  return {
    ok: true,
    event: {
      time: `${y!}/${mo!}/${d!} ${h!}:${mi!}:${s!}`,
      timeMs: new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime(),
      level: level as Level,
      pid: Number(pid),
      tid: Number(tid),
      connectionId: cid === undefined ? null : Number(cid),
      kind,
      errno,
      destination,
      server: serverField(tail),
      message,
    },
  };
}

/**
 * Escapes control bytes (C0, DEL, C1, so ANSI escape sequences too) and
 * backslashes, for showing untrusted log text in a terminal or a log line.
 */
export function escapeUntrusted(text: string, maxChars = 300): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
    if (out.length >= maxChars) return `${out.slice(0, maxChars)}…`;
  }
  return out;
}
