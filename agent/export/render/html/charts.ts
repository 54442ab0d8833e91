/**
 * Which charts the page shows, from what the view has. The daemon's page draws
 * its hour of samples; `agent diagnose` has one sample and an error-log
 * window, so its report draws headroom now and the window's events over time.
 * Pure.
 */
import type { HistoryEntry, HistorySnapshot } from '../../../diagnosis/history.js';
import type { StatusView } from '../../../diagnosis/status.js';
import { count, duration, percent, rate } from './format.js';
import { barChart, lineChart, rowsChart, type Rule, type Series } from './svg.js';

/** Series per chart, so a chart stays legible. */
const MAX_SERIES = 5;
/** The shortest span the history's charts show, so the first samples are not drawn across the whole width. */
const MIN_SPAN_MS = 5 * 60_000;
/** The error-log bars of the daemon's hour are a minute wide. */
const ERROR_BUCKET_MS = 60_000;

function rules(v: StatusView, scale: number): Rule[] {
  return [
    { value: v.thresholds.warningHeadroomRatio * scale, label: `warning ${Math.round(v.thresholds.warningHeadroomRatio * 100)} %`, kind: 'warning' },
    { value: v.thresholds.criticalHeadroomRatio * scale, label: `critical ${Math.round(v.thresholds.criticalHeadroomRatio * 100)} %`, kind: 'critical' },
  ];
}

/** The destinations to draw: the worst now first, then the others seen most often in the hour. */
function chartedIds(v: StatusView, entries: readonly HistoryEntry[], n: number): string[] {
  const ids = v.report.destinations.map((d) => `${d.sourceIp} → ${d.destination}`).slice(0, n);
  const seen = new Map<string, number>();
  for (const e of entries) for (const d of e.destinations) seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
  for (const [id] of [...seen].sort((a, b) => b[1] - a[1])) if (ids.length < n && !ids.includes(id)) ids.push(id);
  return ids;
}

function label(entries: readonly HistoryEntry[], id: string): string {
  const u = entries.findLast((e) => e.destinations.some((d) => d.id === id && d.upstreams !== undefined))?.destinations.find((d) => d.id === id)?.upstreams;
  return u === undefined ? id : `${id} (${u.join(', ')})`;
}

function perDestination(entries: readonly HistoryEntry[], id: string, pick: (d: HistoryEntry['destinations'][number]) => number): Series['points'] {
  return entries.map((e) => {
    const d = e.destinations.find((x) => x.id === id);
    return [e.atMs, d === undefined ? null : pick(d)] as const;
  });
}

function lastValue(points: Series['points']): number | null {
  return points[points.length - 1]?.[1] ?? null;
}

/** The time the charts of the history start: an hour back, or when the agent started, but five minutes at least. */
export function historyStart(h: HistorySnapshot, nowMs: number): number {
  const full = nowMs - h.capacity * h.intervalMs;
  const first = h.entries[0]?.atMs ?? nowMs;
  return Math.max(full, Math.min(first, nowMs - MIN_SPAN_MS));
}

function historyCharts(v: StatusView, h: HistorySnapshot, nowMs: number): string[] {
  const entries = h.entries;
  const fromMs = historyStart(h, nowMs);
  const ids = chartedIds(v, entries, MAX_SERIES);
  const span = `the last ${Math.round((nowMs - fromMs) / 60_000)} minutes, ${entries.length} sample(s)`;
  const free: Series[] = ids.map((id, i) => {
    const points = perDestination(entries, id, (d) => d.headroom);
    const now = lastValue(points);
    return { name: label(entries, id), points, colour: i, note: now === null ? 'not among the worst now' : `${count(now)} free now` };
  });
  const minRatio: Series = { name: 'least headroom of any destination', points: entries.map((e) => [e.atMs, e.minRatio === null ? null : e.minRatio * 100] as const), colour: 0 };
  const nowRatio = lastValue(minRatio.points);
  if (nowRatio !== null) minRatio.note = `${nowRatio.toFixed(1)} % now`;
  const rateIds = ids.slice(0, 3);
  const rates: Series[] = rateIds.map((id, i) => {
    const points = perDestination(entries, id, (d) => d.connectRatePerSecond);
    const now = lastValue(points);
    const floor = entries.at(-1)?.destinations.find((d) => d.id === id)?.connectRateLowerBound === true;
    // A lower bound of 0 (TIME_WAIT hidden, none left to count) is no figure at all.
    const note = now === null ? null : floor && now === 0 ? 'not measurable now' : `${floor ? 'at least ' : ''}${rate(now)}/s now`;
    return { name: `connect rate to ${label(entries, id)}`, points, colour: i, ...(note !== null ? { note } : {}) };
  });
  const worstId = rateIds[0];
  if (worstId !== undefined) {
    const points = perDestination(entries, worstId, (d) => d.maxSustainableConnectRate);
    const now = lastValue(points);
    rates.push({ name: 'sustainable rate (range ÷ TIME_WAIT)', points, colour: 9, dashed: true, ...(now !== null ? { note: `${rate(now)}/s` } : {}) });
  }
  return [
    lineChart({ id: 'chart-free', title: 'Free ports of the worst destinations', summary: `Free ports per destination over ${span}.`, fromMs, toMs: nowMs, series: free, yLabel: (x) => count(x) }),
    lineChart({ id: 'chart-ratio', title: 'Least headroom ratio', summary: `The least headroom of any destination, in percent, over ${span}.`, fromMs, toMs: nowMs, series: [minRatio], rules: rules(v, 100), yMax: 100, yLabel: (x) => `${x} %` }),
    lineChart({ id: 'chart-rate', title: 'Connect rate against the sustainable rate', summary: `New connections per second to the worst destinations and the rate their port range sustains, over ${span}.`, fromMs, toMs: nowMs, series: rates, yLabel: (x) => rate(x) }),
    historyErrorChart(h, fromMs, nowMs, span),
  ];
}

