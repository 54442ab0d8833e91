/**
 * The sockets the benchmark measures, grown size by size and kept between sizes:
 *
 * - ESTABLISHED: pairs of holder processes (holder.ts), a server on its own
 *   127.0.0.x addresses and ports below the ephemeral range and a client connected
 *   to it, each holding at most RLIMIT_NOFILE − margin connections (one end each);
 * - TIME_WAIT: churner processes (churner.ts) holding the namespace's TIME_WAIT count
 *   at its target, measured on the kernel's own count (/proc/net/sockstat `tw`).
 *
 * Every destination keeps well inside its 4-tuple space: a client's connections to
 * one (address, port) share the 55 536 ports of the range 10000–65535, and the
 * churners spread TIME_WAIT over churnAddresses × churnPorts destinations.
 */
import { fileURLToPath } from 'node:url';
import { CONFIG } from './config.js';
import { LineChild, log, run } from './namespace.js';
import { fmt } from './stats.js';

const HOLDER_JS = fileURLToPath(new URL('./holder.js', import.meta.url));
const CHURNER_JS = fileURLToPath(new URL('./churner.js', import.meta.url));

/** The hard RLIMIT_NOFILE children inherit (Node raises its soft limit to it at start-up). */
export function hardNofile(): number {
  const n = Number(run('sh', ['-c', 'ulimit -Hn']).trim());
  return Number.isInteger(n) && n > 0 ? n : 1024;
}

interface Pair {
  index: number;
  server: LineChild;
  client: LineChild;
  held: number;
}

export interface TimeWaitStats {
  tw: number;
  twMin: number;
  twMax: number;
  /** Seconds into the window of the lowest count, and the churners' connections on their way then. */
  twMinAtS: number;
  twMinConnecting: number;
  twMinClosing: number;
  /** The longest gap between two of a churner's ticks. */
  tickGapMaxMs: number;
  seconds: number;
  made: number;
  failed: number;
  lastFailure: string;
  /** Closes whose server end never closed within 10 s (churner.ts), since the churner started. */
  lost: number;
  lifeMeanMs: number;
  lifeMaxMs: number;
  cpuMs: number;
}

/** When the lowest count of the window was seen (by whichever churner saw it), and what each churner had on its way at its own lowest tick, summed. */
function lowest(all: TimeWaitStats[]): Pick<TimeWaitStats, 'twMinAtS' | 'twMinConnecting' | 'twMinClosing'> {
  const low = all.reduce((a, b) => (b.twMin < a.twMin ? b : a));
  return {
    twMinAtS: low.twMinAtS,
    twMinConnecting: all.reduce((sum, s) => sum + s.twMinConnecting, 0),
    twMinClosing: all.reduce((sum, s) => sum + s.twMinClosing, 0),
  };
}

export class Population {
  private readonly pairs: Pair[] = [];
  private readonly churners: LineChild[] = [];
  readonly perProcess: number;
  timeWaitTarget = 0;

  constructor(nofile: number) {
    this.perProcess = Math.max(1000, nofile - CONFIG.nofileMargin);
  }

  get connections(): number {
    return this.pairs.reduce((s, p) => s + p.held, 0);
  }

  get processes(): number {
    return this.pairs.length * 2 + this.churners.length;
  }

  get listeners(): number {
    return this.pairs.length * CONFIG.serverAddressesPerHolder * CONFIG.serverPorts.length + CONFIG.churnAddresses * CONFIG.churnPorts.length;
  }

  async startChurners(): Promise<void> {
    const addresses: string[] = [];
    for (let a = 0; a < CONFIG.churnAddresses; a++) addresses.push(`127.0.1.${10 + a}`);
    const per = Math.ceil(addresses.length / CONFIG.churners);
    for (let i = 0; i < CONFIG.churners; i++) {
      const c = new LineChild(`churner ${i}`, CHURNER_JS, {
        index: i,
        addresses: addresses.slice(i * per, (i + 1) * per),
        ports: CONFIG.churnPorts,
        share: 1 / CONFIG.churners,
        concurrency: CONFIG.churnConcurrency,
        tickMs: CONFIG.churnTickMs,
      });
      this.churners.push(c);
    }
    for (const c of this.churners) {
      const m = await c.next('listening', 30_000);
      log(`  churner ${c.name}: ${String(m['listeners'])} listeners, connecting at ${String(m['nice'])}`);
    }
  }

  /** Sets the TIME_WAIT target and the churners' fill and refill caps (config.ts). */
  async setTimeWait(target: number): Promise<void> {
    this.timeWaitTarget = target;
    const steady = target / 60;
    const fillRatePerSecond = Math.ceil(CONFIG.churnFill * steady);
    const refillRatePerSecond = Math.max(CONFIG.churnRefillMin, Math.ceil(CONFIG.churnRefill * steady));
    const aim = Math.round(target * CONFIG.churnAim);
    for (const c of this.churners) c.send({ cmd: 'target', timeWait: aim, fillRatePerSecond, refillRatePerSecond });
    for (const c of this.churners) await c.next('target', 10_000);
    log(
      `  TIME_WAIT target ${target}, held with its peaks at ${aim} (steady ${fmt(steady, 0)} connections/s; fill at ${fillRatePerSecond}/s, refill up to ${refillRatePerSecond}/s, ` +
        `over ${this.churners.length} churners)`,
    );
  }

