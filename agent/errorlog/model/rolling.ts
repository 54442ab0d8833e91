/**
 * The daemon's recent error-log window, for the hint engine: events of the last
 * few minutes by kind and destination. Pure: events and times in, a summary out.
 *
 * Kinds land in fixed time buckets keyed by the time nginx wrote the line, so the
 * window slides without keeping every line. Destinations are not counted again
 * here: every line already goes through ErrorLogCounts, so a bucket only keeps a
 * copy of its EADDRNOTAVAIL totals per destination as they stood when the bucket
 * opened, and the window's per-destination counts are "totals now − totals at the
 * window's first bucket" (both less the lines the window did not take:
 * `outside`). That keeps the per-line work to a few array stores (the ingest
 * benchmark measures it) and the destinations bounded as the metrics are.
 * Per destination only EADDRNOTAVAIL is kept: it is the one kind the hint engine
 * joins to a destination's sockets. The upstream groups of "no live upstreams"
 * lines and the proxy_bind addresses of bind() failures are kept per bucket, in
 * small maps touched only by those (rare) lines.
 */
import { ERROR_KINDS, KIND_INDEX, escapeUntrusted, type ErrorKind, type ErrorLogEvent } from '../parse/classify.js';
import { ownCopy } from '../parse/text.js';
import { MAX_NAMES, type ErrorLogEvidence, type KindCounts } from './evidence.js';
import { NO_DESTINATION, OTHER_DESTINATIONS, type ErrorLogCounts } from './counts.js';
import type { RecentSummary } from './recent.js';

/** Width of one bucket. */
const BUCKET_MS = 10_000;

interface KindEntry {
  count: number;
  firstMs: number;
  lastMs: number;
  /**
   * The latest line of the kind, as read: the window's sample, as diagnose's is
   * the newest line it reads. Escaped only when the evidence is asked for, so the
   * per-line path stays a store; at most one line per kind and bucket is held.
   */
  line: string;
}

interface Bucket {
  startMs: number;
  /** By kind index (ERROR_KINDS order); undefined until the kind is seen. */
  kinds: (KindEntry | undefined)[];
  /** The running EADDRNOTAVAIL totals per destination label when this bucket opened. */
  base: Map<string, number>;
  /** Lines in nginx's format written in this bucket (kind "other" included), and lines not in it read while it was the newest. */
  lines: number;
  unparsed: number;
  /** "no live upstreams" per group, and bind() failures per proxy_bind address, in this bucket. */
  groups: Map<string, number> | null;
  binds: Map<string, KindCounts> | null;
}

/** Distinct names a bucket keeps per map (a bucket is 10 s). */
const MAX_NAMES_PER_BUCKET = 100;

/** The kind the window counts per destination. */
const PER_DESTINATION: ErrorKind = 'eaddrnotavail';

export class RollingErrorWindow {
  private buckets: Bucket[] = [];
  /** The bucket the last event went to: nearly every line lands in the newest one. */
  private current: Bucket | null = null;
  /**
   * EADDRNOTAVAIL lines per destination label that the counts took and this
   * window did not (older than the window when read), running like the counts'
   * totals. A bucket can open before such lines are read: the "now" bucket of an
   * unparsed or future-stamped line early in a backfilled log, with hours of older
   * lines after it. "Totals now − totals at the first bucket" would then count
   * every one of them as recent; both sides of that difference leave these out.
   * Kept only while a bucket exists: before any, a line is in both sides alike.
   */
  private readonly outside = new Map<string, number>();

  /** `counts` is the ErrorLogCounts every line also goes to; add() must be called before counts.add(). */
  constructor(
    readonly windowMs: number,
    private readonly counts: ErrorLogCounts,
  ) {}

