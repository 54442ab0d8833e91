/**
 * IP addresses and CIDR blocks, for the NAT's destination sets: which
 * destinations leave the private network through a NAT. Pure.
 *
 * Addresses are numbers of their family's width (IPv4 32 bits, IPv6 128 bits,
 * as bigint). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4
 * address it maps, as /proc/net/tcp6 rows of such peers are IPv4 4-tuples
 * (FACTS.md; sockets/parse/procNetTcp.ts hands them on as IPv4 rows); a mapped
 * block (`::ffff:10.0.0.0/104`) is the IPv4 block it maps.
 */

export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
  /** As the user wrote it. */
  text: string;
}

const BITS = { 4: 32, 6: 128 } as const;

function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p.startsWith('0'))) return null;
    value = (value << 8n) | BigInt(Number(p));
  }
  return value;
}

/** RFC 4291 text forms: `::` once at most, an embedded dotted IPv4 tail allowed. */
function parseIPv6(text: string): bigint | null {
  if (text.length === 0 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<number>(missing).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n;
const isMapped = (v6: bigint): boolean => v6 >> 32n === 0xffffn;

/** An address as text (`10.0.0.5`, `2001:db8::1`, `::ffff:10.0.0.5`), or null. IPv4-mapped IPv6 reads as IPv4. */
export function parseIp(text: string): IpAddress | null {
  const t = text.trim();
  if (t.includes(':')) {
    const v6 = parseIPv6(t);
    if (v6 === null) return null;
    return isMapped(v6) ? { family: 4, value: v6 - MAPPED_PREFIX } : { family: 6, value: v6 };
  }
  const v4 = parseIPv4(t);
  return v4 === null ? null : { family: 4, value: v4 };
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128); the error says what is wrong. */
export function parseCidr(text: string): Cidr | { error: string } {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash < 0 ? t : t.slice(0, slash);
  const prefixText = slash < 0 ? null : t.slice(slash + 1);
  const raw = addrText.includes(':') ? parseIPv6(addrText) : parseIPv4(addrText);
  if (raw === null) return { error: `"${text}" is not a CIDR block: "${addrText}" is not an IPv4 or IPv6 address` };
  let family: 4 | 6 = addrText.includes(':') ? 6 : 4;
  let prefix: number = BITS[family];
  if (prefixText !== null) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > BITS[family]) {
      return { error: `"${text}" is not a CIDR block: the prefix length must be 0–${BITS[family]}` };
    }
    prefix = Number(prefixText);
  }
  let value = raw;
  if (family === 6 && isMapped(raw)) {
    if (prefix < 96) return { error: `"${text}" is not a CIDR block: an IPv4-mapped block needs a prefix of at least 96 (::ffff:0:0/96)` };
    family = 4;
    prefix -= 96;
    value = raw - MAPPED_PREFIX;
  }
  const hostBits = BigInt(BITS[family] - prefix);
  return { family, network: (value >> hostBits) << hostBits, prefix, text: t };
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.family !== ip.family) return false;
  const hostBits = BigInt(BITS[c.family] - c.prefix);
  return ip.value >> hostBits === c.network >> hostBits;
}

/**
 * What stays inside a cloud network, never through its NAT: the private blocks
 * of RFC 1918 (10/8, 172.16/12, 192.168/16), shared address space of RFC 6598
 * (100.64/10), "this network" 0/8, loopback (127/8, ::1), link-local (169.254/16,
 * fe80::/10; the clouds' metadata services live there), unique local IPv6
 * (fc00::/7, RFC 4193) and the unspecified ::. Everything else is "public".
 */
export const NOT_PUBLIC: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];

/** The word for "every public address" in a destination list (the default). */
export const PUBLIC = 'public';

const notPublic = NOT_PUBLIC.map((t) => parseCidr(t) as Cidr);

export function isPublic(ip: IpAddress): boolean {
  return !notPublic.some((c) => cidrContains(c, ip));
}

/** Why an entry of a destination list is invalid, or null: a CIDR block, a bare address, or `public`. */
export function destinationEntryProblem(entry: string): string | null {
  if (entry.trim() === PUBLIC) return null;
  const c = parseCidr(entry);
  return 'error' in c ? c.error : null;
}

/** A destination list as a predicate over address text; entries must have passed destinationEntryProblem. */
export function destinationMatcher(entries: readonly string[]): (ipText: string) => boolean {
  const anyPublic = entries.some((e) => e.trim() === PUBLIC);
  const blocks = entries.filter((e) => e.trim() !== PUBLIC).map((e) => parseCidr(e) as Cidr);
  return (ipText) => {
    const ip = parseIp(ipText);
    if (ip === null) return false;
    return (anyPublic && isPublic(ip)) || blocks.some((c) => cidrContains(c, ip));
  };
}
