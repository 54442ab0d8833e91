/**
 * Parser for /proc/net/tcp and /proc/net/tcp6.
 *
 * Row layout, from get_tcp4_sock() in net/ipv4/tcp_ipv4.c and get_tcp6_sock() in
 * net/ipv6/tcp_ipv6.c:
 *
 *   "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X ..."
 *    sl   local     remote    st  tx:rx      tr:tm->when  ...
 *
 * - Addresses are the raw 32-bit words of the address printed as numbers, so on
 *   a little-endian host each word's bytes come out reversed ("0100007F" is
 *   127.0.0.1). IPv6 prints four such words. Ports are already in host order.
 * - TIME_WAIT rows come from get_timewait4_sock()/get_timewait6_sock(): the state
 *   column is tw_substate (06 for TIME_WAIT, 05 for an orphaned FIN_WAIT2 kept as a
 *   timewait socket), the timer column is 03 and tm->when is the time left, in
 *   USER_HZ (1/100 s) ticks, clamped at 0 by jiffies_delta_to_clock_t().
 * - IPv4-mapped IPv6 peers (::ffff:a.b.c.d) share the IPv4 4-tuple space
 *   (tcp_v6_connect() hands them to tcp_v4_connect()), so they are reported as IPv4.
 *
 * The scanner works on bytes and calls a sink per row, so a 100 000-socket table is
 * parsed without building a string or an object per line. It is pure: bytes in,
 * calls out.
 */
import { formatIPv4, formatIPv6 } from '../../core/addresses.js';

export type Endianness = 'LE' | 'BE';
export type AddressFamily = 4 | 6;

/** Kernel TCP state numbers, include/net/tcp_states.h. */
export const TCP_STATES = {
  1: 'established',
  2: 'syn_sent',
  3: 'syn_recv',
  4: 'fin_wait1',
  5: 'fin_wait2',
  6: 'time_wait',
  7: 'close',
  8: 'close_wait',
  9: 'last_ack',
  10: 'listen',
  11: 'closing',
  12: 'new_syn_recv',
  13: 'bound_inactive',
} as const;
export type TcpStateName = (typeof TCP_STATES)[keyof typeof TCP_STATES] | 'unknown';
export const TCP_STATE_NAMES: readonly TcpStateName[] = [...Object.values(TCP_STATES), 'unknown'];

export const STATE_ESTABLISHED = 1;
export const STATE_TIME_WAIT = 6;
export const STATE_LISTEN = 10;

export function tcpStateName(state: number): TcpStateName {
  return (TCP_STATES as Record<number, TcpStateName | undefined>)[state] ?? 'unknown';
}

/** Receives each row as the scanner decodes it. Addresses are in network order (see addresses.ts). */
export interface TcpRowSink {
  row4(state: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number, timerTicks: number): void;
  row6(state: number, localHex: string, localPort: number, remoteHex: string, remotePort: number, timerTicks: number): void;
  malformed(lineNumber: number, reason: string): void;
}

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}

const SPACE = 32;
const COLON = 58;
const NEWLINE = 10;
const LOWER_S = 115;
const LOWER_L = 108;

/**
 * Longest line the scanner accepts, newline excluded. The kernel's rows are under
 * 200 bytes (get_tcp4_sock() pads to 149, tcp6 rows are about 180), so anything
 * longer is not a socket table: it is reported as one malformed line and, when
 * streamed, dropped rather than buffered, so a file of nonsense without newlines
 * costs a chunk of memory, not its size.
 */
export const MAX_LINE_BYTES = 4096;

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

function hex8(v: number): string {
  return v.toString(16).padStart(8, '0');
}

/**
 * Scan a whole /proc/net/tcp{,6} table. `length` lets a caller pass a reused buffer
 * that is larger than the data in it.
 */
export function scanProcNetTcp(
  buf: Uint8Array,
  length: number,
  family: AddressFamily,
  endianness: Endianness,
  sink: TcpRowSink,
): number {
  return scanLines(buf, 0, length, family, endianness, sink, 0).rows;
}

/**
 * Scans the lines in buf[start, end). `linesBefore` is how many lines of the table
 * came before (line 1, the header, is skipped). A line without its newline at
 * `end` is scanned as complete: callers that stream pass only whole lines.
 */
