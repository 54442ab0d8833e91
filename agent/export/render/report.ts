/**
 * The `agent diagnose` report: built from a sample and its findings, rendered as
 * text for the on-call human or JSON for tools. Pure: rendering returns a string
 * and the command prints it.
 */
import { computeFindings, destinationLevel, headline, statusOf, type Finding, type NginxEvidence, type Status, type Thresholds } from '../../hints/findings.js';
import type { DestinationHeadroom } from '../../sockets/model/headroom.js';
import type { SocketSample, SourceStatus } from '../../sockets/model/types.js';
import type { RecentSummary } from '../../errorlog/model/recent.js';
import type { ErrorKind } from '../../errorlog/parse/classify.js';
import type { HostFacts } from '../../host/facts.js';

export type { HostFacts } from '../../host/facts.js';

export interface ReportDestination {
  sourceIp: string;
  destination: string;
  capacity: number;
  used: number;
  headroom: number;
  headroomRatio: number;
  established: number;
  timeWait: number;
  timeWaitReusable: number;
  other: number;
  connectRatePerSecond: number;
  maxSustainableConnectRate: number;
  timeWaitReuse: boolean;
  secondsUntilNextRelease: number | null;
  level: string;
  /** Error-log events naming this destination in the --since window, by kind (absent without error logs). */
  recentErrors?: Partial<Record<ErrorKind, number>>;
  /** Upstream groups (or direct proxy_pass targets) that reach this destination; [] when unmapped; absent without a config. */
  upstreams?: string[];
}

/** nginx's side, as diagnose read it. */
export interface NginxReportInput {
  evidence: NginxEvidence;
  /** The config path given (or the default that existed), or null when none was read. */
  configPath: string | null;
  files: string[];
  /** "file:line: message" for every problem met while reading. */
  problems: string[];
  /** Where the version came from, or why it is unknown. */
  versionSource: string;
}

export interface ReportNginx {
  config: string | null;
  note: string | null;
  files: string[];
  version: string | null;
  versionSource: string;
  problems: string[];
  upstreams: { name: string; servers: string[]; keepalive: number | null; at: string }[];
}

export interface ReportErrorLog {
  since: string;
  files: string[];
  lines: number;
  unparsed: number;
  truncated: boolean;
  byKind: { kind: ErrorKind; count: number; first: string; last: string; sample: string }[];
  byDestination: Record<string, Partial<Record<ErrorKind, number>>>;
  /** Error logs that could not be read, with why. */
  problems: string[];
}

export interface Report {
  status: Status;
  summary: string;
  generatedAt: string;
  host: HostFacts | null;
  procRoot: string;
  portRange: { low: number; high: number; size: number; reserved: number; listenersInRange: number; usable: number } | null;
  sysctls: {
    ip_local_port_range: string | null;
    ip_local_reserved_ports: string | null;
    tcp_tw_reuse: number | null;
    tcp_tw_reuse_delay_ms: number | null;
    tcp_timestamps: number | null;
    tcp_fin_timeout_seconds: number | null;
    tcp_max_tw_buckets: number | null;
  };
  hostSockets: {
    total: number;
    byState: Record<string, number>;
    timeWait: number;
    timeWaitOverflow: number | null;
    connectAttemptsPerSecond: number | null;
    conntrack: { count: number; max: number } | null;
  } | null;
  destinationsTotal: number;
  destinations: ReportDestination[];
  errorLog: ReportErrorLog | null;
  nginx: ReportNginx | null;
  findings: Finding[];
  sources: SourceStatus[];
  assumptions: string[];
  problems: string[];
}

export interface ReportInput {
  sample: SocketSample;
  thresholds: Thresholds;
  top: number;
  host: HostFacts | null;
  connectAttemptsPerSecond: number | null;
  generatedAtMs: number;
  errorLog?: { summary: RecentSummary; problems: string[] };
  nginx?: NginxReportInput;
}

