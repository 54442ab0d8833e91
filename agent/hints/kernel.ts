/**
 * Findings from the socket sample and the kernel's settings alone: how close each
 * destination is (the symptoms) and the sysctls that decide it. Pure.
 *
 * Mechanisms: ../shared FACTS, net/ipv4/inet_hashtables.c (__inet_hash_connect),
 * net/ipv4/tcp_ipv4.c (tcp_twsk_unique) and Documentation/networking/ip-sysctl.rst.
 */
import type { DestinationHeadroom, KernelSettings } from '../sockets/model/headroom.js';
import {
  destinationLevel,
  destinationName,
  MAX_LISTED,
  pct,
  perSecond,
  type DestinationLevel,
  type Finding,
  type FindingId,
  type FindingInput,
  type Severity,
} from './types.js';

/** Default size of ip_local_port_range and the widest range that leaves the privileged ports alone. */
const DEFAULT_RANGE_SIZE = 60999 - 32768 + 1;
export const WIDE_RANGE = { low: 1024, high: 65535 };
const WIDE_RANGE_SIZE = WIDE_RANGE.high - WIDE_RANGE.low + 1;

export function describeDestination(d: DestinationHeadroom): string {
  const blockingTw = d.timeWait - d.timeWaitReusable;
  const parts = [
    `${destinationName(d)}: ${d.used}/${d.capacity} ports used, ${d.headroom} free (${pct(d.headroomRatio)})`,
    `${d.established} established, ${blockingTw} TIME_WAIT blocking` +
      (d.timeWaitReusable > 0 ? `, ${d.timeWaitReusable} TIME_WAIT reusable` : '') +
      (d.other > 0 ? `, ${d.other} in other states` : ''),
  ];
  if (d.connectRatePerSecond > 0) parts.push(`${perSecond(d.connectRatePerSecond)} new connections/s`);
  if (d.secondsUntilNextRelease !== null && d.headroom === 0) parts.push(`next port frees in ${d.secondsUntilNextRelease.toFixed(1)} s`);
  return parts.join('; ');
}

/** TIME_WAIT that blocks its 4-tuple holds at least half the used ports: connection churn, not concurrency. */
export function timeWaitDominated(d: DestinationHeadroom): boolean {
  const blocking = d.timeWait - d.timeWaitReusable;
  return blocking > 0 && blocking >= d.established + d.other;
}

/** Open connections (not TIME_WAIT) hold most of the used ports: concurrency, which keepalive cannot fix. */
export function heldOpen(d: DestinationHeadroom): boolean {
  return d.established + d.other > d.timeWait - d.timeWaitReusable;
}

/**
 * The generic fix for a destination short of ports, used when nginx's config is
 * unknown or does not reach the destination. Config-aware findings (nginx.ts)
 * replace it with exact lines.
 */
