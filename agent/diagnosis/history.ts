/**
 * The daemon's memory of the last hour, for the status page's charts: one small
 * entry per sample in a ring buffer of fixed size, so it never grows however
 * long the daemon runs. Pure: each entry is taken from the report the daemon
 * built for that sample (so a chart can only show what the report said), and
 * time is a parameter.
 */
import type { Report } from './report.js';

/** Entries kept: an hour at the default 5 s sample interval. */
export const HISTORY_CAPACITY = 720;
/** Destinations kept per entry, least headroom first. */
export const HISTORY_DESTINATIONS = 5;

export interface HistoryDestination {
  /** "source → destination", as findings name a destination. */
  id: string;
  /** Upstream groups that reach it, when nginx's config maps it. */
  upstreams?: string[];
  headroom: number;
  capacity: number;
  connectRatePerSecond: number;
  /** Set when the connect rate is only a lower bound (the report's connectRate.lowerBound). */
  connectRateLowerBound?: true;
  maxSustainableConnectRate: number;
}

export interface HistoryEntry {
  atMs: number;
  /** The least headroom ratio of any destination; 1 with none; null when headroom could not be computed. */
  minRatio: number | null;
  destinations: HistoryDestination[];
  /** Host-wide connect attempts per second (Tcp ActiveOpens), null when not measured. */
  connectAttemptsPerSecond: number | null;
  /** Error-log events by kind read since the previous entry (kinds with none left out); null without error logs. */
  errors: Record<string, number> | null;
}

export interface HistorySnapshot {
  /** The interval entries are taken at. */
  intervalMs: number;
  capacity: number;
  /** Oldest first. */
  entries: HistoryEntry[];
}

export const destinationId = (d: { sourceIp: string; destination: string }): string => `${d.sourceIp} → ${d.destination}`;

/** One entry from a report; `errors` are the events since the previous entry. */
export function historyEntry(report: Report, atMs: number, errors: Record<string, number> | null): HistoryEntry {
  const worst = report.destinations[0];
  return {
    atMs,
    minRatio: report.portRange === null ? null : (worst?.headroomRatio ?? 1),
    destinations: report.destinations.slice(0, HISTORY_DESTINATIONS).map((d) => ({
      id: destinationId(d),
      ...(d.upstreams !== undefined && d.upstreams.length > 0 ? { upstreams: d.upstreams } : {}),
      headroom: d.headroom,
      capacity: d.capacity,
      connectRatePerSecond: d.connectRatePerSecond,
      ...(d.connectRate.lowerBound ? { connectRateLowerBound: true as const } : {}),
      maxSustainableConnectRate: d.maxSustainableConnectRate,
    })),
    connectAttemptsPerSecond: report.hostSockets?.connectAttemptsPerSecond ?? null,
    errors,
  };
}

/** The change of running totals since `before` (kinds with no change left out). */
export function totalsDelta(before: Readonly<Record<string, number>> | null, now: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, n] of Object.entries(now)) {
    const d = n - (before?.[kind] ?? 0);
    if (d > 0) out[kind] = d;
  }
  return out;
}

/** A ring buffer of HistoryEntry: adding beyond `capacity` overwrites the oldest. */
export class SampleHistory {
  private readonly buf: (HistoryEntry | undefined)[];
  private next = 0;
  private size = 0;
  private lastTotals: Record<string, number> | null = null;

  constructor(
    readonly intervalMs: number,
    readonly capacity: number = HISTORY_CAPACITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be a positive integer, got ${capacity}`);
    this.buf = new Array<HistoryEntry | undefined>(capacity);
  }

  add(entry: HistoryEntry): void {
    this.buf[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /**
   * Adds the entry for a report. `errorTotals` are the running error-log totals
   * by kind; the entry keeps what changed since the last call (the first call
   * counts everything read since the start).
   */
  record(report: Report, atMs: number, errorTotals: Readonly<Record<string, number>> | null): HistoryEntry {
    const errors = errorTotals === null ? null : totalsDelta(this.lastTotals, errorTotals);
    if (errorTotals !== null) this.lastTotals = { ...errorTotals };
    const entry = historyEntry(report, atMs, errors);
    this.add(entry);
    return entry;
  }

  get length(): number {
    return this.size;
  }

  /** Every entry, oldest first. */
  entries(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out.push(this.buf[(start + i) % this.capacity]!);
    return out;
  }

  /** The entries of the last `spanMs` before `nowMs` (an entry from the future, after a clock step back, is left out). */
  snapshot(nowMs: number, spanMs: number = this.capacity * this.intervalMs): HistorySnapshot {
    return {
      intervalMs: this.intervalMs,
      capacity: this.capacity,
      entries: this.entries().filter((e) => e.atMs > nowMs - spanMs && e.atMs <= nowMs),
    };
  }
}
