/**
 * Accumulates the rows of /proc/net/tcp and /proc/net/tcp6 into what the headroom
 * model needs, without keeping a string or an object per socket:
 *
 * - every listening port (a bound port is skipped by connect() for every
 *   destination: __inet_hash_connect() in net/ipv4/inet_hashtables.c passes over a
 *   bind bucket whose fastreuse/fastreuseport is >= 0, i.e. one made by bind());
 * - socket counts by state, host-wide;
 * - for each non-listening socket whose local port is inside the ephemeral range,
 *   its destination key (source IP, destination IP, destination port), its local
 *   port, state and timer, in typed arrays.
 *
 * Whether a socket's local port is a listening port can only be decided once both
 * tables are read (a tcp6 listener may hold a port used by a tcp row read earlier),
 * so rows are kept and aggregated later by the headroom model.
 */
import { formatEndpoint, formatIPv4, formatIPv6, IPV6_LOOPBACK_HEX, isLoopbackIPv4 } from '../../core/addresses.js';
import { STATE_LISTEN, type TcpRowSink } from '../parse/procNetTcp.js';
import type { PortRange } from '../parse/sysctl.js';

export interface DestinationKey {
  sourceIp: string;
  /** `ip:port` or `[v6]:port`. */
  destination: string;
  destinationIp: string;
  destinationPort: number;
  family: 4 | 6;
  /** Source or destination is a loopback address: what tcp_tw_reuse=2 looks at. */
  loopback: boolean;
}

export interface SocketTable {
  range: PortRange;
  listenerPorts: ReadonlySet<number>;
  /** Count of rows per kernel state number (index 0 collects unknown numbers). */
  stateCounts: Float64Array;
  keys: readonly DestinationKey[];
  /** Parallel arrays, one entry per in-range non-listening socket. */
  recordCount: number;
  recordKey: Uint32Array;
  recordPort: Uint16Array;
  recordState: Uint8Array;
  recordTimer: Float64Array;
  rows: number;
  malformedRows: number;
  malformedSamples: readonly string[];
}

const MAX_MALFORMED_SAMPLES = 5;
const MIN_CAPACITY = 1024;

/** The per-socket record columns; see SocketTableBuilder. */
export interface RecordArrays {
  key: Uint32Array;
  port: Uint16Array;
  state: Uint8Array;
  timer: Float64Array;
}

export function newRecordArrays(n: number): RecordArrays {
  return { key: new Uint32Array(n), port: new Uint16Array(n), state: new Uint8Array(n), timer: new Float64Array(n) };
}

export class SocketTableBuilder implements TcpRowSink {
  private readonly listenerPorts = new Set<number>();
  private readonly stateCounts = new Float64Array(16);
  private readonly keys: DestinationKey[] = [];
  /** local address → remote address → remote port → key id; addresses as int32 (`| 0`). */
  private readonly v4 = new Map<number, Map<number, Map<number, number>>>();
  private readonly v6 = new Map<string, number>();
  private count = 0;
  private keyArr: Uint32Array;
  private portArr: Uint16Array;
  private stateArr: Uint8Array;
  private timerArr: Float64Array;
  private rows = 0;
  private malformedCount = 0;
  private readonly malformedSamples: string[] = [];
  /** Set by the caller before each table so malformed-line reports name the file. */
  currentSource = '';
  private firstMalformed: string | null = null;

  /**
   * `arrays`: record arrays to fill, reused from the previous table (the sampler
   * keeps them), so a sample allocates no large buffers; they are grown here when
   * too small and the grown ones are left in `arrays` for next time. The table
   * this builder returns is valid until the arrays are reused.
   */
  constructor(
    private readonly range: PortRange,
    private readonly arrays: RecordArrays = newRecordArrays(MIN_CAPACITY),
  ) {
    this.keyArr = arrays.key;
    this.portArr = arrays.port;
    this.stateArr = arrays.state;
    this.timerArr = arrays.timer;
  }

