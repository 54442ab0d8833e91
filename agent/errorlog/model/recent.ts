/**
 * The recent window of an error log, for `agent diagnose --since`. Pure: lines in
 * (newest first, as a backwards reader yields them), a summary out.
 */
import { classifyLine, ERROR_KINDS, escapeUntrusted, type ErrorKind } from '../parse/classify.js';
import { startupVersion } from '../parse/startupVersion.js';
import type { NginxVersion } from '../../core/nginxVersion.js';

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
  /** The newest start-up line in the window (nginx logs its version when it starts), or null. */
  nginxVersion?: StartupVersionSeen | null;
}

export class RecentWindow {
  private readonly kinds = new Map<ErrorKind, KindSummary>();
  private readonly byDestination: Record<string, Partial<Record<ErrorKind, number>>> = {};
  private lines = 0;
  private unparsed = 0;
  /** Lines arrive newest first, so the first start-up line seen is the newest. */
  private version: StartupVersionSeen | null = null;
  readonly files: string[] = [];
  truncated = false;

  constructor(readonly sinceMs: number) {}

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
    if (this.version === null) {
      const v = startupVersion(e);
      if (v !== null) this.version = { ...v, timeMs: e.timeMs, line: escapeUntrusted(line, 300) };
    }
    const k = this.kinds.get(e.kind);
    if (k === undefined) {
      this.kinds.set(e.kind, { kind: e.kind, count: 1, firstMs: e.timeMs, lastMs: e.timeMs, sample: escapeUntrusted(line, 600) });
    } else {
      k.count++;
      if (e.timeMs < k.firstMs) k.firstMs = e.timeMs;
      if (e.timeMs > k.lastMs) k.lastMs = e.timeMs;
    }
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
      nginxVersion: this.version,
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
    nginxVersion: parts.reduce<StartupVersionSeen | null>((newest, p) => (p.nginxVersion != null && (newest === null || p.nginxVersion.timeMs > newest.timeMs) ? p.nginxVersion : newest), null),
  };
}