export function scanLines(
  buf: Uint8Array,
  start: number,
  end: number,
  family: AddressFamily,
  endianness: Endianness,
  sink: TcpRowSink,
  linesBefore: number,
): { rows: number; lines: number } {
  const length = end;
  const addrWords = family === 4 ? 1 : 4;
  const swap = endianness === 'LE';
  const words = new Uint32Array(8);
  let rows = 0;
  let lineNumber = linesBefore;
  let pos = start;
  while (pos < length) {
    let eol = buf.indexOf(NEWLINE, pos);
    if (eol < 0 || eol > length) eol = length;
    lineNumber++;
    const start = pos;
    pos = eol + 1;
    if (eol - start > MAX_LINE_BYTES) {
      sink.malformed(lineNumber, `line longer than ${MAX_LINE_BYTES} bytes`);
      continue;
    }
    let p = start;
    while (p < eol && buf[p] === SPACE) p++;
    if (lineNumber === 1) {
      // The "  sl  local_address ..." header: a table without it is not the kernel's.
      if (buf[p] !== LOWER_S || buf[p + 1] !== LOWER_L || buf[p + 2] !== SPACE) sink.malformed(1, 'no "sl  local_address" header line');
      continue;
    }
    if (p === eol) continue; // blank line
    // "sl:" slot number, any width
    while (p < eol && HEX[buf[p]!]! >= 0) p++;
    if (buf[p] !== COLON) {
      sink.malformed(lineNumber, 'no "sl:" slot column');
      continue;
    }
    p++;
    // Two endpoints: addrWords × 8 hex digits, ':', 4 hex digits, each preceded by spaces.
    let ok = true;
    // Two locals rather than a per-row array: this loop runs once per socket.
    let localPort = 0;
    let remotePort = 0;
    for (let e = 0; e < 2 && ok; e++) {
      while (p < eol && buf[p] === SPACE) p++;
      for (let w = 0; w < addrWords; w++) {
        let v = 0;
        for (let k = 0; k < 8; k++) {
          const d = p < eol ? HEX[buf[p++]!]! : -1;
          if (d < 0) {
            ok = false;
            break;
          }
          v = v * 16 + d;
        }
        if (!ok) break;
        words[e * 4 + w] = swap ? bswap32(v) : v;
      }
      if (!ok || buf[p] !== COLON) {
        ok = false;
        break;
      }
      p++;
      let port = 0;
      for (let k = 0; k < 4; k++) {
        const d = p < eol ? HEX[buf[p++]!]! : -1;
        if (d < 0) {
          ok = false;
          break;
        }
        port = port * 16 + d;
      }
      if (buf[p] !== SPACE) ok = false;
      if (e === 0) localPort = port;
      else remotePort = port;
    }
    if (!ok) {
      sink.malformed(lineNumber, `bad address column (expected ${addrWords * 8} hex digits, ":", 4 hex digits)`);
      continue;
    }
    // state
    while (p < eol && buf[p] === SPACE) p++;
    const s1 = p + 2 < eol ? HEX[buf[p]!]! : -1;
    const s2 = p + 2 < eol ? HEX[buf[p + 1]!]! : -1;
    if (s1 < 0 || s2 < 0 || buf[p + 2] !== SPACE) {
      sink.malformed(lineNumber, 'bad state column');
      continue;
    }
    const state = s1 * 16 + s2;
    p += 2;
    const when = timerWhen(buf, p, eol);
    if (when < 0) {
      sink.malformed(lineNumber, when === NO_TIMER_COLUMN ? 'no "tr:tm->when" timer column' : 'bad tm->when value');
      continue;
    }
    rows++;
    emitRow(sink, family, state, words, localPort, remotePort, when);
  }
  return { rows, lines: lineNumber - linesBefore };
}

const NO_TIMER_COLUMN = -1;
const BAD_TIMER_VALUE = -2;

/**
 * tm->when of a row, read from just after the state column: skips tx_queue:rx_queue,
 * then reads the hex digits after "tr:". NO_TIMER_COLUMN or BAD_TIMER_VALUE when
 * the columns are not there.
 */
function timerWhen(buf: Uint8Array, from: number, eol: number): number {
  let p = from;
  // tx_queue:rx_queue, skipped
  while (p < eol && buf[p] === SPACE) p++;
  while (p < eol && buf[p] !== SPACE) p++;
  // tr:tm->when
  while (p < eol && buf[p] === SPACE) p++;
  while (p < eol && buf[p] !== COLON && buf[p] !== SPACE) p++;
  if (buf[p] !== COLON) return NO_TIMER_COLUMN;
  p++;
  let when = 0;
  let digits = 0;
  while (p < eol) {
    const d = HEX[buf[p]!]!;
    if (d < 0) break;
    when = when * 16 + d;
    digits++;
    p++;
  }
  return digits === 0 ? BAD_TIMER_VALUE : when;
}

/**
 * Hands one decoded row to the sink. IPv4-mapped IPv6 peers share the IPv4
 * 4-tuple space (tcp_v6_connect() hands them to tcp_v4_connect()), so they go
 * out as IPv4 rows.
 */
