/**
 * Parsers for the /proc/sys/net/ipv4 values the headroom model depends on
 * (Documentation/networking/ip-sysctl.rst). Each takes the file's text and
 * returns a value or throws a ParseError naming what it expected.
 */

export class ParseError extends Error {
  override name = 'ParseError';
}

export interface PortRange {
  /** First port of net.ipv4.ip_local_port_range (inclusive). */
  low: number;
  /** Last port (inclusive). */
  high: number;
}

/** Quoted input in a message, cut short: the file may hold anything. */
function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function toPort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ParseError(`${what}: "${clip(text)}" is not a port number`);
  const n = Number(text);
  if (n > 65535) throw new ParseError(`${what}: ${n} is above 65535`);
  return n;
}

/** "32768\t60999\n" → {low: 32768, high: 60999}. */
export function parsePortRange(text: string): PortRange {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 2) throw new ParseError(`ip_local_port_range: expected two numbers, got "${clip(text.trim())}"`);
  const low = toPort(parts[0]!, 'ip_local_port_range');
  const high = toPort(parts[1]!, 'ip_local_port_range');
  if (low > high) throw new ParseError(`ip_local_port_range: first port ${low} is above last port ${high}`);
  return { low, high };
}

/** A closed interval of ports. */
export interface PortSpan {
  from: number;
  to: number;
}

/**
 * net.ipv4.ip_local_reserved_ports, printed by proc_do_large_bitmap() as a
 * comma-separated list of ports and inclusive ranges ("8080,40000-40009"), or an
 * empty line when nothing is reserved.
 */
export function parseReservedPorts(text: string): PortSpan[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const spans: PortSpan[] = [];
  for (const item of trimmed.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!m) throw new ParseError(`ip_local_reserved_ports: "${clip(item)}" is neither a port nor a range a-b`);
    const from = toPort(m[1]!, 'ip_local_reserved_ports');
    const to = m[2] === undefined ? from : toPort(m[2], 'ip_local_reserved_ports');
    if (to < from) throw new ParseError(`ip_local_reserved_ports: range "${clip(item)}" runs backwards`);
    spans.push({ from, to });
  }
  return spans;
}

/** A single integer sysctl ("1\n"). */
export function parseIntegerValue(text: string, name: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw new ParseError(`${name}: expected an integer, got "${clip(t)}"`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new ParseError(`${name}: "${clip(t)}" is out of range`);
  return n;
}
