/**
 * Addresses as nginx writes them in `server` and `proxy_pass`, and IP literals in
 * the canonical text form the socket model uses. Pure.
 *
 * nginx parses both with ngx_parse_url() (src/core/ngx_inet.c): `unix:PATH` is a
 * UNIX-domain socket; `[v6]` or `[v6]:port` is IPv6; anything else is `host` or
 * `host:port`, split at the first ":", with a port of 1 to 65535. A host that is
 * not a dotted-quad IPv4 literal is a name nginx resolves (at start-up, for
 * `server` and for a `proxy_pass` without variables).
 */
import { formatIPv6 } from '../../core/addresses.js';

export type Endpoint =
  | { kind: 'inet'; host: string; port: number | null; ip: string | null }
  | { kind: 'unix'; path: string };

/**
 * `host`, `host:port`, `[v6]`, `[v6]:port` or `unix:/path`. `port` is null when
 * the text has none (the caller applies nginx's default); `ip` is the canonical
 * IP when the host is a literal, else null. Returns an error phrase when nginx
 * would reject the address.
 */
export function parseEndpoint(text: string): Endpoint | { error: string } {
  if (text.length >= 5 && text.slice(0, 5).toLowerCase() === 'unix:') {
    const path = text.slice(5);
    return path === '' ? { error: 'no path in the unix: address' } : { kind: 'unix', path };
  }
  let host: string;
  let portText: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return { error: 'invalid IPv6 address (no closing "]")' };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest.startsWith(':')) portText = rest.slice(1);
    else if (rest !== '') return { error: `unexpected "${rest}" after the IPv6 address` };
    if (parseIPv6(host) === null) return { error: `invalid IPv6 address "${host}"` };
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    if (colon !== -1) portText = text.slice(colon + 1);
  }
  if (host === '') return { error: 'no host' };
  let port: number | null = null;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return { error: `invalid port "${portText}"` };
    port = Number(portText);
  }
  const ip = text.startsWith('[') ? canonicalIp(host) : isIPv4(host) ? host.split('.').map(Number).join('.') : null;
  return { kind: 'inet', host, port, ip };
}

/** A strict dotted quad, as ngx_inet_addr() accepts it (no octal, hex or short forms). */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** 32 hex digits of an IPv6 address in text form, or null when it is not one. Zone ids are refused. */
export function parseIPv6(s: string): string | null {
  if (s.includes('%')) return null;
  let text = s.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1) return null;
  let tail: number[] = [];
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 address fills the last two groups.
    if (!isIPv4(last)) return null;
    const b = last.split('.').map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  const explicit = head.length + rest.length + tail.length;
  let all: number[];
  if (halves.length === 2) {
    if (explicit > 7) return null;
    all = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail];
  } else {
    if (explicit !== 8) return null;
    all = [...head, ...tail];
  }
  return all.map((g) => g.toString(16).padStart(4, '0')).join('');
}

/**
 * The canonical text of an IP literal, as the socket model prints peers: dotted
 * quad for IPv4 and for IPv4-mapped IPv6 (`::ffff:a.b.c.d` is an IPv4 peer to the
 * kernel), RFC 5952 for other IPv6. Null when `s` is not an IP literal.
 */
export function canonicalIp(s: string): string | null {
  if (isIPv4(s)) return s.split('.').map(Number).join('.');
  const hex = parseIPv6(s);
  if (hex === null) return null;
  if (hex.startsWith('00000000000000000000ffff')) {
    const n = parseInt(hex.slice(24), 16);
    return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  }
  return formatIPv6(hex);
}