  /** The window since the last call, over all churners: the kernel's count at the end, its min and max, connections made. */
  async timeWaitStats(): Promise<TimeWaitStats> {
    for (const c of this.churners) c.send({ cmd: 'stats' });
    const all: TimeWaitStats[] = [];
    for (const c of this.churners) all.push((await c.next('stats', 10_000)) as unknown as TimeWaitStats);
    // Every churner reads the same namespace-wide count; min/max over their ticks.
    return {
      tw: all[all.length - 1]?.tw ?? 0,
      twMin: Math.min(...all.map((s) => s.twMin)),
      twMax: Math.max(...all.map((s) => s.twMax)),
      ...lowest(all),
      tickGapMaxMs: Math.max(...all.map((s) => s.tickGapMaxMs)),
      seconds: Math.max(...all.map((s) => s.seconds)),
      made: all.reduce((s, x) => s + x.made, 0),
      failed: all.reduce((s, x) => s + x.failed, 0),
      lastFailure: all.map((x) => x.lastFailure).filter((x) => x !== '').join('; '),
      lost: all.reduce((s, x) => s + x.lost, 0),
      lifeMeanMs: Math.max(...all.map((s) => s.lifeMeanMs)),
      lifeMaxMs: Math.max(...all.map((s) => s.lifeMaxMs)),
      cpuMs: all.reduce((s, x) => s + x.cpuMs, 0),
    };
  }

  /** Waits until the TIME_WAIT count is within settleShare of the target. */
  async settleTimeWait(): Promise<{ seconds: number; tw: number }> {
    const started = Date.now();
    const within = Math.ceil(this.timeWaitTarget * CONFIG.settleShare);
    for (;;) {
      const s = await this.timeWaitStats();
      if (Math.abs(s.tw - this.timeWaitTarget) <= within) return { seconds: (Date.now() - started) / 1000, tw: s.tw };
      if (Date.now() - started > CONFIG.settleTimeoutS * 1000) {
        throw new Error(`TIME_WAIT did not reach ${this.timeWaitTarget} ± ${within} in ${CONFIG.settleTimeoutS} s (at ${s.tw}; ${s.failed} churn connections failed)`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async addPair(): Promise<Pair> {
    const index = this.pairs.length;
    const addresses: string[] = [];
    for (let a = 0; a < CONFIG.serverAddressesPerHolder; a++) addresses.push(`127.0.0.${10 + index * CONFIG.serverAddressesPerHolder + a}`);
    if (10 + (index + 1) * CONFIG.serverAddressesPerHolder > 255) throw new Error('too many holder pairs for 127.0.0.0/24');
    const server = new LineChild(`server ${index}`, HOLDER_JS, { role: 'server', index, addresses, ports: CONFIG.serverPorts });
    await server.next('listening', 30_000);
    const targets = addresses.flatMap((host) => CONFIG.serverPorts.map((port) => ({ host, port })));
    const client = new LineChild(`client ${index}`, HOLDER_JS, { role: 'client', index, targets, concurrency: CONFIG.connectConcurrency });
    const pair = { index, server, client, held: 0 };
    this.pairs.push(pair);
    return pair;
  }

  /** Grows the ESTABLISHED connections to `connections`: fills the pairs there are, then adds pairs. */
  async growConnections(connections: number): Promise<void> {
    const started = Date.now();
    const growing: { pair: Pair; to: number }[] = [];
    let left = connections - this.connections;
    for (const pair of this.pairs) {
      if (left <= 0) break;
      const add = Math.min(left, this.perProcess - pair.held);
      if (add > 0) growing.push({ pair, to: pair.held + add });
      left -= Math.max(0, add);
    }
    while (left > 0) {
      const pair = await this.addPair();
      const add = Math.min(left, this.perProcess);
      growing.push({ pair, to: add });
      left -= add;
    }
    for (const g of growing) g.pair.client.send({ cmd: 'grow', to: g.to });
    for (const g of growing) {
      const m = await g.pair.client.next('grown', 300_000);
      if (m['held'] !== g.to) throw new Error(`client ${g.pair.index} holds ${String(m['held'])} connections, wanted ${g.to}`);
      g.pair.held = g.to;
    }
    // Every connection must also be accepted and held by its server (not queued, not closed).
    for (const g of growing) {
      const until = Date.now() + 30_000;
      for (;;) {
        g.pair.server.send({ cmd: 'count' });
        const m = await g.pair.server.next('count', 10_000);
        if (m['held'] === g.to) break;
        if (Date.now() > until) throw new Error(`server ${g.pair.index} accepted ${String(m['held'])} of ${g.to} connections`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if (growing.length > 0) {
      log(
        `  ESTABLISHED: ${this.connections} connections (${this.connections * 2} sockets) over ${this.pairs.length} holder pairs, ` +
          `≤ ${this.perProcess} per process; grown in ${fmt((Date.now() - started) / 1000)} s`,
      );
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.churners, ...this.pairs.flatMap((p) => [p.client, p.server])].map((c) => c.stop()));
  }
}
