/** Number and time formats of the status page, the same in Node and in the browser (no locale, UTC). Pure. */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** "08:44:05" in UTC. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** "08:44" in UTC. */
export function hm(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** "11-21", the month and day in UTC. */
export function day(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** "2026-11-21 08:44:05 UTC". */
export function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${clock(ms)} UTC`;
}

/** A rate per second: no decimals from 100 up, one below (as the text report). */
export const rate = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** A ratio as a percentage with one decimal. */
export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;

/** A count with thousands groups split by a narrow space that never breaks a line. */
export function count(n: number): string {
  const s = String(Math.round(Math.abs(n)));
  return `${n < 0 ? '−' : ''}${s.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f')}`;
}

/** A duration in words: "45 s", "13 min", "2 h 5 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
