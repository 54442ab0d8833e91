/**
 * How fast and since when: from the daemon's history, how long the worst
 * destination has been below the warning level and how fast its free ports
 * are going; from the error log, when nginx first said it could not connect.
 * Pure; sentences out.
 */
import type { HistoryEntry } from '../../../diagnosis/history.js';
import type { StatusView } from '../../../diagnosis/status.js';
import { clock, duration } from './format.js';

/** How far back the pace is measured. */
const PACE_SPAN_MS = 5 * 60_000;

const ratioOf = (e: HistoryEntry, id: string): number | null => {
  const d = e.destinations.find((x) => x.id === id);
  return d === undefined ? null : d.headroom / Math.max(1, d.capacity);
};

function belowSince(entries: readonly HistoryEntry[], id: string, warning: number): { atMs: number; fromStart: boolean } | null {
  let since: number | null = null;
  let i = entries.length - 1;
  for (; i >= 0; i--) {
    const r = ratioOf(entries[i]!, id);
    if (r === null || r >= warning) break;
    since = entries[i]!.atMs;
  }
  return since === null ? null : { atMs: since, fromStart: i < 0 };
}

function portsPerMinute(entries: readonly HistoryEntry[], id: string, nowMs: number): number | null {
  const recent = entries.filter((e) => e.atMs >= nowMs - PACE_SPAN_MS && e.destinations.some((d) => d.id === id));
  const first = recent[0];
  const last = recent[recent.length - 1];
  if (first === undefined || last === undefined || last.atMs - first.atMs < 30_000) return null;
  const free = (e: HistoryEntry): number => e.destinations.find((d) => d.id === id)!.headroom;
  return ((free(last) - free(first)) / (last.atMs - first.atMs)) * 60_000;
}

export function pace(v: StatusView): string[] {
  const r = v.report;
  const worst = r.destinations[0];
  const out: string[] = [];
  const nowMs = Date.parse(r.generatedAt);
  const entries = v.history?.entries ?? [];
  if (worst !== undefined && entries.length > 0) {
    const id = `${worst.sourceIp} → ${worst.destination}`;
    const since = belowSince(entries, id, v.thresholds.warningHeadroomRatio);
    if (since !== null) {
      const at = `${clock(since.atMs)} UTC (${duration((nowMs - since.atMs) / 1000)})`;
      out.push(`Below ${Math.round(v.thresholds.warningHeadroomRatio * 100)} % free ${since.fromStart ? 'since at least' : 'since'} ${at}.`);
    }
    const perMinute = portsPerMinute(entries, id, nowMs);
    if (perMinute !== null && perMinute < -0.5 && worst.headroom > 0) {
      out.push(`Losing ${Math.round(-perMinute)} free ports a minute: out of ports in about ${duration((worst.headroom / -perMinute) * 60)} at this pace.`);
    } else if (perMinute !== null && perMinute > 0.5) {
      out.push(`Recovering: ${Math.round(perMinute)} free ports a minute more.`);
    }
  }
  const eaddr = r.errorLog?.byKind.find((k) => k.kind === 'eaddrnotavail');
  if (eaddr !== undefined) {
    out.push(`nginx logged ${eaddr.count} × "Cannot assign requested address" (EADDRNOTAVAIL), first at ${clock(Date.parse(eaddr.first))} UTC, last at ${clock(Date.parse(eaddr.last))} UTC.`);
  }
  return out;
}
