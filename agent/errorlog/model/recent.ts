/**
 * The recent window of an error log, for `agent diagnose --since`. Pure: lines in
 * (newest first, as a backwards reader yields them), a summary out.
 */
import { classifyLine, ERROR_KINDS, escapeUntrusted, type ErrorKind } from '../parse/classify.js';
import { mergeTimelines, TimelineCounter, type KindTimeline } from './timeline.js';

export interface KindSummary {
  kind: ErrorKind;
  count: number;
  /** Unix ms of the first and last event in the window. */
  firstMs: number;
  lastMs: number;
  /** One line of this kind, escaped (control and ANSI bytes shown as \xHH). */
  sample: string;
}

export interface RecentSummary {
  sinceMs: number;
  files: string[];
  lines: number;
  unparsed: number;
  byKind: KindSummary[];
  /** Events per destination (`ip:port`, `[v6]:port`, `unix:/path`), by kind. */
  byDestination: Record<string, Partial<Record<ErrorKind, number>>>;
  /** Set when a byte limit stopped the scan before the window's start. */
  truncated: boolean;
  /** Events by kind over time, when the window was given a timeline (the HTML report's chart). */
  timeline?: KindTimeline;
}

/** How a window buckets its events over time: bucket width, and the window's end (later lines count there). */
export interface TimelineOptions {
  bucketMs: number;
  untilMs: number;
}

export class RecentWindow {
  private readonly kinds = new Map<ErrorKind, KindSummary>();
  private readonly byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
  private lines = 0;
  private unparsed = 0;
  readonly files: string[] = [];
  truncated = false;
  private readonly timeline: TimelineCounter | null;

  constructor(
    readonly sinceMs: number,
    readonly timelineOptions?: TimelineOptions,
  ) {
    this.timeline = timelineOptions === undefined ? null : new TimelineCounter(timelineOptions.bucketMs, timelineOptions.untilMs);
  }

  /** Adds one line; returns false once lines are older than the window (stop reading). */
  add(line: string): boolean {
    if (line === '') return true;
    const r = classifyLine(line);
    if (!r.ok) {
      this.lines++;
      this.unparsed++;
      return true;
    }
    const e = r.event;
    if (e.timeMs < this.sinceMs) return false;
    this.lines++;
    const k = this.kinds.get(e.kind);
    if (k === undefined) {
      this.kinds.set(e.kind, { kind: e.kind, count: 1, firstMs: e.timeMs, lastMs: e.timeMs, sample: escapeUntrusted(line, 600) });
    } else {
      k.count++;
      if (e.timeMs < k.firstMs) k.firstMs = e.timeMs;
      if (e.timeMs > k.lastMs) k.lastMs = e.timeMs;
    }
    this.timeline?.add(e.kind, e.timeMs);
    if (e.destination !== null) {
      const d = (this.byDestination[e.destination] ??= {});
      d[e.kind] = (d[e.kind] ?? 0) + 1;
    }
    return true;
  }

  summary(): RecentSummary {
    return {
      sinceMs: this.sinceMs,
      files: [...this.files],
      lines: this.lines,
      unparsed: this.unparsed,
      byKind: ERROR_KINDS.map((k) => this.kinds.get(k)).filter((k): k is KindSummary => k !== undefined),
      byDestination: this.byDestination,
      truncated: this.truncated,
      ...(this.timeline !== null ? { timeline: this.timeline.timeline() } : {}),
    };
  }
}

/** One summary for several logs (several --error-log paths). */
export function mergeRecent(sinceMs: number, parts: readonly RecentSummary[]): RecentSummary {
  const byKind = new Map<ErrorKind, KindSummary>();
  const byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
  for (const p of parts) {
    for (const k of p.byKind) {
      const cur = byKind.get(k.kind);
      if (cur === undefined) byKind.set(k.kind, { ...k });
      else {
        cur.count += k.count;
        cur.firstMs = Math.min(cur.firstMs, k.firstMs);
        cur.lastMs = Math.max(cur.lastMs, k.lastMs);
      }
    }
    for (const [dest, kinds] of Object.entries(p.byDestination)) {
      const d = (byDestination[dest] ??= {});
      for (const [kind, n] of Object.entries(kinds) as [ErrorKind, number][]) d[kind] = (d[kind] ?? 0) + n;
    }
  }
  return {
    sinceMs,
    files: parts.flatMap((p) => p.files),
    lines: parts.reduce((s, p) => s + p.lines, 0),
    unparsed: parts.reduce((s, p) => s + p.unparsed, 0),
    byKind: ERROR_KINDS.map((k) => byKind.get(k)).filter((k): k is KindSummary => k !== undefined),
    byDestination,
    truncated: parts.some((p) => p.truncated),
    ...timelineOf(parts),
  };
}

function timelineOf(parts: readonly RecentSummary[]): { timeline?: KindTimeline } {
  const timeline = mergeTimelines(parts.flatMap((p) => (p.timeline === undefined ? [] : [p.timeline])));
  return timeline === undefined ? {} : { timeline };
}
