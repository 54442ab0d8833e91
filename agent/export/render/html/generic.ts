/**
 * Any JSON value as HTML: objects as definition lists, arrays of like objects
 * as tables, the rest as text. For parts of the report this page has no
 * dedicated layout for (a section a newer agent adds, extra fields), so nothing
 * the report says is lost on the page. Pure.
 */
import { esc } from './escape.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '<span class="muted">none</span>';
  if (typeof v === 'number') return esc(Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000));
  return esc(typeof v === 'string' ? v : JSON.stringify(v));
}

/** A field name for people: "connectRatePerSecond" → "connect rate per second". */
export function words(key: string): string {
  return key.replace(/_/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

function table(rows: readonly Record<string, unknown>[], depth: number): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const head = keys.map((k) => `<th scope="col">${esc(words(k))}</th>`).join('');
  const body = rows.map((r) => `<tr>${keys.map((k) => `<td>${genericHtml(r[k], depth + 1)}</td>`).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table class="generic"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** `value` as HTML; nesting below a few levels is shown as JSON text. */
export function genericHtml(value: unknown, depth = 0): string {
  if (depth > 4) return `<code>${esc(JSON.stringify(value))}</code>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return '<span class="muted">none</span>';
    if (value.every(isRecord)) return table(value, depth);
    return `<ul class="plain">${value.map((v) => `<li>${genericHtml(v, depth + 1)}</li>`).join('')}</ul>`;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '<span class="muted">none</span>';
    return `<dl class="kv">${entries.map(([k, v]) => `<dt>${esc(words(k))}</dt><dd>${genericHtml(v, depth + 1)}</dd>`).join('')}</dl>`;
  }
  return scalar(value);
}

/** The fields of `obj` not in `known`, for a row or a block that shows the known ones its own way. */
export function extraFields(obj: object, known: ReadonlySet<string>): [string, unknown][] {
  return Object.entries(obj).filter(([k, v]) => !known.has(k) && v !== undefined);
}
