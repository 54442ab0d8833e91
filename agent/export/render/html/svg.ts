/**
 * The status page's charts as inline SVG strings: time-series lines and
 * stacked bars on linear scales, with round ticks, threshold rules, a legend
 * in words and a text summary for screen readers. Pure, and free of any DOM, so
 * the same code draws on the server (the page without JavaScript, and the
 * static incident report) and in the browser (the page refreshing itself).
 *
 * Colours come from CSS classes (s0…s9, rule-warning, rule-critical), never from
 * style attributes, which the page's Content-Security-Policy refuses.
 */
import { esc } from './escape.js';
import { day, hm } from './format.js';

const W = 640;
const H = 220;
const M = { top: 12, right: 14, bottom: 26, left: 52 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

export interface Series {
  name: string;
  /** [unix ms, value] pairs, oldest first; a null value breaks the line. */
  points: readonly (readonly [number, number | null])[];
  /** A dashed line: a limit rather than a measurement. */
  dashed?: boolean;
  /** The series' colour class (s0…s9). */
  colour: number;
  /** What the legend says after the name (the value now, say). */
  note?: string;
}

export interface Rule {
  value: number;
  label: string;
  kind: 'warning' | 'critical';
}

export interface LineChartSpec {
  id: string;
  title: string;
  /** What the chart shows in one sentence, for screen readers and as its caption's second line. */
  summary: string;
  fromMs: number;
  toMs: number;
  series: readonly Series[];
  rules?: readonly Rule[];
  /** Fixed upper end of the y axis (a ratio's 1); otherwise from the data. */
  yMax?: number;
  yLabel: (v: number) => string;
}

export interface BarChartSpec {
  id: string;
  title: string;
  summary: string;
  fromMs: number;
  toMs: number;
  bucketMs: number;
  /** Buckets with their values by category; categories are stacked in `categories` order. */
  buckets: readonly { startMs: number; values: Readonly<Record<string, number>> }[];
  categories: readonly string[];
}

const fixed = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Round steps for an axis from 0 to `max`: about five, at 1, 2 or 5 × 10^n. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440, 2880, 10_080].map((m) => m * 60_000);
const DAY_MS = 86_400_000;

/** Time ticks at round minutes (UTC), at most about seven. */
export function timeTicks(fromMs: number, toMs: number): number[] {
  const span = Math.max(1, toMs - fromMs);
  const step = TIME_STEPS_MS.find((s) => span / s <= 7) ?? TIME_STEPS_MS[TIME_STEPS_MS.length - 1]!;
  const out: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) out.push(t);
  return out;
}

interface Frame {
  x: (ms: number) => number;
  y: (v: number) => number;
  yTicks: number[];
}

function frame(fromMs: number, toMs: number, yMax: number, target = 4): Frame {
  const yTicks = niceTicks(yMax, target);
  const top = yTicks[yTicks.length - 1]!;
  const span = Math.max(1, toMs - fromMs);
  return {
    x: (ms) => M.left + ((ms - fromMs) / span) * PW,
    y: (v) => M.top + PH - (v / top) * PH,
    yTicks,
  };
}

function axes(f: Frame, fromMs: number, toMs: number, yLabel: (v: number) => string): string {
  const out: string[] = ['<g class="axis">'];
  // Over more than a day, the ticks fall at midnight: the date says more than the time.
  const tickLabel = toMs - fromMs > DAY_MS ? day : hm;
  for (const v of f.yTicks) {
    const y = fixed(f.y(v));
    out.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/>`);
    out.push(`<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(yLabel(v))}</text>`);
  }
  for (const t of timeTicks(fromMs, toMs)) {
    const x = fixed(f.x(t));
    out.push(`<line class="tick" x1="${x}" x2="${x}" y1="${M.top + PH}" y2="${M.top + PH + 4}"/>`);
    out.push(`<text x="${x}" y="${H - 8}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  out.push(`<line class="baseline" x1="${M.left}" x2="${W - M.right}" y1="${M.top + PH}" y2="${M.top + PH}"/>`, '</g>');
  return out.join('');
}

