/**
 * Directive values as nginx reads them. Pure.
 */

/**
 * A number as ngx_atoi() reads it (src/core/ngx_string.c): decimal digits only,
 * no sign, no spaces. Null when nginx would say "invalid number".
 */
export function parseCount(text: string): number | null {
  if (!/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

const MS = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof MS;
/** The order ngx_parse_time() requires units in; each at most once. */
const ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];

/**
 * A time in milliseconds as ngx_parse_time(value, is_sec=0) reads it
 * (src/core/ngx_parse.c), which is what the `*_time` / `*_timeout` directives
 * stored in milliseconds use (ngx_conf_set_msec_slot):
 *
 * - a number followed by a unit: `ms`, `s`, `m` (minutes), `h`, `d`, `w`; several
 *   such parts in decreasing unit order, optionally separated by spaces
 *   (`1h 30m`, `1m30s`);
 * - a number without a unit counts as seconds (`30` is 30 s);
 * - months (`M`) and years (`y`) are refused for millisecond values.
 *
 * Null when nginx would refuse the value.
 */
export function parseTimeMs(text: string): number | null {
  let total = 0;
  let value = 0;
  let digits = false;
  let anyDigits = false;
  let step = -1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c.charCodeAt(0) - 48);
      digits = true;
      anyDigits = true;
      i++;
      continue;
    }
    let unit: Unit;
    if (c === 'm' && text[i + 1] === 's') {
      unit = 'ms';
      i += 2;
    } else if (c === 'w' || c === 'd' || c === 'h' || c === 'm' || c === 's') {
      unit = c;
      i++;
    } else if (c === ' ') {
      // A space after a bare number closes it as seconds; nothing may follow but spaces.
      if (step >= ORDER.indexOf('s')) return null;
      step = ORDER.length;
      total += value * 1000;
      value = 0;
      digits = false;
      i++;
      while (text[i] === ' ') i++;
      continue;
    } else return null;
    const k = ORDER.indexOf(unit);
    if (k <= step) return null;
    step = k;
    total += value * MS[unit];
    value = 0;
    digits = false;
    while (text[i] === ' ') i++;
  }
  if (!anyDigits) return null;
  // ngx_parse_time() adds a trailing bare number as seconds whatever came before it.
  if (digits) total += value * 1000;
  return Number.isSafeInteger(total) ? total : null;
}