function toReportDestination(d: DestinationHeadroom, t: Thresholds, errors: RecentSummary | undefined, nginx: NginxEvidence | undefined): ReportDestination {
  const base: ReportDestination = {
    sourceIp: d.sourceIp,
    destination: d.destination,
    capacity: d.capacity,
    used: d.used,
    headroom: d.headroom,
    headroomRatio: d.headroomRatio,
    established: d.established,
    timeWait: d.timeWait,
    timeWaitReusable: d.timeWaitReusable,
    other: d.other,
    connectRatePerSecond: d.connectRatePerSecond,
    maxSustainableConnectRate: d.maxSustainableConnectRate,
    timeWaitReuse: d.timeWaitReuse,
    secondsUntilNextRelease: d.secondsUntilNextRelease,
    level: destinationLevel(d, t),
  };
  if (errors !== undefined) base.recentErrors = errors.byDestination[d.destination] ?? {};
  if (nginx?.config != null) {
    const r = nginx.routes.get(d.destination);
    base.upstreams = r === undefined ? [] : [...r.upstreams, ...r.direct.map((p) => p.target)];
  }
  return base;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function verdict(status: Status, sample: SocketSample, findings: Finding[]): string {
  const h = sample.headroom;
  if (h === null) {
    const failed = sample.sources
      .filter((s) => s.state === 'error' && s.code !== undefined)
      .map((s) => `${s.code ?? ''}: ${s.detail ?? s.source}`);
    return `cannot compute headroom: ${failed.join('; ') || 'required sources unavailable'}`;
  }
  const worst = h.destinations[0];
  const top = headline(findings, status === 'CRITICAL' ? 'critical' : 'warning');
  if (status === 'OK') {
    return worst === undefined
      ? `no outgoing connections in the ephemeral range; ${h.portRange.usable} ports usable per destination`
      : `${h.destinations.length} destination(s); least headroom ${worst.headroom}/${worst.capacity} ports free (${(worst.headroomRatio * 100).toFixed(1)} %) to ${worst.destination} from ${worst.sourceIp}`;
  }
  const lead = top?.summary ?? '';
  return worst === undefined ? lead : `${lead}; worst: ${worst.sourceIp} → ${worst.destination} ${worst.headroom}/${worst.capacity} ports free`;
}

const fmtSpans = (spans: { from: number; to: number }[] | null): string | null =>
  spans === null ? null : spans.map((s) => (s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`)).join(',');

export function buildReport(input: ReportInput): Report {
  const { sample, thresholds } = input;
  const h = sample.headroom;
  const log = input.errorLog?.summary;
  const findings =
    h !== null && sample.settings !== null
      ? computeFindings({
          headroom: h,
          settings: sample.settings,
          sysctls: sample.sysctls,
          counters: sample.counters,
          thresholds,
          ...(log !== undefined ? { errorLog: log } : {}),
          ...(input.nginx !== undefined ? { nginx: input.nginx.evidence } : {}),
        })
      : [];
  const status = statusOf(findings, h !== null);
  const s = sample.sysctls;
  const c = sample.counters;
  return {
    status,
    summary: verdict(status, sample, findings),
    generatedAt: new Date(input.generatedAtMs).toISOString(),
    host: input.host,
    procRoot: sample.procRoot,
    portRange:
      h === null
        ? null
        : {
            low: h.portRange.low,
            high: h.portRange.high,
            size: h.portRange.size,
            reserved: h.portRange.reserved,
            listenersInRange: h.portRange.listenersInRange,
            usable: h.portRange.usable,
          },
    sysctls: {
      ip_local_port_range: s.ipLocalPortRange === null ? null : `${s.ipLocalPortRange.low} ${s.ipLocalPortRange.high}`,
      ip_local_reserved_ports: fmtSpans(s.ipLocalReservedPorts),
      tcp_tw_reuse: s.tcpTwReuse,
      tcp_tw_reuse_delay_ms: s.tcpTwReuseDelayMs,
      tcp_timestamps: s.tcpTimestamps,
      tcp_fin_timeout_seconds: s.tcpFinTimeoutSeconds,
      tcp_max_tw_buckets: s.tcpMaxTwBuckets,
    },
    hostSockets:
      h === null
        ? null
        : {
            total: h.sockets,
            byState: Object.fromEntries(Object.entries(h.socketsByState).filter(([, n]) => n > 0)),
            timeWait: h.timeWait,
            timeWaitOverflow: c.timeWaitOverflow,
            connectAttemptsPerSecond: input.connectAttemptsPerSecond,
            conntrack: c.conntrackCount !== null && c.conntrackMax !== null ? { count: c.conntrackCount, max: c.conntrackMax } : null,
          },
    destinationsTotal: h?.destinations.length ?? 0,
    destinations: (h?.destinations ?? []).slice(0, input.top).map((d) => toReportDestination(d, thresholds, log, input.nginx?.evidence)),
    errorLog:
      input.errorLog === undefined
        ? null
        : {
            since: iso(input.errorLog.summary.sinceMs),
            files: input.errorLog.summary.files,
            lines: input.errorLog.summary.lines,
            unparsed: input.errorLog.summary.unparsed,
            truncated: input.errorLog.summary.truncated,
            byKind: input.errorLog.summary.byKind.map((k) => ({ kind: k.kind, count: k.count, first: iso(k.firstMs), last: iso(k.lastMs), sample: k.sample })),
            byDestination: input.errorLog.summary.byDestination,
            problems: input.errorLog.problems,
          },
    nginx: input.nginx === undefined ? null : reportNginx(input.nginx),
    findings,
    sources: sample.sources,
    assumptions: sample.assumptions,
    problems: sample.problems,
  };
}

function reportNginx(n: NginxReportInput): ReportNginx {
  const c = n.evidence.config;
  return {
    config: n.configPath,
    note: c === null ? n.evidence.configNote : null,
    files: n.files,
    version: n.evidence.version,
    versionSource: n.versionSource,
    problems: n.problems,
    upstreams:
      c?.upstreams.map((u) => ({ name: u.name, servers: u.servers.map((x) => x.address), keepalive: u.keepalive, at: `${u.at.file}:${u.at.line}` })) ?? [],
  };
}

// ---------------------------------------------------------------------------------
// Rendering

/** Perfdata for monitoring plugins: label=value;warn;crit;min;max. */
function perfdata(r: Report, t: Thresholds): string {
  const min = r.destinations[0]?.headroomRatio ?? 1;
  const parts = [`headroom_ratio_min=${min.toFixed(4)};${t.warningHeadroomRatio};${t.criticalHeadroomRatio};0;1`];
  parts.push(`destinations=${r.destinationsTotal}`);
  if (r.hostSockets) parts.push(`time_wait=${r.hostSockets.timeWait}`);
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

function onOff(name: string, v: number | null): string {
  if (v === null) return 'unavailable';
  if (name === 'tcp_tw_reuse') return `${v} (${v === 0 ? 'off' : v === 1 ? 'on' : v === 2 ? 'loopback only' : '?'})`;
  return `${v} (${v === 0 ? 'off' : 'on'})`;
}

export function renderText(r: Report, t: Thresholds): string {
  const out: string[] = [];
  out.push(`NGINX-PORTS ${r.status} - ${r.summary} | ${perfdata(r, t)}`);
  if (r.host) out.push(`Host ${r.host.hostname}, ${r.host.kernel}${r.host.distro ? `, ${r.host.distro}` : ''}; proc root ${r.procRoot}`);
  else out.push(`Proc root ${r.procRoot}`);
  out.push('');
  out.push('Port range and reuse');
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
  for (const [k, v] of kv) out.push(`  ${k.padEnd(keyWidth)}  ${v}`);
  out.push('');

  if (r.destinations.length === 0) {
    out.push('Destinations: none (no outgoing TCP connections from the ephemeral range)');
  } else {
    out.push(`Destinations, least headroom first (${r.destinations.length} of ${r.destinationsTotal})`);
    const withLog = r.errorLog !== null;
    const withNginx = r.nginx !== null && r.nginx.config !== null && r.nginx.note === null;
    const rows = [['SOURCE', 'DESTINATION', ...(withNginx ? ['UPSTREAM'] : []), 'USED/CAP', 'FREE', 'FREE%', 'ESTAB', 'TIME_WAIT', 'REUSABLE', 'OTHER', 'RATE/s', 'MAX/s', 'NEXT FREE', ...(withLog ? ['ERR 99', 'ERR OTHER'] : [])]];
    for (const d of r.destinations) {
      const errs = d.recentErrors ?? {};
      const e99 = errs.eaddrnotavail ?? 0;
      const eOther = Object.entries(errs).reduce((sum, [k, n]) => (k === 'eaddrnotavail' ? sum : sum + n), 0);
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
        `${d.other}`,
        perSecond(d.connectRatePerSecond),
        perSecond(d.maxSustainableConnectRate),
        d.secondsUntilNextRelease === null ? '-' : `${d.secondsUntilNextRelease.toFixed(1)} s`,
        ...(withLog ? [`${e99}`, `${eOther}`] : []),
      ]);
    }
    const first = withNginx ? 3 : 2;
    for (const line of table(rows, new Set(Array.from({ length: 12 }, (_, i) => first + i)))) out.push(`  ${line}`);
  }
  out.push('');

  if (r.errorLog !== null) {
    const el = r.errorLog;
    out.push(`Error log since ${el.since}: ${el.lines} line(s) in ${el.files.join(', ') || 'no file'}${el.truncated ? ' (scan limit reached: older lines not read)' : ''}`);
    for (const p of el.problems) out.push(`  problem: ${p}`);
    if (el.byKind.length === 0) out.push('  no events');
    for (const k of el.byKind) {
      out.push(`  ${k.kind.padEnd(22)} ${String(k.count).padStart(7)}  ${k.first} … ${k.last}`);
      out.push(`    e.g. ${k.sample}`);
    }
    const dests = Object.entries(el.byDestination);
    if (dests.length > 0) {
      out.push('  by destination:');
      for (const [dest, kinds] of dests.slice(0, 20)) {
        out.push(`    ${dest}: ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);
      }
    }
    if (el.unparsed > 0) out.push(`  ${el.unparsed} line(s) not in nginx's error-log format`);
    out.push('');
  }

  if (r.nginx !== null) {
    const n = r.nginx;
    if (n.config === null || n.note !== null) out.push(`nginx config: ${n.note ?? 'not read'}`);
    else out.push(`nginx config ${n.config}: ${n.files.length} file(s), ${n.upstreams.length} upstream group(s)`);
    out.push(`  version: ${n.version ?? 'unknown'} (${n.versionSource})`);
    for (const u of n.upstreams.slice(0, 20)) {
      out.push(`  upstream ${u.name} (${u.at}): ${u.servers.join(', ') || 'no servers'}; keepalive ${u.keepalive ?? 'not set'}`);
    }
    for (const p of n.problems) out.push(`  problem: ${p}`);
    out.push('');
  }

  if (r.findings.length === 0) {
    out.push('Findings: none');
  } else {
    out.push('Findings');
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
  }
  out.push('');
  out.push(
    `Sources: ${r.sources.map((src) => `${src.source} ${src.state}`).join(', ')}`,
  );
  for (const src of r.sources.filter((x) => x.state === 'error' || (x.state === 'ok' && x.detail !== undefined))) {
    out.push(`  ${src.source}: ${src.detail ?? ''}`);
  }
  for (const a of r.assumptions) out.push(`Assumed: ${a}`);
  for (const p of r.problems) out.push(`Problem: ${p}`);
  return out.join('\n') + '\n';
}

export function renderReport(r: Report, format: 'text' | 'json', t: Thresholds): string {
  return format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderText(r, t);
}
