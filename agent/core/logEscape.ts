/**
 * Escaping for the agent's own log lines. Text that reaches a log line may come
 * from outside: file names matched by an error-log glob, nginx error-log text,
 * request URLs. JSON already escapes C0 bytes, but a reader that prints a decoded
 * field (`jq -r .msg`) would pass an ESC sequence or a forged line break straight to
 * a terminal, and JSON leaves DEL and C1 controls as they are. So every string in
 * a log line is escaped before pino serialises it. Pure.
 */

// C0 and DEL, C1 (0x9b is an 8-bit CSI), the Unicode line and paragraph separators,
// and the bidirectional overrides and isolates that reorder what a terminal shows.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  const c = ch.charCodeAt(0);
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** Control and display-reordering characters as `\x1b` / `\u202e`; other text unchanged. */
export function escapeControl(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** As escapeControl, but keeps line feeds: for stack traces, whose lines are frames. */
export function escapeControlKeepNewlines(text: string): string {
  return text.replace(UNSAFE_EXCEPT_NEWLINE, escapeChar);
}

const MAX_DEPTH = 6;

/** A copy of a log object with every string (keys too) escaped; errors and other class instances are left to pino's serializers. */
export function escapeLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return escapeControl(value);
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => escapeLogValue(v, depth + 1));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[escapeControl(k)] = escapeLogValue(v, depth + 1);
  return out;
}