export function genericHeadroomFix(ds: readonly DestinationHeadroom[], settings: KernelSettings, configNote: string | null): string {
  const blockingTw = ds.reduce((s, d) => s + d.timeWait - d.timeWaitReusable, 0);
  const held = ds.reduce((s, d) => s + d.established + d.other, 0);
  const lines: string[] = [];
  if (configNote !== null) lines.push(`(${configNote}: the lines below are a template, not checked against nginx's config.)`);
  if (blockingTw >= held) {
    lines.push(
      'Most ports are held by TIME_WAIT: the client side opens and closes a connection per request. If this is nginx, reuse upstream connections:',
      '  upstream <name> { server ' + (ds[0]?.destination ?? '<ip:port>') + '; keepalive 32; }',
      '  location … { proxy_pass http://<name>; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    );
    if (!ds.every((d) => d.timeWaitReuse)) {
      lines.push(`and/or let connect() reuse TIME_WAIT 4-tuples older than ${settings.tcpTwReuseDelayMs} ms: sysctl -w net.ipv4.tcp_tw_reuse=1`);
    }
  } else {
    lines.push(
      'Most ports are held by open connections. Add 4-tuple space: more upstream server IPs, or more source IPs',
      '  with split_clients + proxy_bind $source_ip (each source IP adds a whole port range per destination),',
      'or cap concurrency: max_conns on the upstream servers; find why responses are slow.',
    );
  }
  if (settings.portRange.high - settings.portRange.low + 1 < WIDE_RANGE_SIZE) {
    lines.push(`Widen the range: sysctl -w net.ipv4.ip_local_port_range="${WIDE_RANGE.low} ${WIDE_RANGE.high}" (see port_range_narrow).`);
  }
  return lines.join('\n');
}

const LEVEL_WHY =
  'connect() without bind() needs a free (source IP, source port, destination IP, destination port) 4-tuple. ' +
  'Per destination there are as many as ip_local_port_range has usable ports; every ESTABLISHED connection and every ' +
  'TIME_WAIT socket (60 s, unless tcp_tw_reuse may take it over) holds one. At zero, connect() fails with EADDRNOTAVAIL (99) ' +
  'and nginx answers 502 (net/ipv4/inet_hashtables.c, __inet_hash_connect).';

export function kernelFindings(input: FindingInput, byLevel: Record<DestinationLevel, DestinationHeadroom[]>): Finding[] {
  const { headroom, settings, sysctls, counters, thresholds } = input;
  const configNote = input.nginx === undefined ? 'nginx config not read' : input.nginx.config === null ? (input.nginx.configNote ?? 'nginx config not read') : null;
  const findings: Finding[] = [];
  const troubled = [...byLevel.exhausted, ...byLevel.critical, ...byLevel.warning];

  const levelFinding = (id: FindingId, severity: Severity, ds: DestinationHeadroom[], what: string): void => {
    if (ds.length === 0) return;
    const listed = ds.slice(0, MAX_LISTED).map(describeDestination);
    if (ds.length > MAX_LISTED) listed.push(`… and ${ds.length - MAX_LISTED} more`);
    const d0 = ds[0]!;
    findings.push({
      id,
      severity,
      summary: `${ds.length} destination${ds.length > 1 ? 's' : ''} ${what}`,
      evidence: listed,
      why: LEVEL_WHY,
      fix: genericHeadroomFix(ds, settings, configNote),
      effect:
        d0.connectRatePerSecond > 0
          ? `At ${perSecond(d0.connectRatePerSecond)} new connections/s ${destinationName(d0)} needs about ` +
            `${Math.round(d0.connectRatePerSecond * (d0.timeWaitReuse ? settings.tcpTwReuseDelayMs / 1000 : 60))} ports for TIME_WAIT alone; it has ${d0.capacity}.`
          : null,
      destinations: ds.map(destinationName),
      upstreams: [],
    });
  };
  levelFinding('headroom_exhausted', 'critical', byLevel.exhausted, 'out of ephemeral ports: connect() fails with EADDRNOTAVAIL (99)');
  levelFinding('headroom_critical', 'critical', byLevel.critical, `below ${pct(thresholds.criticalHeadroomRatio)} ephemeral-port headroom`);
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
            `${destinationName(d)}: ${perSecond(d.connectRatePerSecond)} connections/s, sustainable ${perSecond(d.maxSustainableConnectRate)}/s ` +
            `(${d.capacity} ports ÷ ${d.timeWaitReuse ? `${settings.tcpTwReuseDelayMs / 1000} s reuse delay` : '60 s TIME_WAIT'})`,
        ),
      why:
        'Each connection the client side closes leaves a TIME_WAIT socket holding its 4-tuple for 60 s, so one destination ' +
        'sustains at most usable ports ÷ 60 s new connections per second (÷ tcp_tw_reuse_delay when reuse applies). ' +
        'The rate is measured from the ages of TIME_WAIT sockets.',
      fix: genericHeadroomFix(fast, settings, configNote),
      effect: null,
      destinations: fast.map(destinationName),
      upstreams: [],
    });
  }

  const range = headroom.portRange;
  const reservedNow = (sysctls.ipLocalReservedPorts ?? []).map((s) => (s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`));
  if (troubled.length > 0 && range.size < WIDE_RANGE_SIZE) {
    const toReserve = headroom.listenerPorts.filter((p) => p >= WIDE_RANGE.low && p <= WIDE_RANGE.high).map(String);
    const reserveList = [...new Set([...reservedNow, ...toReserve])].join(',');
    const newUsable = WIDE_RANGE_SIZE - toReserve.length - range.reserved;
    findings.push({
      id: 'port_range_narrow',
      severity: 'warning',
      summary:
        `ip_local_port_range gives ${range.usable} usable ports per destination` + (range.size < DEFAULT_RANGE_SIZE ? ', fewer than the kernel default' : ''),
      evidence: [
        `net.ipv4.ip_local_port_range = ${range.low} ${range.high} (${range.size} ports; ${range.reserved} reserved, ${range.listenersInRange} held by listeners)`,
        `${troubled.length} destination(s) at or below the warning threshold`,
      ],
      why: 'Every destination gets as many 4-tuples as the range has usable ports; the default 32768-60999 is 28 232, and 1024-65535 is 64 512.',
      fix: [
        '# /etc/sysctl.d/60-ephemeral-ports.conf (per network namespace: in Kubernetes, the pod\'s securityContext.sysctls)',
        ...(reserveList !== '' ? [`net.ipv4.ip_local_reserved_ports = ${reserveList}   # listening ports stay out of the range`] : []),
        `net.ipv4.ip_local_port_range = ${WIDE_RANGE.low} ${WIDE_RANGE.high}`,
        '# apply now: sysctl --system',
      ].join('\n'),
      effect: `Usable ports per destination: ${range.usable} → about ${newUsable}; sustainable new connections/s per destination without reuse: ${perSecond(range.usable / 60)} → ${perSecond(newUsable / 60)}.`,
      destinations: troubled.map(destinationName),
      upstreams: [],
    });
  }

  const listenersInRange = headroom.listenerPorts.filter(
    (p) => p >= range.low && p <= range.high && !(sysctls.ipLocalReservedPorts ?? []).some((s) => p >= s.from && p <= s.to),
  );
  if (listenersInRange.length > 0) {
    const reserveList = [...new Set([...reservedNow, ...listenersInRange.map(String)])].join(',');
    findings.push({
      id: 'listener_in_range',
      severity: 'info',
      summary: `${listenersInRange.length} listening port${listenersInRange.length > 1 ? 's are' : ' is'} inside ip_local_port_range and not reserved`,
      evidence: [
        `listening ports ${listenersInRange.slice(0, 20).join(', ')}${listenersInRange.length > 20 ? ', …' : ''} inside ${range.low}-${range.high}`,
        `net.ipv4.ip_local_reserved_ports = ${reservedNow.join(',') || '(empty)'}`,
      ],
      why:
        'A port bound by a listener is skipped for every destination, and while an outgoing connection happens to hold it a ' +
        'restarting service cannot bind it (EADDRINUSE). ip_local_reserved_ports keeps connect() away from it.',
      fix: `# /etc/sysctl.d/60-ephemeral-ports.conf\nnet.ipv4.ip_local_reserved_ports = ${reserveList}\n# apply now: sysctl --system`,
      effect: null,
      destinations: [],
      upstreams: [],
    });
  }

  const twBound = troubled.filter((d) => !d.timeWaitReuse && d.timeWait - d.timeWaitReusable >= d.used / 2);
  if (twBound.length > 0 && settings.tcpTimestamps !== 0) {
    const d0 = twBound[0]!;
    findings.push({
      id: 'time_wait_reuse_off',
      severity: 'warning',
      summary: 'TIME_WAIT sockets hold most used ports and the kernel may not reuse them for these destinations',
      evidence: [
        `net.ipv4.tcp_tw_reuse = ${settings.tcpTwReuse}` +
          (settings.tcpTwReuse === 2 ? ' (reuse for loopback connections only; these destinations are not loopback)' : ' (off)'),
        ...twBound.slice(0, MAX_LISTED).map((d) => `${destinationName(d)}: ${d.timeWait} of ${d.used} used ports are TIME_WAIT`),
      ],
      why:
        'tcp_twsk_unique() lets a new outgoing connection take over a TIME_WAIT 4-tuple only with tcp_tw_reuse = 1 (or 2 over ' +
        'loopback), TCP timestamps on, and the TIME_WAIT socket older than tcp_tw_reuse_delay. PAWS (RFC 7323) makes that safe.',
      fix:
        '# /etc/sysctl.d/60-ephemeral-ports.conf (outgoing connections only)\nnet.ipv4.tcp_tw_reuse = 1\n# apply now: sysctl --system',
      effect:
        `TIME_WAIT 4-tuples free after ${settings.tcpTwReuseDelayMs} ms instead of 60 s: sustainable new connections/s to ` +
        `${destinationName(d0)} ${perSecond(d0.capacity / 60)} → ${perSecond(d0.capacity / (settings.tcpTwReuseDelayMs / 1000))}.`,
      destinations: twBound.map(destinationName),
      upstreams: [],
    });
  }

  if (settings.tcpTimestamps === 0 && settings.tcpTwReuse !== 0 && headroom.timeWait > 0) {
    findings.push({
      id: 'timestamps_off',
      severity: troubled.length > 0 ? 'warning' : 'info',
      summary: 'tcp_tw_reuse is set but TCP timestamps are off, so TIME_WAIT 4-tuples are never reused',
      evidence: [`net.ipv4.tcp_tw_reuse = ${settings.tcpTwReuse}`, 'net.ipv4.tcp_timestamps = 0', `${headroom.timeWait} TIME_WAIT sockets host-wide`],
      why: 'tcp_twsk_unique() reuses a TIME_WAIT 4-tuple only when the old connection carried TCP timestamps (PAWS protects the new one).',
      fix: '# /etc/sysctl.d/60-ephemeral-ports.conf\nnet.ipv4.tcp_timestamps = 1\n# apply now: sysctl --system',
      effect: null,
      destinations: [],
      upstreams: [],
    });
  }

  if (range.size > 1 && range.size % 2 === 1) {
    findings.push({
      id: 'port_range_odd',
      severity: 'info',
      summary: 'ip_local_port_range has an odd number of ports: each connect() scan covers one port fewer',
      evidence: [`net.ipv4.ip_local_port_range = ${range.low} ${range.high} (${range.size} ports)`],
      why: '__inet_hash_connect() rounds the scan down to an even count, so the last free port may be missed (headroom may read one high).',
      fix: `sysctl -w net.ipv4.ip_local_port_range="${range.low} ${range.high + 1 <= 65535 ? range.high + 1 : range.high - 1}"`,
      effect: null,
      destinations: [],
      upstreams: [],
    });
  }

  if (counters.timeWaitOverflow !== null && counters.timeWaitOverflow > 0) {
    const atCap = sysctls.tcpMaxTwBuckets !== null && headroom.timeWait >= 0.9 * sysctls.tcpMaxTwBuckets;
    findings.push({
      id: 'time_wait_overflow',
      severity: atCap ? 'warning' : 'info',
      summary: 'tcp_max_tw_buckets was reached: TIME_WAIT sockets were destroyed early, so TIME_WAIT counts understate the churn',
      evidence: [
        `TcpExt TCPTimeWaitOverflow = ${counters.timeWaitOverflow} since boot`,
        `net.ipv4.tcp_max_tw_buckets = ${sysctls.tcpMaxTwBuckets ?? 'unknown'}, ${headroom.timeWait} TIME_WAIT sockets now`,
      ],
      why:
        'Above tcp_max_tw_buckets the kernel skips TIME_WAIT for closing sockets (inet_twsk_alloc fails). Ports come back sooner, ' +
        'but the connect rate read from TIME_WAIT ages, and any TIME_WAIT-based dashboard, undercounts the real churn.',
      fix: atCap
        ? 'Reduce the churn at its source (upstream keepalive; see the other findings). Raising tcp_max_tw_buckets only makes the churn visible again.'
        : null,
      effect: null,
      destinations: [],
      upstreams: [],
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
        why:
          'Every tracked connection, TIME_WAIT included, takes a conntrack entry until its timeout; when the table is full the ' +
          'kernel drops new connections ("nf_conntrack: table full, dropping packet"), a failure that looks like a timeout, not EADDRNOTAVAIL.',
        fix: `# /etc/sysctl.d/60-conntrack.conf\nnet.netfilter.nf_conntrack_max = ${counters.conntrackMax * 2}\n# or exempt loopback/upstream traffic with a notrack rule in the raw table`,
        effect: `Table size ${counters.conntrackMax} → ${counters.conntrackMax * 2} entries (about 300 bytes of kernel memory each).`,
        destinations: [],
        upstreams: [],
      });
    }
  }
  return findings;
}

export function levelsOf(input: FindingInput): Record<DestinationLevel, DestinationHeadroom[]> {
  const byLevel: Record<DestinationLevel, DestinationHeadroom[]> = { exhausted: [], critical: [], warning: [], ok: [] };
  for (const d of input.headroom.destinations) byLevel[destinationLevel(d, input.thresholds)].push(d);
  return byLevel;
}
