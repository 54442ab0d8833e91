/** Builds /proc/net/tcp text the way get_tcp4_sock()/get_tcp6_sock() print it (little-endian host). */
import { parseIp } from '../../agent/core/cidr.js';

const HEADER4 = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}

function v4hex(ip: string): string {
  return hex(
    ip
      .split('.')
      .map(Number)
      .reverse()
      .reduce((acc, b) => acc * 256 + b, 0),
    8,
  );
}

export interface Row {
  local: string;
  lport: number;
  remote?: string;
  rport?: number;
  /** Kernel state number: 1 ESTABLISHED, 5 FIN_WAIT2, 6 TIME_WAIT, 10 LISTEN. */
  state: number;
  /** tm->when in 1/100 s (time left for TIME_WAIT). */
  when?: number;
}

/** tcp6's address column: four 32-bit words of the address, each printed in the host's (little-endian) byte order. */
function v6hex(ip: string): string {
  const addr = parseIp(ip.includes(':') ? ip : `::ffff:${ip}`);
  if (addr === null) throw new Error(`not an address: ${ip}`);
  const value = addr.family === 4 ? addr.value + (0xffffn << 32n) : addr.value;
  const words = [96n, 64n, 32n, 0n].map((shift) => Number((value >> shift) & 0xffffffffn));
  return words.map((w) => hex(((w & 0xff) << 24 | (w & 0xff00) << 8 | (w >>> 8) & 0xff00 | (w >>> 24)) >>> 0, 8)).join('');
}

const HEADER6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** /proc/net/tcp6 text; an IPv4 address given for either end is written IPv4-mapped (::ffff:a.b.c.d), as the kernel does for such sockets. */
export function tcp6(rows: readonly Row[]): string {
  return (
    HEADER6 +
    rows
      .map(
        (r, i) =>
          `${String(i).padStart(4)}: ${v6hex(r.local)}:${hex(r.lport, 4)} ${v6hex(r.remote ?? '::')}:${hex(r.rport ?? 0, 4)} ` +
          `${hex(r.state, 2)} 00000000:00000000 ${r.state === 6 || r.state === 5 ? '03' : '00'}:${hex(r.when ?? 0, 8)} 00000000     0        0 0 1 0000000000000000`,
      )
      .join('\n') +
    '\n'
  );
}

export function tcp4(rows: readonly Row[]): string {
  return (
    HEADER4 +
    rows
      .map(
        (r, i) =>
          `${String(i).padStart(4)}: ${v4hex(r.local)}:${hex(r.lport, 4)} ${v4hex(r.remote ?? '0.0.0.0')}:${hex(r.rport ?? 0, 4)} ` +
          `${hex(r.state, 2)} 00000000:00000000 ${r.state === 6 || r.state === 5 ? '03' : '00'}:${hex(r.when ?? 0, 8)} 00000000     0        0 0 1 0000000000000000`,
      )
      .join('\n') +
    '\n'
  );
}

/** `n` TIME_WAIT rows from `local` ports starting at `firstPort` towards remote:rport, each with `when` ticks left. */
export function timeWaits(n: number, local: string, firstPort: number, remote: string, rport: number, when: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ local, lport: firstPort + i, remote, rport, state: 6, when }));
}

export function established(n: number, local: string, firstPort: number, remote: string, rport: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ local, lport: firstPort + i, remote, rport, state: 1 }));
}

/** nginx's error-log time format, in local time, for an instant. */
export function nginxTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** An nginx "(99: Cannot assign requested address)" line at `ms` towards `dest`. */
export function eaddrnotavailLine(ms: number, dest: string, cid = 1): string {
  return `${nginxTime(ms)} [crit] 100#100: *${cid} connect() to ${dest} failed (99: Cannot assign requested address) while connecting to upstream, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://${dest}/", host: "127.0.0.1:8080"`;
}