  add(event: Pick<ErrorLogEvent, 'timeMs' | 'kind' | 'destination' | 'upstreamGroup' | 'bindAddress'>, line: string, nowMs: number): void {
    if (event.timeMs < nowMs - this.windowMs) {
      this.addOlder(event.kind, event.destination, 1);
      return;
    }
    // nginx stamps lines from the clock the agent reads, so a line from the future
    // comes from a clock stepped back, a time-zone mismatch or a file that is not
    // nginx's. It is counted as happening now: a bucket per future stamp would be
    // kept until that time came (a flood of such lines took hundreds of MB and
    // seconds of the event loop), and the window must stay windowMs long.
    const atMs = Math.min(event.timeMs, nowMs);
    const startMs = Math.floor(atMs / BUCKET_MS) * BUCKET_MS;
    const b = this.current?.startMs === startMs ? this.current : this.bucketAt(startMs, nowMs);
    b.lines++;
    if (event.kind === 'other') return;
    if (event.upstreamGroup !== null) b.groups = addName(b.groups, event.upstreamGroup, (n) => (n ?? 0) + 1);
    if (event.bindAddress !== null && (event.kind === 'proxy_bind_unavailable' || event.kind === 'eaddrinuse')) {
      const kind = event.kind;
      b.binds = addName(b.binds, event.bindAddress, (c) => ({ ...c, [kind]: (c?.[kind] ?? 0) + 1 }));
    }
    const ki = KIND_INDEX.get(event.kind)!;
    const k = b.kinds[ki];
    if (k === undefined) b.kinds[ki] = { count: 1, firstMs: atMs, lastMs: atMs, line };
    else {
      k.count++;
      if (atMs < k.firstMs) k.firstMs = atMs;
      if (atMs >= k.lastMs) {
        k.lastMs = atMs;
        k.line = line;
      }
    }
  }

  /**
   * `count` lines of one kind and destination, all older than the window when
   * read, counted by the counts at once (ErrorLogCounts.addMany) instead of line
   * by line: what as many add() calls would leave. Call it before the counts take them.
   */
  addOlder(kind: ErrorKind, destination: string | null, count: number): void {
    if (kind !== PER_DESTINATION || destination === null || this.buckets.length === 0) return;
    const label = this.counts.labelFor(destination);
    this.outside.set(label, (this.outside.get(label) ?? 0) + count);
  }

  /** A line not in nginx's format, read now (it has no time of its own). */
  addUnparsed(nowMs: number): void {
    const startMs = Math.floor(nowMs / BUCKET_MS) * BUCKET_MS;
    const b = this.current?.startMs === startMs ? this.current : this.bucketAt(startMs, nowMs);
    b.unparsed++;
  }

  private bucketAt(startMs: number, nowMs: number): Bucket {
    let b = this.buckets.find((x) => x.startMs === startMs);
    if (b === undefined) {
      b = {
        startMs,
        kinds: new Array<KindEntry | undefined>(ERROR_KINDS.length),
        base: this.windowTotals(),
        lines: 0,
        unparsed: 0,
        groups: null,
        binds: null,
      };
      this.buckets.push(b);
      this.buckets.sort((x, y) => x.startMs - y.startMs);
      this.prune(nowMs);
    }
    // The lines the bucket left behind keep their own text: a line is a view of the
    // chunk it was read in (io/decode.ts), and only the current bucket's may pin one.
    if (this.current !== null && this.current !== b) for (const k of this.current.kinds) if (k !== undefined) k.line = ownCopy(k.line);
    this.current = b;
    return b;
  }

  /** The counts' EADDRNOTAVAIL totals per destination label, less the lines this window did not take. */
  private windowTotals(): Map<string, number> {
    const totals = new Map(this.counts.totalsOf(PER_DESTINATION));
    for (const [label, n] of this.outside) totals.set(label, (totals.get(label) ?? 0) - n);
    return totals;
  }

  private prune(nowMs: number): void {
    const oldest = nowMs - this.windowMs - BUCKET_MS;
    this.buckets = this.buckets.filter((b) => b.startMs >= oldest);
    if (this.current !== null && this.current.startMs < oldest) this.current = null;
  }

  private inWindow(nowMs: number): Bucket[] {
    this.prune(nowMs);
    const sinceMs = nowMs - this.windowMs;
    return this.buckets.filter((b) => b.startMs + BUCKET_MS > sinceMs);
  }

