/**
 * The diagnosis: one socket sample, what the error log and nginx's config add,
 * and the findings, as one report. `diagnose` renders it, the daemon serves it.
 * Pure: the findings come in computed (diagnosis.ts), the report comes out.
 */
import { destinationLevel, headline, statusOf, type Finding, type NginxEvidence, type Status, type Thresholds } from '../hints/findings.js';
import type { DestinationHeadroom, StateCounts } from '../sockets/model/headroom.js';
import type { ConnectRate } from '../sockets/model/rates.js';
import type { SocketSample, SourceStatus } from '../sockets/model/types.js';
import type { RecentSummary } from '../errorlog/model/recent.js';
import type { ErrorKind } from '../errorlog/parse/classify.js';
import type { HostFacts } from '../host/model/types.js';
import { describeTimeZone, LOCAL_ZONE } from '../core/timeZone.js';
import { effectivePool, type PoolSource } from '../nginxconf/model/pool.js';
import type { UpstreamGroup } from '../nginxconf/model/types.js';
import type { VersionFrom } from '../nginxconf/model/versionSource.js';
import type { NginxLoad } from '../nginxconf/model/evidence.js';
import type { NatDestination, NatModel } from '../nat/model/nat.js';

export type { HostFacts } from '../host/model/types.js';

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
  /** Sockets in states other than ESTABLISHED and TIME_WAIT; `states` says which. */
  other: number;
  /** Sockets by kernel state (include/net/tcp_states.h names), states with none left out. */
  states: StateCounts;
  /** connectRate.perSecond, kept for compatibility. */
  connectRatePerSecond: number;
  /** New connections per second, what it was measured from, and whether it is only a lower bound. */
  connectRate: ConnectRate;
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
  /** Which source gave the version, or null when unknown. */
  versionFrom?: VersionFrom | null;
  /** When the running nginx last loaded its config, where its workers are visible. */
  load?: NginxLoad | null;
}

export interface ReportNginx {
  config: string | null;
  note: string | null;
  files: string[];
  version: string | null;
  /** Which source gave the version (flag, nginx-bin, binary, process, error-log, package), or null when none did. */
  versionFrom: VersionFrom | null;
  versionSource: string;
  /**
   * When the running nginx last loaded its config (its newest worker's start), or
   * null when its processes are not visible: TIME_WAIT older than that was made
   * under the config before.
   */
  loaded: { at: string; detail: string } | null;
  problems: string[];
  upstreams: ReportUpstream[];
}

export interface ReportUpstream {
  name: string;
  /** `http` or `stream`. */
  module: string;
  servers: string[];
  /** The `keepalive` directive's value, or null when the block has none. */
  keepalive: number | null;
  /** What nginx keeps for the group on this version (nginxconf/model/pool.ts). */
  pool: {
    /** Idle connections per worker, or null for none or unknown. */
    size: number | null;
    source: PoolSource;
    /** Where it comes from: "keepalive 64 at /etc/nginx/conf.d/app.conf:12", "1.29.7+ default, local (…)", "none: …", "disabled: …", "unknown: …". */
    detail: string;
    /** The keepalive line that decides, "file:line", or null. */
    at: string | null;
    /** Connections reused only by the location that opened them (the 1.29.7 default, or `keepalive N local`). */
    local: boolean;
  };
  at: string;
}

export interface ReportErrorLog {
  /** The window read: lines stamped from `since` up to `until` (ISO 8601, UTC). */
  since: string;
  until: string;
  /**
   * The window ended before the sockets were sampled (--until): the error-log
   * findings are about the window, the socket findings about `generatedAt`.
   */
  past: boolean;
  /** The zone nginx's timestamps were read in (--error-log-timezone). */
  timeZone: string;
  files: string[];
  lines: number;
  unparsed: number;
  truncated: boolean;
  byKind: { kind: ErrorKind; count: number; first: string; last: string; sample: string }[];
  byDestination: Record<string, Partial<Record<ErrorKind, number>>>;
  /** "no live upstreams" per upstream group. */
  byUpstreamGroup: Record<string, number>;
  /** bind() failures per proxy_bind address, by kind. */
  byBindAddress: Record<string, Partial<Record<ErrorKind, number>>>;
  /** Error logs that could not be read, with why. */
  problems: string[];
  /** Which window this is, when it is not a scan of the logs back to `since`: the daemon says its rolling window. */
  window?: string;
  /** Events by kind over the window, in buckets of bucketSeconds (buckets without events left out). */
  timeline?: { bucketSeconds: number; buckets: { start: string; byKind: Partial<Record<ErrorKind, number>> }[] };
}

/** One destination behind a NAT, as the report shows it: the model's figures and, for host scope, the level. */
export type ReportNatDestination = Omit<NatDestination, 'destinationIp' | 'destinationPort'> & {
  /** The NAT headroom's level (host scope), as the kernel's; null for a shared gateway. */
  level: string | null;
};

/** One NAT in front of the host: its settings, what its numbers can show, and its destinations, largest share first. */
export type ReportNat = Omit<NatModel, 'destinations'> & {
  destinationsTotal: number;
  destinations: ReportNatDestination[];
};

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
  /** The NATs in front of the host (config `nat`); absent when none is configured. */
  nat?: ReportNat[];
}