/** The runs of a series without a gap (null), as SVG points lists. */
function runs(points: Series['points'], f: Frame): { points: string; n: number }[] {
  const out: { points: string; n: number }[] = [];
  let cur: string[] = [];
  const flush = (): void => {
    if (cur.length > 0) out.push({ points: cur.join(' '), n: cur.length });
    cur = [];
  };
  for (const [t, v] of points) {
    if (v === null || !Number.isFinite(v)) flush();
    else cur.push(`${fixed(f.x(t))},${fixed(f.y(v))}`);
  }
  flush();
  return out;
}

function svgOpen(id: string, title: string, summary: string): string {
  return `<svg class="chart" id="${esc(id)}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(id)}-t ${esc(id)}-d" preserveAspectRatio="xMidYMid meet"><title id="${esc(id)}-t">${esc(title)}</title><desc id="${esc(id)}-d">${esc(summary)}</desc>`;
}

function legend(items: readonly { name: string; colour: number; dashed?: boolean; note?: string }[]): string {
  if (items.length === 0) return '';
  return `<ul class="legend">${items
    .map((s) => `<li><svg class="swatch" viewBox="0 0 20 10" aria-hidden="true"><line class="s${s.colour % 10}${s.dashed === true ? ' dashed' : ''}" x1="0" x2="20" y1="5" y2="5"/></svg>${esc(s.name)}${s.note !== undefined ? ` <span class="note">${esc(s.note)}</span>` : ''}</li>`)
    .join('')}</ul>`;
}

