/**
 * Wall-clock times in a named time zone → Unix ms. Pure (Intl only, no clock).
 *
 * nginx stamps its error log in its own local time ("%4d/%02d/%02d
 * %02d:%02d:%02d" of localtime(), ngx_times.c), with no offset. In a sidecar
 * that zone may not be the agent's, so the zone the log is read in is a setting
 * (`--error-log-timezone`): an IANA name (`Europe/Berlin`), a fixed offset
 * (`+02:00`, `-0530`, `UTC`), or '' for the agent's own zone (TZ).
 *
 * Daylight-saving transitions, for a wall time that is not one instant:
 *   - the repeated hour (autumn: 02:30 happens twice) is read as the EARLIER
 *     instant, the one before the clocks went back. A log cannot say which pass a
 *     line belongs to; the earlier one is what JavaScript's Date picks for the
 *     agent's own zone, so the three kinds of zone agree.
 *   - the skipped hour (spring: 02:30 never happens) is read with the offset in
 *     force before the transition (02:30 CET = 01:30 UTC, shown as 03:30 CEST),
 *     again as Date does. nginx never writes such a time unless the clock was
 *     stepped.
 */

export type TimeZone =
  | { kind: 'local' }
  | { kind: 'fixed'; offsetMs: number; text: string }
  | { kind: 'iana'; name: string };

export const LOCAL_ZONE: TimeZone = Object.freeze({ kind: 'local' });

const OFFSET_RE = /^([+-])(\d{2}):?(\d{2})$/;

/** '' → the agent's zone; `UTC`/`Z`/`+02:00`/`-0530` → a fixed offset; else an IANA name Intl knows. */
export function parseTimeZone(text: string): TimeZone | { error: string } {
  const t = text.trim();
  if (t === '' || t === 'local') return LOCAL_ZONE;
  if (t === 'UTC' || t === 'Z' || t === 'utc') return { kind: 'fixed', offsetMs: 0, text: 'UTC' };
  const m = OFFSET_RE.exec(t);
  if (m !== null) {
    const hours = Number(m[2]);
    const minutes = Number(m[3]);
    if (hours > 14 || minutes > 59) return { error: `offset ${t} is out of range (-14:00 to +14:00)` };
    const offsetMs = (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
    return { kind: 'fixed', offsetMs, text: `${m[1]!}${m[2]!}:${m[3]!}` };
  }
  try {
    // Throws RangeError for a name the runtime's time-zone database does not have.
    const name = new Intl.DateTimeFormat('en-US', { timeZone: t }).resolvedOptions().timeZone;
    return { kind: 'iana', name };
  } catch {
    return { error: `unknown time zone "${t}": give an IANA name (Europe/Berlin), a fixed offset (+02:00, -0530) or UTC` };
  }
}

/** How a zone is shown in a report. */
export function describeTimeZone(zone: TimeZone): string {
  if (zone.kind === 'local') return "local (the agent's time zone)";
  return zone.kind === 'fixed' ? (zone.offsetMs === 0 ? 'UTC' : `UTC${zone.text}`) : zone.name;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Converts wall times in one zone to Unix ms. For an IANA zone the offset is
 * worked out (with Intl.DateTimeFormat, which is slow) once per wall-clock hour
 * and kept, so a log's lines cost one addition each; an hour with a transition
 * inside it is worked out per call.
 */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat | null;
  private hourKey = -1;
  /** Unix ms of hh:00:00 of hourKey, or NaN when a transition falls inside that hour. */
  private hourStartMs = 0;

  constructor(readonly zone: TimeZone = LOCAL_ZONE) {
    this.format =
      zone.kind === 'iana'
        ? new Intl.DateTimeFormat('en-US', {
            timeZone: zone.name,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          })
        : null;
  }

  /** Unix ms of the wall time y-mo-d h:mi:s (month 1–12) in this zone. */
  toEpochMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
    const z = this.zone;
    if (z.kind === 'local') return new Date(y, mo - 1, d, h, mi, s).getTime();
    if (z.kind === 'fixed') return Date.UTC(y, mo - 1, d, h, mi, s) - z.offsetMs;
    const key = ((y * 13 + mo) * 32 + d) * 25 + h;
    if (key !== this.hourKey) {
      this.hourKey = key;
      const start = this.resolve(Date.UTC(y, mo - 1, d, h, 0, 0));
      const end = this.resolve(Date.UTC(y, mo - 1, d, h, 59, 59));
      this.hourStartMs = end - start === HOUR_MS - 1000 ? start : Number.NaN;
    }
    const base = this.hourStartMs;
    return Number.isNaN(base) ? this.resolve(Date.UTC(y, mo - 1, d, h, mi, s)) : base + mi * 60_000 + s * 1000;
  }

  /** The zone's offset (local − UTC, ms) at an instant. */
  offsetAt(ms: number): number {
    const z = this.zone;
    if (z.kind === 'fixed') return z.offsetMs;
    if (z.kind === 'local') return -new Date(ms).getTimezoneOffset() * 60_000;
    const p: Record<string, number> = {};
    for (const part of this.format!.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const wall = Date.UTC(p['year']!, p['month']! - 1, p['day'], p['hour'], p['minute'], p['second']);
    return wall - Math.floor(ms / 1000) * 1000;
  }

  /** The instant a wall time (given as if it were UTC) stands for: see the file's comment for the ambiguous and skipped hours. */
  private resolve(wallAsUtc: number): number {
    const before = this.offsetAt(wallAsUtc - DAY_MS);
    const candidates = [before, this.offsetAt(wallAsUtc), this.offsetAt(wallAsUtc + DAY_MS)];
    let best = Number.NaN;
    for (const o of candidates) {
      const t = wallAsUtc - o;
      if (this.offsetAt(t) === o && !(t >= best)) best = t;
    }
    return Number.isNaN(best) ? wallAsUtc - before : best;
  }
}

/**
 * An instant from the command line: ISO 8601 with an offset (`2026-11-01T10:00:00Z`,
 * `…+01:00`) is that instant; without one (`2026-11-01T10:00`, `2026-11-01 10:00:00`,
 * `2026-11-01`) it is a wall time in `zone`, the error log's zone.
 */
export function parseInstant(text: string, zone: TimeZone): number | { error: string } {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(text.trim());
  if (m === null) return { error: `"${text}" is not a time: give ISO 8601, e.g. 2026-11-01T10:00:00Z, 2026-11-01T10:00:00+01:00 or 2026-11-01 10:00 (read in the error log's time zone)` };
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const check = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return { error: `"${text}" is not a valid date and time` };
  }
  if (m[7] !== undefined) {
    const offset = parseTimeZone(m[7].toUpperCase());
    if ('error' in offset || offset.kind !== 'fixed') return { error: `"${text}": ${'error' in offset ? offset.error : 'bad offset'}` };
    return Date.UTC(y, mo - 1, d, h, mi, s) - offset.offsetMs;
  }
  return new ZoneClock(zone).toEpochMs(y, mo, d, h, mi, s);
}