export interface ReportInput {
  sample: SocketSample;
  /** The hint engine's findings for this sample (diagnosis.ts computes them). */
  findings: Finding[];
  thresholds: Thresholds;
  top: number;
  host: HostFacts | null;
  connectAttemptsPerSecond: number | null;
  generatedAtMs: number;
  /**
   * The error logs' window, what could not be read, the zone their times were read in (default: the agent's),
   * and, from the daemon, which window it is.
   */
  errorLog?: { summary: RecentSummary; problems: string[]; timeZone?: string; window?: string };
  nginx?: NginxReportInput;
  /** The NATs' view of the sample; absent (or empty) without a NAT. */
  nat?: readonly NatModel[];
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
    states: d.states,
    connectRatePerSecond: d.connectRatePerSecond,
    connectRate: d.connectRate,
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

function reportNat(nat: NatModel, top: number, t: Thresholds): ReportNat {
  const { destinations, ...rest } = nat;
  return {
    ...rest,
    destinationsTotal: destinations.length,
    destinations: destinations.slice(0, top).map(({ destinationIp: _ip, destinationPort: _port, ...d }) => ({
      ...d,
      level: d.headroom === null || d.headroomRatio === null ? null : destinationLevel({ headroom: d.headroom, headroomRatio: d.headroomRatio }, t),
    })),
  };
}

/** "; worst: NAT gcp → 203.0.113.10:443 60/64 mappings" when the leading finding is a NAT's. */
function natWorst(nats: readonly NatModel[] | undefined, lead: Finding | undefined): string | null {
  if (lead === undefined || !lead.id.startsWith('nat_')) return null;
  for (const n of nats ?? []) {
    const d = n.destinations[0];
    if (d !== undefined && lead.summary.startsWith(`NAT ${n.name} `)) return `worst: NAT ${n.name} → ${d.destination} ${d.used}/${d.capacity} mappings used`;
  }
  return null;
}

function verdict(status: Status, sample: SocketSample, findings: Finding[], nats?: readonly NatModel[]): string {
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
  const nat = natWorst(nats, top);
  if (nat !== null) return `${lead}; ${nat}`;
  return worst === undefined ? lead : `${lead}; worst: ${worst.sourceIp} → ${worst.destination} ${worst.headroom}/${worst.capacity} ports free`;
}

const fmtSpans = (spans: { from: number; to: number }[] | null): string | null =>
  spans === null ? null : spans.map((s) => (s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`)).join(',');

export function buildReport(input: ReportInput): Report {
  const { sample, thresholds } = input;
  const h = sample.headroom;
  const log = input.errorLog?.summary;
  const findings = input.findings;
  const status = statusOf(findings, h !== null);
  const s = sample.sysctls;
  const c = sample.counters;
  return {
    status,
    summary: verdict(status, sample, findings, input.nat),
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
    errorLog: input.errorLog === undefined ? null : reportErrorLog(input.errorLog, input.generatedAtMs),
    nginx: input.nginx === undefined ? null : reportNginx(input.nginx),
    findings,
    sources: sample.sources,
    assumptions: sample.assumptions,
    problems: sample.problems,
    ...(input.nat !== undefined && input.nat.length > 0 ? { nat: input.nat.map((n) => reportNat(n, input.top, thresholds)) } : {}),
  };
}

function reportErrorLog(e: NonNullable<ReportInput['errorLog']>, generatedAtMs: number): ReportErrorLog {
  const s = e.summary;
  return {
    since: iso(s.sinceMs),
    // A window open at its end (Infinity) ends when the report is made.
    until: iso(Math.min(s.untilMs, generatedAtMs)),
    past: s.past,
    timeZone: e.timeZone ?? describeTimeZone(LOCAL_ZONE),
    files: s.files,
    lines: s.lines,
    unparsed: s.unparsed,
    truncated: s.truncated,
    byKind: s.byKind.map((k) => ({ kind: k.kind, count: k.count, first: iso(k.firstMs), last: iso(k.lastMs), sample: k.sample })),
    byDestination: s.byDestination,
    byUpstreamGroup: s.byUpstreamGroup,
    byBindAddress: s.byBindAddress,
    problems: e.problems,
    ...(e.window !== undefined ? { window: e.window } : {}),
    ...(s.timeline !== undefined
      ? { timeline: { bucketSeconds: s.timeline.bucketMs / 1000, buckets: s.timeline.buckets.map((b) => ({ start: iso(b.startMs), byKind: b.byKind })) } }
      : {}),
  };
}

function reportNginx(n: NginxReportInput): ReportNginx {
  const c = n.evidence.config;
  return {
    config: n.configPath,
    note: c === null ? n.evidence.configNote : null,
    files: n.files,
    version: n.evidence.version,
    versionFrom: n.versionFrom ?? null,
    versionSource: n.versionSource,
    loaded: n.load == null ? null : { at: iso(n.load.atMs), detail: n.load.detail },
    problems: n.problems,
    upstreams: c?.upstreams.map((u) => reportUpstream(u, n.evidence.version)) ?? [],
  };
}

function reportUpstream(u: UpstreamGroup, version: string | null): ReportUpstream {
  const pool = effectivePool(u, version);
  return {
    name: u.name,
    module: u.module ?? 'http',
    servers: u.servers.map((x) => x.address),
    keepalive: u.keepalive,
    pool: { size: pool.size, source: pool.source, detail: pool.text, at: pool.at === null ? null : `${pool.at.file}:${pool.at.line}`, local: pool.local },
    at: `${u.at.file}:${u.at.line}`,
  };
}