function historyErrorChart(h: HistorySnapshot, fromMs: number, nowMs: number, span: string): string {
  const byBucket = new Map<number, Record<string, number>>();
  const kinds = new Set<string>();
  for (const e of h.entries) {
    for (const [kind, n] of Object.entries(e.errors ?? {})) {
      const start = Math.floor(e.atMs / ERROR_BUCKET_MS) * ERROR_BUCKET_MS;
      const b = byBucket.get(start) ?? {};
      b[kind] = (b[kind] ?? 0) + n;
      byBucket.set(start, b);
      kinds.add(kind);
    }
  }
  const logged = h.entries.some((e) => e.errors !== null);
  return barChart({
    id: 'chart-errors',
    title: 'nginx error-log events by kind, per minute',
    summary: logged ? `Error-log events read per minute, by kind, over ${span}.` : 'No error log is tailed.',
    fromMs,
    toMs: nowMs,
    bucketMs: ERROR_BUCKET_MS,
    buckets: [...byBucket].map(([startMs, values]) => ({ startMs, values })),
    categories: [...kinds].sort(),
  });
}

function reportCharts(v: StatusView, nowMs: number): string[] {
  const r = v.report;
  const out: string[] = [];
  if (r.destinations.length > 0) {
    out.push(
      rowsChart({
        id: 'chart-headroom-now',
        title: 'Headroom now, least first',
        summary: `Free ports of the ${r.destinations.length} destination(s) with the least headroom, as a share of the capacity.`,
        rows: r.destinations.map((d) => ({
          name: `${d.sourceIp} → ${d.destination}${d.upstreams !== undefined && d.upstreams.length > 0 ? ` (${d.upstreams.join(', ')})` : ''}`,
          ratio: d.headroomRatio,
          note: `${count(d.headroom)} of ${count(d.capacity)} free (${percent(d.headroomRatio)}), ${d.level.toUpperCase()}`,
          level: d.level,
        })),
        rules: rules(v, 1),
      }),
    );
  }
  const log = r.errorLog;
  if (log?.timeline !== undefined) {
    const kinds = [...new Set(log.timeline.buckets.flatMap((b) => Object.keys(b.byKind)))].sort();
    const until = (log as { until?: string }).until;
    out.push(
      barChart({
        id: 'chart-errors',
        title: `nginx error-log events by kind, per ${log.timeline.bucketSeconds >= 60 ? `${log.timeline.bucketSeconds / 60} min` : `${log.timeline.bucketSeconds} s`}`,
        summary: `Error-log events by kind from ${log.since} to ${until ?? r.generatedAt}.`,
        fromMs: Date.parse(log.since),
        toMs: until !== undefined ? Date.parse(until) : nowMs,
        bucketMs: log.timeline.bucketSeconds * 1000,
        buckets: log.timeline.buckets.map((b) => ({ startMs: Date.parse(b.start), values: b.byKind })),
        categories: kinds,
      }),
    );
  }
  return out;
}

export function chartsSection(v: StatusView): string {
  const nowMs = Date.parse(v.report.generatedAt);
  const charts = v.history !== null ? historyCharts(v, v.history, nowMs) : reportCharts(v, nowMs);
  if (charts.length === 0) return '';
  const h = v.history;
  const title = h === null ? 'Charts' : historyStart(h, nowMs) <= nowMs - h.capacity * h.intervalMs ? 'The last hour' : `Since the agent started, ${duration((nowMs - (h.entries[0]?.atMs ?? nowMs)) / 1000)} ago`;
  return `<section id="charts" aria-labelledby="charts-h"><h2 id="charts-h">${title}</h2><div class="charts">${charts.join('')}</div></section>`;
}
