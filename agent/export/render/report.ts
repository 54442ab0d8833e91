/**
 * The diagnosis as text for the on-call human (first line in the
 * monitoring-plugin format), as JSON for tools, or as the status page in one
 * static HTML file for a ticket. Pure: rendering returns a string and the
 * command prints it.
 */
import type { Thresholds } from '../../hints/findings.js';
import type { Report, ReportNat } from '../../diagnosis/report.js';

export const REPORT_FORMATS = ['text', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Perfdata for monitoring plugins: label=value;warn;crit;min;max. */
function perfdata(r: Report, t: Thresholds): string {
  const min = r.destinations[0]?.headroomRatio ?? 1;
  const parts = [`headroom_ratio_min=${min.toFixed(4)};${t.warningHeadroomRatio};${t.criticalHeadroomRatio};0;1`];
  parts.push(`destinations=${r.destinationsTotal}`);
  if (r.hostSockets) parts.push(`time_wait=${r.hostSockets.timeWait}`);
  // Host-scope NATs only: a shared gateway's headroom is not this host's to state.
  const natRatios = (r.nat ?? []).flatMap((n) => n.destinations.flatMap((d) => (d.headroomRatio === null ? [] : [d.headroomRatio])));
  if ((r.nat ?? []).some((n) => n.scope === 'host')) {
    parts.push(`nat_headroom_ratio_min=${Math.min(1, ...natRatios).toFixed(4)};${t.warningHeadroomRatio};${t.criticalHeadroomRatio};0;1`);
  }
  return parts.join(' ');
}

function table(rows: string[][], rightAligned: Set<number>): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const num = (n: number | null, unit = ''): string => (n === null ? 'unavailable' : `${n}${unit}`);
const perSecond = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** The states besides ESTABLISHED and TIME_WAIT that hold a destination's sockets, most first: "fin_wait1 100, syn_sent 3", or "-". */
export function otherStates(states: Readonly<Record<string, number | undefined>>): string {
  const others = Object.entries(states)
    .filter((e): e is [string, number] => e[0] !== 'established' && e[0] !== 'time_wait' && e[1] !== undefined && e[1] > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return others.length === 0 ? '-' : others.map(([state, n]) => `${state} ${n}`).join(', ');
}

function onOff(name: string, v: number | null): string {
  if (v === null) return 'unavailable';
  if (name === 'tcp_tw_reuse') return `${v} (${v === 0 ? 'off' : v === 1 ? 'on' : v === 2 ? 'loopback only' : '?'})`;
  return `${v} (${v === 0 ? 'off' : 'on'})`;
}

function settingsSection(r: Report): string[] {
  const s = r.sysctls;
  const kv: [string, string][] = [
    ['ip_local_port_range', r.portRange ? `${r.portRange.low}-${r.portRange.high} (${r.portRange.size} ports)` : num(null)],
    ['reserved in range', r.portRange ? `${r.portRange.reserved}${s.ip_local_reserved_ports ? ` (ip_local_reserved_ports ${s.ip_local_reserved_ports})` : ''}` : '-'],
    ['listeners in range', r.portRange ? `${r.portRange.listenersInRange}` : '-'],
    ['usable per destination', r.portRange ? `${r.portRange.usable}` : '-'],
    ['tcp_tw_reuse', onOff('tcp_tw_reuse', s.tcp_tw_reuse)],
    ['tcp_timestamps', onOff('tcp_timestamps', s.tcp_timestamps)],
    ['tcp_tw_reuse_delay', num(s.tcp_tw_reuse_delay_ms, ' ms')],
    ['tcp_fin_timeout', num(s.tcp_fin_timeout_seconds, ' s')],
    ['tcp_max_tw_buckets', num(s.tcp_max_tw_buckets)],
  ];
  if (r.hostSockets) {
    const hs = r.hostSockets;
    kv.push(['sockets host-wide', `${hs.total} (${Object.entries(hs.byState).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`]);
    kv.push(['TIME_WAIT overflow', num(hs.timeWaitOverflow)]);
    kv.push(['connect attempts', hs.connectAttemptsPerSecond === null ? 'not measured' : `${perSecond(hs.connectAttemptsPerSecond)}/s`]);
    kv.push(['conntrack', hs.conntrack ? `${hs.conntrack.count}/${hs.conntrack.max}` : 'unavailable']);
  }
  const keyWidth = Math.max(...kv.map(([k]) => k.length));
  return ['Port range and reuse', ...kv.map(([k, v]) => `  ${k.padEnd(keyWidth)}  ${v}`), ''];
}

function destinationsSection(r: Report): string[] {
  if (r.destinations.length === 0) return ['Destinations: none (no outgoing TCP connections from the ephemeral range)', ''];
  const withLog = r.errorLog !== null;
  const withNginx = r.nginx !== null && r.nginx.config !== null && r.nginx.note === null;
  const rows = [['SOURCE', 'DESTINATION', ...(withNginx ? ['UPSTREAM'] : []), 'USED/CAP', 'FREE', 'FREE%', 'ESTAB', 'TIME_WAIT', 'REUSABLE', 'RATE/s', 'MAX/s', 'NEXT FREE', ...(withLog ? ['ERR 99', 'ERR OTHER'] : []), 'OTHER STATES']];
  for (const d of r.destinations) {
    const errors = d.recentErrors ?? {};
    const addressErrors = errors.eaddrnotavail ?? 0;
    const otherErrors = Object.entries(errors).reduce((sum, [k, n]) => (k === 'eaddrnotavail' ? sum : sum + n), 0);
    rows.push([
      d.sourceIp,
      d.destination,
      ...(withNginx ? [d.upstreams === undefined || d.upstreams.length === 0 ? '(unmapped)' : d.upstreams.join(',')] : []),
      `${d.used}/${d.capacity}`,
      `${d.headroom}`,
      (d.headroomRatio * 100).toFixed(1),
      `${d.established}`,
      `${d.timeWait}`,
      `${d.timeWaitReusable}`,
      // ≥: a lower bound (the range exhausted, or TIME_WAIT hidden by reuse or overflow).
      // ?: a lower bound of 0, which says nothing (TIME_WAIT hidden and none left to count).
      d.connectRate.lowerBound && d.connectRatePerSecond === 0 ? '?' : `${d.connectRate.lowerBound ? '≥' : ''}${perSecond(d.connectRatePerSecond)}`,
      perSecond(d.maxSustainableConnectRate),
      d.secondsUntilNextRelease === null ? '-' : `${d.secondsUntilNextRelease.toFixed(1)} s`,
      ...(withLog ? [`${addressErrors}`, `${otherErrors}`] : []),
      otherStates(d.states),
    ]);
  }
  const first = withNginx ? 3 : 2;
  return [
    `Destinations, least headroom first (${r.destinations.length} of ${r.destinationsTotal})`,
    ...table(rows, new Set(Array.from({ length: withLog ? 11 : 9 }, (_, i) => first + i))).map((line) => `  ${line}`),
    ...(r.destinations.some((d) => d.connectRate.lowerBound && d.connectRatePerSecond > 0) ? ['  ≥: a lower bound (see connectRate.why in --json): the true rate may be higher'] : []),
    ...(r.destinations.some((d) => d.connectRate.lowerBound && d.connectRatePerSecond === 0) ? ['  ?: the rate cannot be measured here (see connectRate.why in --json)'] : []),
    '',
  ];
}

/** How a NAT counts closed connections, in a few words. */
function heldBasis(n: ReportNat): string {
  switch (n.heldAfterCloseBasis) {
    case 'unknown':
      return 'no hold after close documented: open connections only';
    case 'none':
      return 'closed connections released at once';
    case 'measured':
      return `closed connections held ${n.timeWaitSeconds ?? 0} s (counted from TIME_WAIT ages)`;
    case 'estimated':
      return `closed connections held ${n.timeWaitSeconds ?? 0} s (the last 60 s counted, the rest estimated: ~)`;
  }
}

function natTable(n: ReportNat): string[] {
  if (n.destinations.length === 0) return ['    no connections through it'];
  const rows = [['DESTINATION', 'USED/CAP', 'FREE', 'FREE%', 'SHARE%', 'OPEN', 'ESTAB', 'HELD AFTER CLOSE', 'CLOSES/s', ...(n.endpointIndependentMapping ? ['EIM CONFLICT%'] : []), 'SOURCES']];
  for (const d of n.destinations) {
    rows.push([
      d.destination,
      `${d.used}/${d.capacity}`,
      d.headroom === null ? '-' : `${d.headroom}`,
      d.headroomRatio === null ? '-' : (d.headroomRatio * 100).toFixed(1),
      (d.share * 100).toFixed(1),
      `${d.open}`,
      `${d.established}`,
      d.heldAfterCloseIsEstimate ? `${d.heldAfterClose} (~${Math.round(d.heldAfterCloseEstimated)} est.)` : `${d.heldAfterClose}`,
      perSecond(d.closeRatePerSecond),
      ...(n.endpointIndependentMapping ? [((d.endpointIndependenceConflictRisk ?? 0) * 100).toFixed(1)] : []),
      d.sourceIps.join(','),
    ]);
  }
  return table(rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, ...(n.endpointIndependentMapping ? [9] : [])])).map((line) => `    ${line}`);
}

