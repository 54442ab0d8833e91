/**
 * Parsers for the counter files in /proc/net.
 *
 * /proc/net/snmp and /proc/net/netstat come as pairs of lines with the same
 * prefix: a header line of field names, then a line of values
 * ("Tcp: RtoAlgorithm RtoMin ... ActiveOpens ..." / "Tcp: 1 200 ... 12345 ...").
 * /proc/net/sockstat{,6} come as one line per protocol of name/value pairs
 * ("TCP: inuse 5 orphan 0 tw 100 alloc 10 mem 1").
 */
export type CounterGroups = Record<string, Record<string, number>>;

export interface ParsedCounters {
  groups: CounterGroups;
  /** Lines that did not fit the format, by number, with what was wrong. */
  problems: string[];
}

/** snmp / netstat: header and value lines in pairs. */
export function parseHeaderValuePairs(text: string): ParsedCounters {
  const groups: CounterGroups = {};
  const problems: string[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i]!.trim().split(/\s+/);
    const vals = lines[i + 1]!.trim().split(/\s+/);
    const prefix = head[0];
    if (prefix === undefined || !prefix.endsWith(':') || vals[0] !== prefix) {
      problems.push(`lines ${i + 1}-${i + 2}: header and value lines do not share a "Name:" prefix`);
      continue;
    }
    if (head.length !== vals.length) {
      problems.push(`lines ${i + 1}-${i + 2}: ${head.length - 1} names but ${vals.length - 1} values`);
      continue;
    }
    const group: Record<string, number> = {};
    for (let k = 1; k < head.length; k++) {
      const v = Number(vals[k]);
      if (!Number.isFinite(v)) {
        problems.push(`line ${i + 2}: ${head[k]} is not a number ("${vals[k]}")`);
        continue;
      }
      group[head[k]!] = v;
    }
    groups[prefix.slice(0, -1)] = group;
  }
  if (lines.length % 2 === 1) problems.push(`line ${lines.length}: header line without a value line`);
  return { groups, problems };
}

/** sockstat / sockstat6: "PROTO: name value name value ...". */
export function parseSockstat(text: string): ParsedCounters {
  const groups: CounterGroups = {};
  const problems: string[] = [];
  text.split('\n').forEach((line, idx) => {
    const t = line.trim();
    if (t === '') return;
    const parts = t.split(/\s+/);
    const prefix = parts[0]!;
    if (!prefix.endsWith(':') || parts.length % 2 !== 1) {
      problems.push(`line ${idx + 1}: expected "NAME: key value ...", got "${t.slice(0, 60)}"`);
      return;
    }
    const group: Record<string, number> = {};
    for (let k = 1; k < parts.length; k += 2) {
      const v = Number(parts[k + 1]);
      if (!Number.isFinite(v)) {
        problems.push(`line ${idx + 1}: ${parts[k]} is not a number`);
        continue;
      }
      group[parts[k]!] = v;
    }
    groups[prefix.slice(0, -1)] = group;
  });
  return { groups, problems };
}

export function counter(groups: CounterGroups, group: string, name: string): number | null {
  return groups[group]?.[name] ?? null;
}