function emitRow(sink: TcpRowSink, family: AddressFamily, state: number, words: Uint32Array, localPort: number, remotePort: number, when: number): void {
  if (family === 4) {
    sink.row4(state, words[0]!, localPort, words[4]!, remotePort, when);
    return;
  }
  const localMapped = words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
  const remoteMapped = words[4] === 0 && words[5] === 0 && words[6] === 0xffff;
  // A socket is IPv4-mapped on both ends or on none (except the unspecified
  // address of a listener bound to ::), so treat the pair by its remote end, and
  // a listener by its local end.
  const remoteUnspecified = words[4] === 0 && words[5] === 0 && words[6] === 0 && words[7] === 0;
  if (remoteMapped || (remoteUnspecified && localMapped)) {
    sink.row4(state, localMapped ? words[3]! : 0, localPort, remoteMapped ? words[7]! : 0, remotePort, when);
    return;
  }
  sink.row6(
    state,
    hex8(words[0]!) + hex8(words[1]!) + hex8(words[2]!) + hex8(words[3]!),
    localPort,
    hex8(words[4]!) + hex8(words[5]!) + hex8(words[6]!) + hex8(words[7]!),
    remotePort,
    when,
  );
}

/**
 * Feeds a table to scanLines in chunks as they are read, so the whole table (18 MB
 * for 120 000 sockets) never sits in memory: only a chunk and one partial line of
 * at most MAX_LINE_BYTES.
 */
export class TcpTableStream {
  private carry = new Uint8Array(512);
  private carryLength = 0;
  /** Inside a line longer than MAX_LINE_BYTES: its bytes are dropped up to its newline. */
  private overlong = false;
  private lines = 0;
  rows = 0;

  constructor(
    private readonly family: AddressFamily,
    private readonly endianness: Endianness,
    private readonly sink: TcpRowSink,
  ) {}

  private scan(buf: Uint8Array, start: number, end: number): void {
    const r = scanLines(buf, start, end, this.family, this.endianness, this.sink, this.lines);
    this.rows += r.rows;
    this.lines += r.lines;
  }

  /** Appends buf[start, end) to the partial line, unless that makes it longer than MAX_LINE_BYTES. */
  private keep(buf: Uint8Array, start: number, end: number): void {
    if (this.overlong) return;
    const need = this.carryLength + (end - start);
    const content = end > start && buf[end - 1] === NEWLINE ? need - 1 : need;
    if (content > MAX_LINE_BYTES) {
      this.overlong = true;
      this.carryLength = 0;
      return;
    }
    if (need > this.carry.length) {
      const bigger = new Uint8Array(Math.min(MAX_LINE_BYTES + 1, Math.max(need, this.carry.length * 2)));
      bigger.set(this.carry.subarray(0, this.carryLength));
      this.carry = bigger;
    }
    this.carry.set(buf.subarray(start, end), this.carryLength);
    this.carryLength = need;
  }

  /** The partial line is complete: scan it, or report it as too long as scanLines would. */
  private finishPartial(): void {
    if (this.overlong) {
      this.lines++;
      this.sink.malformed(this.lines, `line longer than ${MAX_LINE_BYTES} bytes`);
      this.overlong = false;
    } else if (this.carryLength > 0) {
      this.scan(this.carry, 0, this.carryLength);
    }
    this.carryLength = 0;
  }

  push(buf: Uint8Array, length: number): void {
    let start = 0;
    if (this.carryLength > 0 || this.overlong) {
      const nl = buf.indexOf(NEWLINE);
      if (nl < 0 || nl >= length) {
        this.keep(buf, 0, length);
        return;
      }
      this.keep(buf, 0, nl + 1);
      this.finishPartial();
      start = nl + 1;
    }
    const last = buf.lastIndexOf(NEWLINE, length - 1);
    if (last >= start) {
      this.scan(buf, start, last + 1);
      start = last + 1;
    }
    if (start < length) this.keep(buf, start, length);
  }

  /** The last line, if the table did not end with a newline. */
  end(): void {
    this.finishPartial();
  }
}

/** One decoded row, for callers that want objects rather than a sink (tests, small tables). */
export interface TcpRow {
  family: AddressFamily;
  state: TcpStateName;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** tm->when: for TIME_WAIT rows, the time left in 1/100 s. */
  timerTicks: number;
}

export interface MalformedLine {
  lineNumber: number;
  reason: string;
}

export interface ParsedTcpTable {
  rows: TcpRow[];
  malformed: MalformedLine[];
}

export function parseProcNetTcp(
  text: string | Uint8Array,
  family: AddressFamily,
  endianness: Endianness = 'LE',
): ParsedTcpTable {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const rows: TcpRow[] = [];
  const malformed: MalformedLine[] = [];
  scanProcNetTcp(bytes, bytes.length, family, endianness, {
    row4(state, localAddr, localPort, remoteAddr, remotePort, timerTicks) {
      rows.push({
        family: 4,
        state: tcpStateName(state),
        localIp: formatIPv4(localAddr),
        localPort,
        remoteIp: formatIPv4(remoteAddr),
        remotePort,
        timerTicks,
      });
    },
    row6(state, localHex, localPort, remoteHex, remotePort, timerTicks) {
      rows.push({
        family: 6,
        state: tcpStateName(state),
        localIp: formatIPv6(localHex),
        localPort,
        remoteIp: formatIPv6(remoteHex),
        remotePort,
        timerTicks,
      });
    },
    malformed(lineNumber, reason) {
      malformed.push({ lineNumber, reason });
    },
  });
  return { rows, malformed };
}
