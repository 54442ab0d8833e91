/**
 * The benchmark's netlink measures (run by inner.ts inside the namespace). The
 * kernel's sock_diag interface answers a dump of every TCP socket with binary
 * inet_diag_msg records instead of /proc/net/tcp's text; iproute2's `ss` uses it.
 *
 *   ssText       `ss -tanH` to /dev/null: the walk, the records, and ss formatting text
 *   ssWalk       `ss -tanH 'sport = :1'`: the filter goes to the kernel as bytecode
 *                (INET_DIAG_REQ_BYTECODE) and matches no socket, so the kernel walks
 *                every socket and sends none: the walk alone
 *   ssParsed     `ss -tanH` read through a pipe and parsed here, as the agent would
 *                have to if it spawned ss: states counted, outbound rows grouped by peer
 *   nldump       nldump.c: the dump, binary records walked, no text anywhere: what a
 *                native addon would cost (measured only where a C compiler built it)
 */
import { spawn, spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';

let devNull = -1;
function nullFd(): number {
  if (devNull < 0) devNull = openSync('/dev/null', 'w');
  return devNull;
}

export function ssText(): void {
  const r = spawnSync('ss', ['-tanH'], { stdio: ['ignore', nullFd(), 'inherit'] });
  if (r.status !== 0) throw new Error(`ss -tanH exited with ${r.status ?? r.signal ?? '?'}`);
}

/** A port nothing in the namespace uses (the holders listen on 5001–5005 and 6001–6004, clients use 10000–65535). */
export const NOTHING_FILTER = 'sport = :1';

export function ssWalk(): void {
  const r = spawnSync('ss', ['-tanH', NOTHING_FILTER], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`ss -tanH '${NOTHING_FILTER}' exited with ${r.status ?? r.signal ?? '?'}`);
  if (r.stdout.length !== 0) throw new Error(`ss -tanH '${NOTHING_FILTER}' matched sockets; the walk measure needs a filter that matches none`);
}

export interface SsParsed {
  rows: number;
  byState: Record<string, number>;
  destinations: number;
  outbound: number;
}

const SP = 0x20;
const NL = 0x0a;

/**
 * Parses `ss -tanH` rows ("ESTAB 0 0 127.0.0.1:10001 127.0.0.10:5001") on bytes, the
 * way the agent parses /proc/net/tcp: the state, the local port, and for rows from
 * an ephemeral local port the peer, keyed by number for IPv4 (text for IPv6).
 */
export class SsRowParser {
  private carry: Buffer | null = null;
  readonly byState = new Map<string, number>();
  readonly peers = new Map<number | string, number>();
  rows = 0;
  outbound = 0;

  constructor(
    private readonly lowPort: number,
    private readonly highPort: number,
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry !== null) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let pos = 0;
    for (;;) {
      const eol = buf.indexOf(NL, pos);
      if (eol < 0) break;
      this.row(buf, pos, eol);
      pos = eol + 1;
    }
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos));
  }

  end(): SsParsed {
    if (this.carry !== null) this.row(this.carry, 0, this.carry.length);
    this.carry = null;
    return { rows: this.rows, byState: Object.fromEntries(this.byState), destinations: this.peers.size, outbound: this.outbound };
  }

  private row(buf: Buffer, start: number, end: number): void {
    const fields: number[] = [];
    let p = start;
    while (p < end && fields.length < 10) {
      while (p < end && buf[p] === SP) p++;
      if (p >= end) break;
      const s = p;
      while (p < end && buf[p] !== SP) p++;
      fields.push(s, p);
    }
    if (fields.length < 10) return;
    this.rows++;
    const state = buf.toString('latin1', fields[0], fields[1]);
    this.byState.set(state, (this.byState.get(state) ?? 0) + 1);
    const localEnd = fields[7]!;
    const localPort = parsePort(buf, buf.lastIndexOf(0x3a, localEnd - 1) + 1, localEnd);
    if (localPort < this.lowPort || localPort > this.highPort || state === 'LISTEN') return;
    this.outbound++;
    const key = peerKey(buf, fields[8]!, fields[9]!);
    this.peers.set(key, (this.peers.get(key) ?? 0) + 1);
  }
}

function parsePort(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + buf[i]! - 0x30;
  return n;
}

/** `a.b.c.d:port` as one number; anything else (IPv6, `*`) as its text. */
function peerKey(buf: Buffer, start: number, end: number): number | string {
  let ip = 0;
  let octet = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e) {
      ip = ip * 256 + octet;
      octet = 0;
      dots++;
    } else if (c === 0x3a) {
      if (dots !== 3) break;
      return (ip * 256 + octet) * 65536 + parsePort(buf, i + 1, end);
    } else if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + c - 0x30;
    } else {
      break;
    }
  }
  return buf.toString('latin1', start, end);
}

export function ssParsed(lowPort: number, highPort: number): Promise<SsParsed> {
  return new Promise<SsParsed>((resolve, reject) => {
    const parser = new SsRowParser(lowPort, highPort);
    const child = spawn('ss', ['-tanH'], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk: Buffer) => {
      parser.push(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) reject(new Error(`ss -tanH exited with ${code ?? signal ?? '?'}`));
      else resolve(parser.end());
    });
  });
}

export interface NlDump {
  records: number;
  bytes: number;
  recvs: number;
  byState: Record<string, number>;
}

export function nldump(path: string): NlDump {
  const r = spawnSync(path, [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${path} exited with ${r.status ?? r.signal ?? '?'}`);
  return JSON.parse(r.stdout) as NlDump;
}
