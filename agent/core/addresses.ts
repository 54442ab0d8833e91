/**
 * Address helpers shared by the socket parsers and the headroom model.
 *
 * IPv4 addresses are carried as unsigned 32-bit numbers in *network* order
 * (a.b.c.d → a·2²⁴ + b·2¹⁶ + c·2⁸ + d) once the parser has undone the host byte
 * order of /proc/net/tcp. IPv6 addresses are carried as 32 lowercase hex digits,
 * also in network order.
 */

export function formatIPv4(addr: number): string {
  return `${(addr >>> 24) & 0xff}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** RFC 5952 text form: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
export function formatIPv6(hex32: string): string {
  const groups: number[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parseInt(hex32.slice(i, i + 4), 16));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = groups.map((g) => g.toString(16));
  if (bestLen < 2) return text.join(':');
  const head = text.slice(0, bestStart).join(':');
  const tail = text.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** `ip:port`, or `[v6]:port` for IPv6, the form used in labels, JSON and the error-log classifier. */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** 127.0.0.0/8: what tcp_twsk_unique() treats as loopback for tcp_tw_reuse=2 (net/ipv4/tcp_ipv4.c). */
export function isLoopbackIPv4(addr: number): boolean {
  return addr >>> 24 === 127;
}

export const IPV6_LOOPBACK_HEX = '00000000000000000000000000000001';
