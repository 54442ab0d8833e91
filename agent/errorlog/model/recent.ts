/**
 * The window of an error log for `agent diagnose`: lines in (in any order:
 * newest first from the backwards reader, oldest first from a .gz stream), a
 * summary out. Pure. Only counts are kept, plus one raw line per kind, so the
 * memory does not grow with the window.
 */
import type { NginxVersion } from '../../core/nginxVersion.js';
import { LOCAL_ZONE, type TimeZone } from '../../core/timeZone.js';
import { classifyInto, ERROR_KINDS, KIND_INDEX, escapeUntrusted, newLineFields, TimeMemo, type ErrorKind } from '../parse/classify.js';
import { startupVersion } from '../parse/startupVersion.js';
import { ownCopy } from '../parse/text.js';
import { kindCountsOf, kindRow, MAX_NAMES, type KindCounts } from './evidence.js';
import { mergeTimelines, TimelineCounter, type KindTimeline } from './timeline.js';

/** nginx's start-up line (parse/startupVersion.ts): the version it announced, and when. */
export interface StartupVersionSeen extends NginxVersion {
  timeMs: number;
  /** The line, escaped. */
  line: string;
}

export interface KindSummary {
  kind: ErrorKind;
  count: number;
  /** Unix ms of the first and last event in the window. */
  firstMs: number;
  lastMs: number;
  /** The newest line of this kind, escaped (control and ANSI bytes shown as \xHH). */
  sample: string;
}

export interface RecentSummary {
  sinceMs: number;
  untilMs: number;
  /** The window ended before the sockets were sampled (set by the caller, who knows when that was). */
  past: boolean;
  files: string[];
  lines: number;
  unparsed: number;
  byKind: KindSummary[];
  /** Events per destination (`ip:port`, `[v6]:port`, `unix:/path`), by kind. */
  byDestination: Record<string, KindCounts>;
  /** "no live upstreams" per upstream group. */
  byUpstreamGroup: Record<string, number>;
  /** bind() failures per proxy_bind address, by kind. */
  byBindAddress: Record<string, KindCounts>;
  /** Set when a byte limit stopped the scan before the window's start. */
  truncated: boolean;
  /** The newest start-up line in the window (nginx logs its version when it starts), or null. */
  nginxVersion?: StartupVersionSeen | null;
  /** Events by kind over time, when the window was given a timeline (the HTML report's chart). */
  timeline?: KindTimeline;
}

/** How a window buckets its events over time: bucket width, and the window's end (later lines count there). */
export interface TimelineOptions {
  bucketMs: number;
  untilMs: number;
}

/** How a backwards scan ended: at the file's start, at a line older than the window, or at its byte limit. */
export type ScanEnd = 'start' | 'window' | 'limit';

/** Where a line fell: before the window (a backwards reader stops), in it, or after it (a forwards reader stops). */
export type Placement = 'older' | 'in' | 'newer';

interface KindEntry {
  count: number;
  firstMs: number;
  lastMs: number;
  /** The newest line, raw: escaped once, in summary(). */
  line: string;
}

/**
 * Per-kind counts by name, at most MAX_NAMES names: a row of counts by kind index
 * per name, turned into the summary's records once (a record keyed by kind cost
 * a keyed store with a different key line after line).
 */
class NamedCounts {
  private readonly byName = new Map<string, Float64Array>();

  bump(key: string, kind: number): void {
    let d = this.byName.get(key);
    if (d === undefined) {
      if (this.byName.size >= MAX_NAMES) return;
      // A key outlives its line, which may be a view of a whole chunk (io/decode.ts).
      this.byName.set(ownCopy(key), (d = kindRow()));
    }
    d[kind]!++;
  }

  record(): Record<string, KindCounts> {
    const out: Record<string, KindCounts> = {};
    for (const [name, row] of this.byName) out[name] = kindCountsOf(row);
    return out;
  }
}