/** "Behind NAT": each NAT's limit and this host's mappings per destination, beside the kernel's table. */
function natSection(r: Report): string[] {
  if (r.nat === undefined) return [];
  const out = ['Behind NAT'];
  for (const n of r.nat) {
    const scope = n.scope === 'host' ? "host scope: the VM's own allocation" : 'fleet scope: a gateway the hosts share, this host\'s share shown';
    out.push(
      `  ${n.name} (${n.title}, ${scope}): ${n.capacityPerDestination} per destination; ${heldBasis(n)}` +
        `${n.idleTimeoutSeconds !== null ? `; idle timeout ${n.idleTimeoutSeconds} s` : ''}; ${n.destinations.length} of ${n.destinationsTotal} destination(s)`,
    );
    out.push(...natTable(n));
    for (const note of n.notes) out.push(`    note: ${note}`);
    out.push(`    limits: ${n.docsUrl}`);
  }
  out.push('');
  return out;
}

function errorLogSection(r: Report): string[] {
  const log = r.errorLog;
  if (log === null) return [];
  const window = log.past ? `from ${log.since} until ${log.until}` : `since ${log.since}`;
  const out = [`Error log ${window}: ${log.lines} line(s) in ${log.files.join(', ') || 'no file'}${log.truncated ? ' (scan limit reached: older lines not read)' : ''}`];
  if (log.past) {
    out.push(`  a past window: the error-log findings are about it; the sockets (and their findings) are as sampled at ${r.generatedAt}`);
  }
  for (const p of log.problems) out.push(`  problem: ${p}`);
  if (log.byKind.length === 0) out.push('  no events');
  for (const k of log.byKind) {
    out.push(`  ${k.kind.padEnd(22)} ${String(k.count).padStart(7)}  ${k.first} … ${k.last}`);
    out.push(`    e.g. ${k.sample}`);
  }
  const destinations = Object.entries(log.byDestination);
  if (destinations.length > 0) {
    out.push('  by destination:');
    for (const [destination, kinds] of destinations.slice(0, 20)) {
      out.push(`    ${destination}: ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    }
  }
  const groups = Object.entries(log.byUpstreamGroup);
  if (groups.length > 0) out.push(`  no live upstreams by group: ${groups.slice(0, 20).map(([g, n]) => `${g} ${n}`).join(', ')}`);
  const binds = Object.entries(log.byBindAddress);
  if (binds.length > 0) {
    out.push(`  bind() failures by proxy_bind address: ${binds.slice(0, 20).map(([a, kinds]) => `${a} (${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')})`).join('; ')}`);
  }
  if (log.unparsed > 0) out.push(`  ${log.unparsed} line(s) not in nginx's error-log format`);
  out.push('');
  return out;
}

function nginxSection(r: Report): string[] {
  const n = r.nginx;
  if (n === null) return [];
  const out = [n.config === null || n.note !== null ? `nginx config: ${n.note ?? 'not read'}` : `nginx config ${n.config}: ${n.files.length} file(s), ${n.upstreams.length} upstream group(s)`];
  out.push(`  version: ${n.version ?? 'unknown'} (${n.versionSource})`);
  if (n.loaded !== null) out.push(`  config loaded: ${n.loaded.at} (${n.loaded.detail})`);
  for (const u of n.upstreams.slice(0, 20)) {
    const pool = u.pool.size === null ? u.pool.detail : `${u.pool.size} per worker: ${u.pool.detail}`;
    out.push(`  upstream ${u.name} (${u.at}): ${u.servers.join(', ') || 'no servers'}; pool ${pool}`);
  }
  for (const p of n.problems) out.push(`  problem: ${p}`);
  out.push('');
  return out;
}

function findingsSection(r: Report): string[] {
  if (r.findings.length === 0) return ['Findings: none'];
  const out = ['Findings'];
  for (const f of r.findings) {
    out.push(`  [${f.severity.toUpperCase()}] ${f.id}: ${f.summary}`);
    for (const e of f.evidence) out.push(`    - ${e}`);
    out.push(`    why: ${f.why}`);
    if (f.fix !== null) {
      out.push('    fix:');
      for (const line of f.fix.split('\n')) out.push(`      ${line}`);
    }
    if (f.effect !== null) out.push(`    effect: ${f.effect}`);
  }
  return out;
}

function sourcesSection(r: Report): string[] {
  const out = [`Sources: ${r.sources.map((src) => `${src.source} ${src.state}`).join(', ')}`];
  for (const src of r.sources.filter((x) => x.state === 'error' || (x.state === 'ok' && x.detail !== undefined))) {
    out.push(`  ${src.source}: ${src.detail ?? ''}`);
  }
  for (const a of r.assumptions) out.push(`Assumed: ${a}`);
  for (const p of r.problems) out.push(`Problem: ${p}`);
  return out;
}

export function renderText(r: Report, t: Thresholds): string {
  const header = [
    `NGINX-PORTS ${r.status} - ${r.summary} | ${perfdata(r, t)}`,
    r.host ? `Host ${r.host.hostname}, ${r.host.kernel}${r.host.distro ? `, ${r.host.distro}` : ''}; proc root ${r.procRoot}` : `Proc root ${r.procRoot}`,
    '',
  ];
  const out = [...header, ...settingsSection(r), ...destinationsSection(r), ...natSection(r), ...errorLogSection(r), ...nginxSection(r), ...findingsSection(r), '', ...sourcesSection(r)];
  return out.join('\n') + '\n';
}

/**
 * Text or JSON. The HTML report is html/page.ts's renderReportPage: the command
 * imports it only for --format html, as it is a good part of the modules a
 * one-shot run would otherwise load (bench/README.md).
 */
export function renderReport(r: Report, format: Exclude<ReportFormat, 'html'>, t: Thresholds): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  return renderText(r, t);
}
