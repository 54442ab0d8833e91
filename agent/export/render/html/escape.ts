/**
 * HTML escaping for everything on the status page that comes from outside the
 * agent: upstream names, config paths, error-log lines, host names. Pure.
 *
 * Besides the five characters HTML gives meaning to, control characters (C0
 * but tab and newline, DEL, C1), line and paragraph separators and the
 * bidirectional overrides are shown as escapes (`\x1b`, `\u202e`): they are
 * invisible or reorder text, so a log line could otherwise pose as something
 * else, as in the agent's text report and logs.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// eslint-disable-next-line no-control-regex
const HIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Text or an attribute value (in double or single quotes), made safe to put in HTML. */
export function esc(value: unknown): string {
  return String(value)
    .replace(HIDDEN, visible)
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A CSS class or id fragment from outside text: letters, digits and dashes only. */
export function token(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}
