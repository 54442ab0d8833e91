/**
 * Findings: what is wrong, the evidence for it, and the exact change that fixes it.
 * Pure: the models in, findings out. Later rule sets (nginx configuration, error
 * log) add rules of the same shape.
 */
import type { DestinationHeadroom, HeadroomModel, KernelSettings } from '../sockets/model/headroom.js';
import type { HostCounters, SysctlValues } from '../sockets/sample.js';
import type { ErrorKind } from '../errorlog/parse/classify.js';

export type Severity = 'critical' | 'warning' | 'info';

export const FINDING_IDS = [
  'headroom_exhausted',
  'headroom_critical',
  'headroom_low',
  'connect_rate_near_limit',
  'port_range_narrow',
  'time_wait_reuse_off',
  'timestamps_off',
  'port_range_odd',
  'time_wait_overflow',
  'conntrack_near_full',
  'exhaustion_confirmed',
  'exhaustion_recent',
  'fd_limit',
  'worker_connections_exhausted',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

export interface Finding {
  id: FindingId;
  severity: Severity;
  summary: string;
  /** Observed facts, each a line a human can check against the machine. */
  evidence: string[];
  /** The exact change, or null where the finding is informational. */
  fix: string | null;
  /** Destinations (`source → destination`) the finding is about, if any. */
  destinations: string[];
}

export interface Thresholds {
  warningHeadroomRatio: number;
  criticalHeadroomRatio: number;
}

/** What the error log said in the recent window (agent diagnose --since). */
export interface ErrorLogEvidence {
  sinceMs: number;
  /** Events per destination by kind. */
  byDestination: Readonly<Record<string, Partial<Record<ErrorKind, number>>>>;
  byKind: readonly { kind: ErrorKind; count: number; firstMs: number; lastMs: number; sample: string }[];
}

export interface FindingInput {
  headroom: HeadroomModel;
  settings: KernelSettings;
  sysctls: SysctlValues;
  counters: HostCounters;
  thresholds: Thresholds;
  errorLog?: ErrorLogEvidence;
}

export type DestinationLevel = 'exhausted' | 'critical' | 'warning' | 'ok';

/** Defaults: warning below 20 % headroom, critical below 5 % or at 0. */
export function destinationLevel(d: Pick<DestinationHeadroom, 'headroom' | 'headroomRatio'>, t: Thresholds): DestinationLevel {
  if (d.headroom <= 0) return 'exhausted';
  if (d.headroomRatio < t.criticalHeadroomRatio) return 'critical';
  if (d.headroomRatio < t.warningHeadroomRatio) return 'warning';
  return 'ok';
}

export function destinationName(d: Pick<DestinationHeadroom, 'sourceIp' | 'destination'>): string {
  return `${d.sourceIp} → ${d.destination}`;
}

const pct = (r: number): string => `${(r * 100).toFixed(1)} %`;
const rate = (r: number): string => (r >= 100 ? r.toFixed(0) : r.toFixed(1));

/** Default size of ip_local_port_range and the widest range that leaves the privileged ports alone. */
const DEFAULT_RANGE_SIZE = 60999 - 32768 + 1;
const WIDE_RANGE = { low: 1024, high: 65535 };
const MAX_LISTED = 5;

function describeDestination(d: DestinationHeadroom): string {
  const blockingTw = d.timeWait - d.timeWaitReusable;
  const parts = [
    `${destinationName(d)}: ${d.used}/${d.capacity} ports used, ${d.headroom} free (${pct(d.headroomRatio)})`,
    `${d.established} established, ${blockingTw} TIME_WAIT blocking` +
      (d.timeWaitReusable > 0 ? `, ${d.timeWaitReusable} TIME_WAIT reusable` : '') +
      (d.other > 0 ? `, ${d.other} in other states` : ''),
  ];
  if (d.secondsUntilNextRelease !== null && d.headroom === 0) parts.push(`next port frees in ${d.secondsUntilNextRelease.toFixed(1)} s`);
  return parts.join('; ');
}

/** What dominates a destination's used ports, and the change that addresses it. */
function headroomFix(ds: DestinationHeadroom[], settings: KernelSettings): string {
  const blockingTw = ds.reduce((s, d) => s + d.timeWait - d.timeWaitReusable, 0);
  const held = ds.reduce((s, d) => s + d.established + d.other, 0);
  const lines: string[] = [];
  if (blockingTw >= held) {
    lines.push(
      'Most ports are held by TIME_WAIT: nginx opens and closes a connection per request. Reuse upstream connections:',
      '  upstream <name> { server ' + (ds[0]?.destination ?? '<ip:port>') + '; keepalive 32; }',
      '  location … { proxy_pass http://<name>; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    );
    if (!ds.every((d) => d.timeWaitReuse)) {
      lines.push(
        `and/or let connect() reuse TIME_WAIT 4-tuples older than ${settings.tcpTwReuseDelayMs} ms: sysctl -w net.ipv4.tcp_tw_reuse=1`,
      );
    }
  } else {
    lines.push(
      'Most ports are held by open connections. Add 4-tuple space: more upstream server IPs, or more source IPs',
      '  with split_clients + proxy_bind $source_ip (each source IP adds a whole port range per destination),',
      'or cap the pool: keepalive, max_conns on the upstream server.',
    );
  }
  if (settings.portRange.high - settings.portRange.low + 1 < WIDE_RANGE.high - WIDE_RANGE.low + 1) {
    lines.push(`Widen the range: sysctl -w net.ipv4.ip_local_port_range="${WIDE_RANGE.low} ${WIDE_RANGE.high}" (see port_range_narrow).`);
  }
  return lines.join('\n');
}

function reservedPortsFor(listenerPorts: number[], low: number, high: number): string {
  const inRange = listenerPorts.filter((p) => p >= low && p <= high);
  return inRange.length > 0 ? inRange.join(',') : '';
}

export function computeFindings(input: FindingInput): Finding[] {
  const { headroom, settings, sysctls, counters, thresholds } = input;
  const findings: Finding[] = [];
  const byLevel: Record<DestinationLevel, DestinationHeadroom[]> = { exhausted: [], critical: [], warning: [], ok: [] };
  for (const d of headroom.destinations) byLevel[destinationLevel(d, thresholds)].push(d);
  const troubled = [...byLevel.exhausted, ...byLevel.critical, ...byLevel.warning];

  const levelFinding = (id: FindingId, severity: Severity, ds: DestinationHeadroom[], what: string): void => {
    if (ds.length === 0) return;
    const listed = ds.slice(0, MAX_LISTED).map(describeDestination);
    if (ds.length > MAX_LISTED) listed.push(`… and ${ds.length - MAX_LISTED} more`);
    findings.push({
      id,
      severity,
      summary: `${ds.length} destination${ds.length > 1 ? 's' : ''} ${what}`,
      evidence: listed,
      fix: headroomFix(ds, settings),
      destinations: ds.map(destinationName),
    });
  };
  levelFinding('headroom_exhausted', 'critical', byLevel.exhausted, 'out of ephemeral ports: connect() fails with EADDRNOTAVAIL (99)');
  levelFinding(
    'headroom_critical',
    'critical',
    byLevel.critical,
    `below ${pct(thresholds.criticalHeadroomRatio)} ephemeral-port headroom`,
  );
  levelFinding('headroom_low', 'warning', byLevel.warning, `below ${pct(thresholds.warningHeadroomRatio)} ephemeral-port headroom`);

  const fast = headroom.destinations.filter(
    (d) => d.headroom > 0 && d.maxSustainableConnectRate > 0 && d.connectRatePerSecond >= 0.8 * d.maxSustainableConnectRate,
  );
  if (fast.length > 0) {
    findings.push({
      id: 'connect_rate_near_limit',
      severity: 'warning',
      summary: `${fast.length} destination${fast.length > 1 ? 's are' : ' is'} opening connections at 80 % or more of the rate the port range sustains`,
      evidence: fast
        .slice(0, MAX_LISTED)
        .map(
          (d) =>
            `${destinationName(d)}: ${rate(d.connectRatePerSecond)} connections/s, sustainable ${rate(d.maxSustainableConnectRate)}/s ` +
            `(${d.capacity} ports ÷ ${d.timeWaitReuse ? `${settings.tcpTwReuseDelayMs / 1000} s reuse delay` : '60 s TIME_WAIT'})`,
        ),
      fix: headroomFix(fast, settings),
      destinations: fast.map(destinationName),
    });
  }

  const range = headroom.portRange;
  if (troubled.length > 0 && range.size < WIDE_RANGE.high - WIDE_RANGE.low + 1) {
    const reserve = reservedPortsFor(headroom.listenerPorts, WIDE_RANGE.low, WIDE_RANGE.high);
    const existing = (sysctls.ipLocalReservedPorts ?? []).map((s) => (s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`));
    const reserveList = [...new Set([...existing, ...(reserve === '' ? [] : reserve.split(','))])].join(',');
    findings.push({
      id: 'port_range_narrow',
      severity: 'warning',
      summary: `ip_local_port_range gives ${range.usable} usable ports per destination` + (range.size < DEFAULT_RANGE_SIZE ? ', fewer than the kernel default' : ''),
      evidence: [
        `net.ipv4.ip_local_port_range = ${range.low} ${range.high} (${range.size} ports; ${range.reserved} reserved, ${range.listenersInRange} held by listeners)`,
        `${troubled.length} destination(s) at or below the warning threshold`,
      ],
      fix: [
        ...(reserveList !== ''
          ? [`sysctl -w net.ipv4.ip_local_reserved_ports="${reserveList}"   # keep listening ports out of the range first`]
          : []),
        `sysctl -w net.ipv4.ip_local_port_range="${WIDE_RANGE.low} ${WIDE_RANGE.high}"`,
        'Persist both in /etc/sysctl.d/ (or the pod\'s securityContext.sysctls: they are per network namespace).',
      ].join('\n'),
      destinations: troubled.map(destinationName),
    });
  }

  const twBound = troubled.filter((d) => !d.timeWaitReuse && d.timeWait - d.timeWaitReusable >= d.used / 2);
  if (twBound.length > 0 && settings.tcpTimestamps !== 0) {
    findings.push({
      id: 'time_wait_reuse_off',
      severity: 'warning',
      summary: 'TIME_WAIT sockets hold most used ports and the kernel may not reuse them for these destinations',
      evidence: [
        `net.ipv4.tcp_tw_reuse = ${settings.tcpTwReuse}` +
          (settings.tcpTwReuse === 2 ? ' (reuse for loopback connections only; these destinations are not loopback)' : ' (off)'),
        ...twBound.slice(0, MAX_LISTED).map((d) => `${destinationName(d)}: ${d.timeWait} of ${d.used} used ports are TIME_WAIT`),
      ],
      fix:
        'sysctl -w net.ipv4.tcp_tw_reuse=1   # outgoing connections only; safe with TCP timestamps (RFC 7323 PAWS)\n' +
        `TIME_WAIT 4-tuples then free after tcp_tw_reuse_delay (${settings.tcpTwReuseDelayMs} ms) instead of 60 s.`,
      destinations: twBound.map(destinationName),
    });
  }

  if (settings.tcpTimestamps === 0 && settings.tcpTwReuse !== 0 && headroom.timeWait > 0) {
    findings.push({
      id: 'timestamps_off',
      severity: troubled.length > 0 ? 'warning' : 'info',
      summary: 'tcp_tw_reuse is set but TCP timestamps are off, so TIME_WAIT 4-tuples are never reused',
      evidence: [`net.ipv4.tcp_tw_reuse = ${settings.tcpTwReuse}`, 'net.ipv4.tcp_timestamps = 0', `${headroom.timeWait} TIME_WAIT sockets host-wide`],
      fix: 'sysctl -w net.ipv4.tcp_timestamps=1',
      destinations: [],
    });
  }

  if (range.size > 1 && range.size % 2 === 1) {
    findings.push({
      id: 'port_range_odd',
      severity: 'info',
      summary: 'ip_local_port_range has an odd number of ports: each connect() scan covers one port fewer',
      evidence: [
        `net.ipv4.ip_local_port_range = ${range.low} ${range.high} (${range.size} ports)`,
        '__inet_hash_connect() rounds the scan down to an even count, so the last free port may be missed (headroom may read one high)',
      ],
      fix: `sysctl -w net.ipv4.ip_local_port_range="${range.low} ${range.high + 1 <= 65535 ? range.high + 1 : range.high - 1}"`,
      destinations: [],
    });
  }

  if (counters.timeWaitOverflow !== null && counters.timeWaitOverflow > 0) {
    findings.push({
      id: 'time_wait_overflow',
      severity: 'info',
      summary: 'tcp_max_tw_buckets was reached: TIME_WAIT sockets were destroyed early',
      evidence: [
        `TcpExt TCPTimeWaitOverflow = ${counters.timeWaitOverflow} since boot`,
        `net.ipv4.tcp_max_tw_buckets = ${sysctls.tcpMaxTwBuckets ?? 'unknown'}, ${headroom.timeWait} TIME_WAIT sockets now`,
      ],
      fix: null,
      destinations: [],
    });
  }

  if (counters.conntrackCount !== null && counters.conntrackMax !== null && counters.conntrackMax > 0) {
    const ratio = counters.conntrackCount / counters.conntrackMax;
    if (ratio >= 0.8) {
      findings.push({
        id: 'conntrack_near_full',
        severity: ratio >= 0.95 ? 'critical' : 'warning',
        summary: `conntrack table ${pct(ratio)} full: new connections are dropped when it fills`,
        evidence: [`nf_conntrack_count = ${counters.conntrackCount}`, `nf_conntrack_max = ${counters.conntrackMax}`],
        fix: `sysctl -w net.netfilter.nf_conntrack_max=${counters.conntrackMax * 2}   # or exempt upstream traffic with a notrack rule`,
        destinations: [],
      });
    }
  }

  if (input.errorLog !== undefined) findings.push(...errorLogFindings(input.errorLog, headroom, thresholds, settings));

  // Most severe first; nginx's own confirmation leads, being the strongest signal there is.
  const rank = (f: Finding): number => (f.id === 'exhaustion_confirmed' ? 0 : f.severity === 'critical' ? 1 : f.severity === 'warning' ? 2 : 3);
  return findings.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
}

const isoMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';

function errorLogFindings(log: ErrorLogEvidence, headroom: HeadroomModel, t: Thresholds, settings: KernelSettings): Finding[] {
  const out: Finding[] = [];
  const e99 = log.byKind.find((k) => k.kind === 'eaddrnotavail');
  if (e99 !== undefined) {
    const confirmed: string[] = [];
    const recovered: string[] = [];
    const confirmedDest: DestinationHeadroom[] = [];
    for (const [dest, kinds] of Object.entries(log.byDestination)) {
      const n = kinds.eaddrnotavail ?? 0;
      if (n === 0) continue;
      const rows = headroom.destinations.filter((d) => d.destination === dest);
      const worst = rows[0];
      const line = `nginx logged ${n} × "(99: Cannot assign requested address)" connecting to ${dest}`;
      if (worst !== undefined && destinationLevel(worst, t) !== 'ok') {
        confirmed.push(`${line}; now ${worst.headroom}/${worst.capacity} ports free from ${worst.sourceIp}`);
        confirmedDest.push(worst);
      } else {
        recovered.push(`${line}; now ${worst === undefined ? `${headroom.portRange.usable}/${headroom.portRange.usable}` : `${worst.headroom}/${worst.capacity}`} ports free`);
      }
    }
    const window = `between ${isoMinute(e99.firstMs)} and ${isoMinute(e99.lastMs)}`;
    if (confirmed.length > 0) {
      out.push({
        id: 'exhaustion_confirmed',
        severity: 'critical',
        summary: `exhaustion confirmed by nginx: connect() failed with EADDRNOTAVAIL ${window} and headroom is low now`,
        evidence: [...confirmed.slice(0, MAX_LISTED), `sample: ${e99.sample}`],
        fix: headroomFix(confirmedDest, settings),
        destinations: confirmedDest.map(destinationName),
      });
    }
    if (recovered.length > 0) {
      out.push({
        id: 'exhaustion_recent',
        severity: 'warning',
        summary: `nginx ran out of ephemeral ports ${window}; headroom has recovered since`,
        evidence: [...recovered.slice(0, MAX_LISTED), `sample: ${e99.sample}`],
        fix: 'The load that exhausted the range may return: apply the fixes for headroom_exhausted (upstream keepalive, tcp_tw_reuse, a wider range) before it does.',
        destinations: Object.keys(log.byDestination).filter((d) => (log.byDestination[d]?.eaddrnotavail ?? 0) > 0),
      });
    }
  }
  const fd = log.byKind.filter((k) => k.kind === 'emfile' || k.kind === 'enfile');
  if (fd.length > 0) {
    out.push({
      id: 'fd_limit',
      severity: 'warning',
      summary: 'nginx ran out of file descriptors (a different exhaustion: not ports)',
      evidence: fd.map((k) => `${k.count} × ${k.kind === 'emfile' ? '"(24: Too many open files)"' : '"(23: Too many open files in system)"'} between ${isoMinute(k.firstMs)} and ${isoMinute(k.lastMs)}; sample: ${k.sample}`),
      fix: fd.some((k) => k.kind === 'emfile')
        ? 'Raise the per-worker limit: worker_rlimit_nofile 65535; (main context; at least 2 × worker_connections), and LimitNOFILE in the service unit.'
        : 'The system-wide table is full: raise fs.file-max (sysctl -w fs.file-max=…) and find what holds the descriptors.',
      destinations: [],
    });
  }
  const wc = log.byKind.find((k) => k.kind === 'worker_connections');
  if (wc !== undefined) {
    out.push({
      id: 'worker_connections_exhausted',
      severity: 'warning',
      summary: 'nginx ran out of connection slots (worker_connections), not ports',
      evidence: [`${wc.count} × "worker_connections are not enough" between ${isoMinute(wc.firstMs)} and ${isoMinute(wc.lastMs)}`, `sample: ${wc.sample}`],
      fix: 'Raise worker_connections in the events {} block (each proxied request uses two: client and upstream), with worker_rlimit_nofile above it.',
      destinations: [],
    });
  }
  return out;
}

export type Status = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Monitoring-plugin exit codes. */
export const EXIT_CODES: Record<Status, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export function statusOf(findings: readonly Finding[], modelAvailable: boolean): Status {
  if (!modelAvailable) return 'UNKNOWN';
  if (findings.some((f) => f.severity === 'critical')) return 'CRITICAL';
  if (findings.some((f) => f.severity === 'warning')) return 'WARNING';
  return 'OK';
}