export class RecentWindow {
  /**
   * By kind index. Filled with undefined, not left with holes: an array of
   * holes changes its elements kind (and its map) at its first entry, and the
   * optimised add() of a scan thread, built for the array after that, was
   * thrown away at the next window's first line (`--trace-deopt`: "wrong map").
   */
  private readonly kinds: (KindEntry | undefined)[] = new Array<KindEntry | undefined>(ERROR_KINDS.length).fill(undefined);
  private readonly byDestination = new NamedCounts();
  private readonly byUpstreamGroup: Record<string, number> = {};
  private readonly byBindAddress = new NamedCounts();
  private readonly memo: TimeMemo;
  /** One record, filled line after line: a window keeps counts, never the event. */
  private readonly fields = newLineFields();
  private lines = 0;
  private unparsed = 0;
  /** The newest start-up line seen. */
  private version: StartupVersionSeen | null = null;
  readonly files: string[] = [];
  truncated = false;
  private readonly timeline: TimelineCounter | null;

  /** Lines stamped from sinceMs up to untilMs (inclusive), read in `zone`; bucketed over time when given a timeline. */
  constructor(
    readonly sinceMs: number,
    readonly untilMs: number = Number.POSITIVE_INFINITY,
    zone: TimeZone = LOCAL_ZONE,
    timelineOptions?: TimelineOptions,
  ) {
    this.memo = new TimeMemo(zone);
    this.timeline = timelineOptions === undefined ? null : new TimelineCounter(timelineOptions.bucketMs, timelineOptions.untilMs);
  }

  /** Adds one line if it is in the window; says where it fell. */
  add(line: string): Placement {
    if (line === '') return 'in';
    const e = this.fields;
    const parsed = classifyInto(line, e, this.memo);
    if (parsed && e.timeMs < this.sinceMs) return 'older';
    if (parsed && e.timeMs > this.untilMs) return 'newer';
    // Counted on the path every line takes: a count only lines not in nginx's
    // format reach (one in a thousand here) would be code V8 optimised before it
    // ever ran, and each worker would throw its optimised add() away at the first.
    this.lines++;
    this.unparsed += parsed ? 0 : 1;
    if (!parsed) return 'in';
    // Read backwards the first start-up line seen is the newest; read forwards (a .gz) a later one replaces it.
    if (this.version === null || e.timeMs > this.version.timeMs) {
      const v = startupVersion(e);
      // Field by field, not a spread: the spread's shape follows v's, and add() is optimised for one shape.
      if (v !== null) this.version = { product: v.product, version: v.version, timeMs: e.timeMs, line: escapeUntrusted(line, 300) };
    }
    const ki = KIND_INDEX.get(e.kind)!;
    const k = this.kinds[ki];
    // The sample keeps its own copy of the line (a view would pin the chunk it was read in; io/decode.ts).
    if (k === undefined) this.kinds[ki] = { count: 1, firstMs: e.timeMs, lastMs: e.timeMs, line: ownCopy(line) };
    else {
      k.count++;
      if (e.timeMs < k.firstMs) k.firstMs = e.timeMs;
      // Strictly newer: read backwards, the first line of the newest second stays.
      if (e.timeMs > k.lastMs) {
        k.lastMs = e.timeMs;
        k.line = ownCopy(line);
      }
    }
    this.timeline?.addAt(ki, e.timeMs);
    if (e.destination !== null) this.byDestination.bump(e.destination, ki);
    if (e.upstreamGroup !== null && (e.upstreamGroup in this.byUpstreamGroup || Object.keys(this.byUpstreamGroup).length < MAX_NAMES)) {
      this.byUpstreamGroup[e.upstreamGroup] = (this.byUpstreamGroup[e.upstreamGroup] ?? 0) + 1;
    }
    if (e.bindAddress !== null && (e.kind === 'proxy_bind_unavailable' || e.kind === 'eaddrinuse')) this.byBindAddress.bump(e.bindAddress, ki);
    return 'in';
  }

  summary(): RecentSummary {
    return {
      sinceMs: this.sinceMs,
      untilMs: this.untilMs,
      past: false,
      files: [...this.files],
      lines: this.lines,
      unparsed: this.unparsed,
      byKind: ERROR_KINDS.flatMap((kind, i) => {
        const k = this.kinds[i];
        return k === undefined ? [] : [{ kind, count: k.count, firstMs: k.firstMs, lastMs: k.lastMs, sample: escapeUntrusted(k.line, 600) }];
      }),
      byDestination: this.byDestination.record(),
      byUpstreamGroup: this.byUpstreamGroup,
      byBindAddress: this.byBindAddress.record(),
      truncated: this.truncated,
      ...(this.timeline !== null ? { timeline: this.timeline.timeline() } : {}),
      nginxVersion: this.version,
    };
  }
}