/** A chart of values over time, one line per series, with threshold rules. */
export function lineChart(spec: LineChartSpec): string {
  const values = spec.series.flatMap((s) => s.points.map(([, v]) => v)).filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = spec.yMax ?? Math.max(1, ...values, ...(spec.rules ?? []).map((r) => r.value));
  const f = frame(spec.fromMs, spec.toMs, yMax);
  const out = [svgOpen(spec.id, spec.title, spec.summary), axes(f, spec.fromMs, spec.toMs, spec.yLabel)];
  for (const r of spec.rules ?? []) {
    const y = fixed(f.y(r.value));
    out.push(`<g class="rule rule-${r.kind}"><line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/><text x="${W - M.right - 2}" y="${y}" dy="-3" text-anchor="end">${esc(r.label)}</text></g>`);
  }
  for (const s of spec.series) {
    const parts = runs(s.points, f);
    const n = parts.reduce((sum, p) => sum + p.n, 0);
    out.push(`<g class="series s${s.colour % 10}${s.dashed === true ? ' dashed' : ''}" data-series="${esc(s.name)}" data-points="${n}">`);
    for (const p of parts) {
      // A single point would draw nothing as a line: mark it.
      if (p.n === 1) {
        const [x, y] = p.points.split(',');
        out.push(`<circle cx="${x}" cy="${y}" r="2.5"/>`);
      } else out.push(`<polyline points="${p.points}"/>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return `<figure class="chart-box"><figcaption>${esc(spec.title)}</figcaption>${out.join('')}${legend(spec.series)}</figure>`;
}

/** Stacked bars per time bucket, one colour per category, with the totals in the legend. */
export function barChart(spec: BarChartSpec): string {
  const totals = spec.buckets.map((b) => spec.categories.reduce((n, c) => n + (b.values[c] ?? 0), 0));
  const f = frame(spec.fromMs, spec.toMs, Math.max(1, ...totals));
  const out = [svgOpen(spec.id, spec.title, spec.summary), axes(f, spec.fromMs, spec.toMs, (v) => String(v))];
  const width = Math.max(1, f.x(spec.fromMs + spec.bucketMs) - f.x(spec.fromMs) - 1);
  spec.categories.forEach((c, ci) => {
    const bars: string[] = [];
    spec.buckets.forEach((b) => {
      const below = spec.categories.slice(0, ci).reduce((n, k) => n + (b.values[k] ?? 0), 0);
      const v = b.values[c] ?? 0;
      if (v <= 0) return;
      const y0 = f.y(below);
      const y1 = f.y(below + v);
      bars.push(`<rect x="${fixed(f.x(b.startMs))}" y="${fixed(y1)}" width="${fixed(width)}" height="${fixed(Math.max(0.5, y0 - y1))}"><title>${esc(`${c}: ${v} at ${hm(b.startMs)}`)}</title></rect>`);
    });
    out.push(`<g class="bars s${ci % 10}" data-series="${esc(c)}" data-points="${bars.length}">${bars.join('')}</g>`);
  });
  if (spec.categories.length === 0) out.push(`<text class="empty" x="${M.left + PW / 2}" y="${M.top + PH / 2}" text-anchor="middle">no events in this window</text>`);
  out.push('</svg>');
  const sums = spec.categories.map((c, ci) => ({ name: c, colour: ci, note: String(spec.buckets.reduce((n, b) => n + (b.values[c] ?? 0), 0)) }));
  return `<figure class="chart-box"><figcaption>${esc(spec.title)}</figcaption>${out.join('')}${legend(sums)}</figure>`;
}

/** A horizontal bar of a whole split into parts (a destination's ports by state), with the rest empty. */
export function partsBar(parts: readonly { name: string; value: number; cls: string }[], whole: number, label: string): string {
  const total = Math.max(1, whole);
  let x = 0;
  const rects = parts.map((p) => {
    const w = (Math.max(0, p.value) / total) * 100;
    const r = w > 0 ? `<rect class="${p.cls}" x="${fixed(x)}" y="0" width="${fixed(Math.min(w, 100 - x))}" height="10"><title>${esc(`${p.name}: ${p.value}`)}</title></rect>` : '';
    x = Math.min(100, x + w);
    return r;
  });
  return `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${esc(label)}"><rect class="free" x="0" y="0" width="100" height="10"/>${rects.join('')}</svg>`;
}

export interface RowsChartSpec {
  id: string;
  title: string;
  summary: string;
  /** One bar per row, a ratio from 0 to 1. */
  rows: readonly { name: string; ratio: number; note: string; level: string }[];
  rules?: readonly Rule[];
}

/** Horizontal bars, one per row, on a 0–100 % scale, with the row's words beside it. */
export function rowsChart(spec: RowsChartSpec): string {
  const rowH = 34;
  const left = 8;
  const width = W - left - M.right;
  const h = Math.max(1, spec.rows.length) * rowH + 20;
  const x = (ratio: number): number => left + Math.max(0, Math.min(1, ratio)) * width;
  const out = [`<svg class="chart rows" id="${esc(spec.id)}" viewBox="0 0 ${W} ${h}" role="img" aria-labelledby="${esc(spec.id)}-t ${esc(spec.id)}-d"><title id="${esc(spec.id)}-t">${esc(spec.title)}</title><desc id="${esc(spec.id)}-d">${esc(spec.summary)}</desc>`];
  out.push(`<g class="series" data-series="headroom" data-points="${spec.rows.length}">`);
  spec.rows.forEach((r, i) => {
    const y = i * rowH;
    out.push(`<text x="${left}" y="${y + 12}" class="row-label">${esc(`${r.name}: ${r.note}`)}</text>`);
    out.push(`<rect class="track" x="${left}" y="${y + 17}" width="${width}" height="12"/>`);
    out.push(`<rect class="fill level-${r.level}" x="${left}" y="${y + 17}" width="${fixed(x(r.ratio) - left)}" height="12"><title>${esc(`${r.name}: ${r.note}`)}</title></rect>`);
  });
  out.push('</g>');
  for (const rule of spec.rules ?? []) {
    const rx = fixed(x(rule.value));
    out.push(`<g class="rule rule-${rule.kind}"><line x1="${rx}" x2="${rx}" y1="14" y2="${h - 16}"/><text x="${rx}" y="${h - 4}" text-anchor="start">${esc(rule.label)}</text></g>`);
  }
  out.push('</svg>');
  return `<figure class="chart-box"><figcaption>${esc(spec.title)}</figcaption>${out.join('')}</figure>`;
}