  /**
   * The window as the report's error-log section shows it, for the files being
   * tailed: the evidence, the lines, and the events by kind in the window's
   * 10 s buckets. Never truncated: every line was read as it was written.
   */
  summary(nowMs: number, files: readonly string[]): RecentSummary {
    const inWindow = this.inWindow(nowMs);
    const evidence = this.evidence(nowMs);
    return {
      sinceMs: evidence.sinceMs,
      untilMs: evidence.untilMs,
      past: false,
      files: [...files],
      lines: inWindow.reduce((n, b) => n + b.lines + b.unparsed, 0),
      unparsed: inWindow.reduce((n, b) => n + b.unparsed, 0),
      byKind: evidence.byKind.map((k) => ({ ...k })),
      byDestination: evidence.byDestination,
      byUpstreamGroup: evidence.byUpstreamGroup,
      byBindAddress: evidence.byBindAddress,
      truncated: false,
      timeline: {
        bucketMs: BUCKET_MS,
        buckets: inWindow.flatMap((b) => {
          const byKind: Partial<Record<ErrorKind, number>> = {};
          b.kinds.forEach((k, i) => {
            if (k !== undefined) byKind[ERROR_KINDS[i]!] = k.count;
          });
          return Object.keys(byKind).length === 0 ? [] : [{ startMs: b.startMs, byKind }];
        }),
      },
    };
  }

  /** Events written in the last windowMs (to bucket precision). */
  evidence(nowMs: number): ErrorLogEvidence {
    const sinceMs = nowMs - this.windowMs;
    const inWindow = this.inWindow(nowMs);
    const kinds = new Map<ErrorKind, KindEntry>();
    for (const b of inWindow) {
      for (let i = 0; i < ERROR_KINDS.length; i++) {
        const e = b.kinds[i];
        if (e === undefined) continue;
        const kind = ERROR_KINDS[i]!;
        const k = kinds.get(kind);
        if (k === undefined) kinds.set(kind, { ...e });
        else {
          k.count += e.count;
          k.firstMs = Math.min(k.firstMs, e.firstMs);
          if (e.lastMs >= k.lastMs) {
            k.lastMs = e.lastMs;
            k.line = e.line;
          }
        }
      }
    }
    const byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
    const first = inWindow[0];
    if (first !== undefined) {
      for (const [dest, n] of this.windowTotals()) {
        if (dest === NO_DESTINATION || dest === OTHER_DESTINATIONS) continue;
        const delta = n - (first.base.get(dest) ?? 0);
        if (delta > 0) byDestination[dest] = { [PER_DESTINATION]: delta };
      }
    }
    const byUpstreamGroup: Record<string, number> = {};
    const byBindAddress: Record<string, KindCounts> = {};
    for (const b of inWindow) {
      for (const [group, n] of b.groups ?? []) {
        if (group in byUpstreamGroup || Object.keys(byUpstreamGroup).length < MAX_NAMES) byUpstreamGroup[group] = (byUpstreamGroup[group] ?? 0) + n;
      }
      for (const [address, kinds] of b.binds ?? []) {
        const d = byBindAddress[address] ?? (Object.keys(byBindAddress).length < MAX_NAMES ? (byBindAddress[address] = {}) : undefined);
        if (d === undefined) continue;
        for (const [kind, n] of Object.entries(kinds) as [ErrorKind, number][]) d[kind] = (d[kind] ?? 0) + n;
      }
    }
    return {
      sinceMs,
      untilMs: nowMs,
      past: false,
      byDestination,
      byUpstreamGroup,
      byBindAddress,
      byKind: ERROR_KINDS.flatMap((kind) => {
        const k = kinds.get(kind);
        return k === undefined ? [] : [{ kind, count: k.count, firstMs: k.firstMs, lastMs: k.lastMs, sample: escapeUntrusted(k.line, 600) }];
      }),
    };
  }
}

/** Adds to a bucket's small map (made on first use), keeping at most MAX_NAMES_PER_BUCKET names. */
function addName<V>(map: Map<string, V> | null, name: string, next: (current: V | undefined) => V): Map<string, V> {
  const m = map ?? new Map<string, V>();
  const current = m.get(name);
  if (current !== undefined) m.set(name, next(current));
  else if (m.size < MAX_NAMES_PER_BUCKET) m.set(ownCopy(name), next(current)); // a key outlives the line it came from
  return m;
}