function mergeCounts(into: Record<string, KindCounts>, from: Readonly<Record<string, KindCounts>>): void {
  for (const [key, kinds] of Object.entries(from)) {
    const d = (into[key] ??= {});
    for (const [kind, n] of Object.entries(kinds) as [ErrorKind, number][]) d[kind] = (d[kind] ?? 0) + n;
  }
}

/** One summary for several logs (several --error-log paths), of the window given. */
export function mergeRecent(window: { sinceMs: number; untilMs: number; past: boolean }, parts: readonly RecentSummary[]): RecentSummary {
  const byKind = new Map<ErrorKind, KindSummary>();
  const byDestination: Record<string, KindCounts> = {};
  const byUpstreamGroup: Record<string, number> = {};
  const byBindAddress: Record<string, KindCounts> = {};
  for (const p of parts) {
    for (const k of p.byKind) {
      const cur = byKind.get(k.kind);
      if (cur === undefined) byKind.set(k.kind, { ...k });
      else {
        cur.count += k.count;
        cur.firstMs = Math.min(cur.firstMs, k.firstMs);
        if (k.lastMs > cur.lastMs) {
          cur.lastMs = k.lastMs;
          cur.sample = k.sample;
        }
      }
    }
    mergeCounts(byDestination, p.byDestination);
    mergeCounts(byBindAddress, p.byBindAddress);
    for (const [group, n] of Object.entries(p.byUpstreamGroup)) byUpstreamGroup[group] = (byUpstreamGroup[group] ?? 0) + n;
  }
  return {
    ...window,
    files: parts.flatMap((p) => p.files),
    lines: parts.reduce((s, p) => s + p.lines, 0),
    unparsed: parts.reduce((s, p) => s + p.unparsed, 0),
    byKind: ERROR_KINDS.map((k) => byKind.get(k)).filter((k): k is KindSummary => k !== undefined),
    byDestination,
    byUpstreamGroup,
    byBindAddress,
    truncated: parts.some((p) => p.truncated),
    ...timelineOf(parts),
    nginxVersion: parts.reduce<StartupVersionSeen | null>((newest, p) => (p.nginxVersion != null && (newest === null || p.nginxVersion.timeMs > newest.timeMs) ? p.nginxVersion : newest), null),
  };
}

function timelineOf(parts: readonly RecentSummary[]): { timeline?: KindTimeline } {
  const timeline = mergeTimelines(parts.flatMap((p) => (p.timeline === undefined ? [] : [p.timeline])));
  return timeline === undefined ? {} : { timeline };
}

/** The first MAX_NAMES names, in the order they were first met (a window keeps no more). */
function capNames<V>(byName: Record<string, V>): Record<string, V> {
  const names = Object.keys(byName);
  return names.length <= MAX_NAMES ? byName : Object.fromEntries(names.slice(0, MAX_NAMES).map((n) => [n, byName[n]!]));
}

/**
 * One summary of one file from the parts a backwards scan was cut into, newest
 * part first (read/recent.ts reads them in parallel): the counts one window would
 * have kept reading them in that order. The merge stops after the first part whose
 * scan met a line older than the window, where one scan would have stopped; a
 * part that ended at its lower edge ('limit' above the lowest) goes on into the
 * next. Equal times keep the newer part's sample and start-up line (mergeRecent
 * keeps the first), and names over MAX_NAMES are dropped in the order met.
 */
export function mergeScanParts(window: { sinceMs: number; untilMs: number }, parts: readonly { summary: RecentSummary; end: ScanEnd }[]): { summary: RecentSummary; end: ScanEnd } {
  const used: RecentSummary[] = [];
  let end: ScanEnd = 'start';
  for (const p of parts) {
    used.push(p.summary);
    end = p.end;
    if (p.end === 'window') break;
  }
  const merged = mergeRecent({ ...window, past: false }, used);
  return {
    summary: {
      ...merged,
      files: [...new Set(merged.files)],
      truncated: end === 'limit' || used.some((s) => s.truncated),
      byDestination: capNames(merged.byDestination),
      byUpstreamGroup: capNames(merged.byUpstreamGroup),
      byBindAddress: capNames(merged.byBindAddress),
    },
    end,
  };
}