  private push(key: number, port: number, state: number, timer: number): void {
    if (this.count === this.keyArr.length) {
      const n = this.count * 2;
      const k = new Uint32Array(n);
      k.set(this.keyArr);
      this.keyArr = k;
      const p = new Uint16Array(n);
      p.set(this.portArr);
      this.portArr = p;
      const s = new Uint8Array(n);
      s.set(this.stateArr);
      this.stateArr = s;
      const t = new Float64Array(n);
      t.set(this.timerArr);
      this.timerArr = t;
      Object.assign(this.arrays, { key: k, port: p, state: s, timer: t });
    }
    this.keyArr[this.count] = key;
    this.portArr[this.count] = port;
    this.stateArr[this.count] = state;
    this.timerArr[this.count] = timer;
    this.count++;
  }

  private countState(state: number): void {
    this.rows++;
    this.stateCounts[state < this.stateCounts.length ? state : 0]!++;
  }

  row4(state: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number, timerTicks: number): void {
    this.countState(state);
    if (state === STATE_LISTEN) {
      this.listenerPorts.add(localPort);
      return;
    }
    if (localPort < this.range.low || localPort > this.range.high) return;
    // Three small-integer keys rather than one 48-bit key: an address as int32 and a
    // port are small integers to V8, so these lookups allocate nothing, while a
    // remoteAddr · 2^16 + port double would be boxed on every row.
    const lk = localAddr | 0;
    const rk = remoteAddr | 0;
    let byRemote = this.v4.get(lk);
    if (byRemote === undefined) {
      byRemote = new Map();
      this.v4.set(lk, byRemote);
    }
    let byPort = byRemote.get(rk);
    if (byPort === undefined) {
      byPort = new Map();
      byRemote.set(rk, byPort);
    }
    let id = byPort.get(remotePort);
    if (id === undefined) {
      id = this.keys.length;
      const destinationIp = formatIPv4(remoteAddr);
      this.keys.push({
        sourceIp: formatIPv4(localAddr),
        destination: formatEndpoint(destinationIp, remotePort),
        destinationIp,
        destinationPort: remotePort,
        family: 4,
        loopback: isLoopbackIPv4(localAddr) || isLoopbackIPv4(remoteAddr),
      });
      byPort.set(remotePort, id);
    }
    this.push(id, localPort, state, timerTicks);
  }

  row6(state: number, localHex: string, localPort: number, remoteHex: string, remotePort: number, timerTicks: number): void {
    this.countState(state);
    if (state === STATE_LISTEN) {
      this.listenerPorts.add(localPort);
      return;
    }
    if (localPort < this.range.low || localPort > this.range.high) return;
    const k = `${localHex}/${remoteHex}/${remotePort}`;
    let id = this.v6.get(k);
    if (id === undefined) {
      id = this.keys.length;
      const destinationIp = formatIPv6(remoteHex);
      this.keys.push({
        sourceIp: formatIPv6(localHex),
        destination: formatEndpoint(destinationIp, remotePort),
        destinationIp,
        destinationPort: remotePort,
        family: 6,
        loopback: localHex === IPV6_LOOPBACK_HEX || remoteHex === IPV6_LOOPBACK_HEX,
      });
      this.v6.set(k, id);
    }
    this.push(id, localPort, state, timerTicks);
  }

  malformed(lineNumber: number, reason: string): void {
    this.malformedCount++;
    this.firstMalformed ??= `line ${lineNumber}: ${reason}`;
    if (this.malformedSamples.length < MAX_MALFORMED_SAMPLES) {
      this.malformedSamples.push(`${this.currentSource} line ${lineNumber}: ${reason}`);
    }
  }

  /** The first malformed line ("line N: reason") since the last call, or null; the next call starts afresh. */
  takeFirstMalformed(): string | null {
    const first = this.firstMalformed;
    this.firstMalformed = null;
    return first;
  }

  get malformedRows(): number {
    return this.malformedCount;
  }

  build(): SocketTable {
    return {
      range: this.range,
      listenerPorts: this.listenerPorts,
      stateCounts: this.stateCounts,
      keys: this.keys,
      recordCount: this.count,
      recordKey: this.keyArr,
      recordPort: this.portArr,
      recordState: this.stateArr,
      recordTimer: this.timerArr,
      rows: this.rows,
      malformedRows: this.malformedCount,
      malformedSamples: this.malformedSamples,
    };
  }
}
