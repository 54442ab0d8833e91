/**
 * Prometheus metrics, on a registry passed in (never the global one).
 *
 * Values are set when a sample lands (`update`), so a scrape only serialises what
 * is already there: it never reads /proc and cannot fail because a source did.
 * Per-destination series are limited to the `maxDestinations` destinations with
 * the least headroom; the full count is in nginx_port_destinations.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TCP_STATE_NAMES } from '../sockets/parse/procNetTcp.js';
import type { SocketSample, SourceName } from '../sockets/model/types.js';
import type { Finding, Severity } from '../hints/findings.js';
import type { NatModel } from '../nat/model/nat.js';

export const METRIC = {
  rangeSize: 'nginx_port_range_size',
  rangeFirst: 'nginx_port_range_first_port',
  rangeLast: 'nginx_port_range_last_port',
  rangeReserved: 'nginx_port_range_reserved_ports',
  rangeListeners: 'nginx_port_range_listening_ports',
  capacity: 'nginx_port_destination_capacity',
  used: 'nginx_port_destination_used',
  headroom: 'nginx_port_destination_headroom',
  headroomRatio: 'nginx_port_destination_headroom_ratio',
  established: 'nginx_port_destination_established',
  timeWait: 'nginx_port_destination_time_wait',
  timeWaitReusable: 'nginx_port_destination_time_wait_reusable',
  destinationSockets: 'nginx_port_destination_sockets',
  connectRate: 'nginx_port_destination_connect_rate',
  maxRate: 'nginx_port_destination_max_sustainable_connect_rate',
  headroomRatioMin: 'nginx_port_headroom_ratio_min',
  destinations: 'nginx_port_destinations',
  sockets: 'nginx_port_sockets',
  twReuse: 'nginx_port_tcp_tw_reuse',
  twReuseDelay: 'nginx_port_tcp_tw_reuse_delay_seconds',
  timestamps: 'nginx_port_tcp_timestamps',
  maxTwBuckets: 'nginx_port_tcp_max_tw_buckets',
  twOverflow: 'nginx_port_time_wait_overflow_total',
  activeOpens: 'nginx_port_tcp_active_opens_total',
  attemptFails: 'nginx_port_tcp_attempt_fails_total',
  connectAttemptsRate: 'nginx_port_connect_attempts_per_second',
  conntrackEntries: 'nginx_port_conntrack_entries',
  conntrackMax: 'nginx_port_conntrack_entries_max',
  sourceUp: 'nginx_port_source_up',
  sampleDuration: 'nginx_port_sample_duration_seconds',
  lastSample: 'nginx_port_last_sample_timestamp_seconds',
  samples: 'nginx_port_samples_total',
  malformed: 'nginx_port_malformed_lines_total',
  buildInfo: 'nginx_port_build_info',
  findingActive: 'nginx_port_finding_active',
  findings: 'nginx_port_findings',
  natInfo: 'nginx_port_nat_info',
  natUsed: 'nginx_port_nat_destination_used',
  natCapacity: 'nginx_port_nat_destination_capacity',
  natHeadroomRatio: 'nginx_port_nat_destination_headroom_ratio',
} as const;

const DEST_LABELS = ['source_ip', 'destination'] as const;
const DEST_STATE_LABELS = ['source_ip', 'destination', 'state'] as const;
const NAT_DEST_LABELS = ['nat', 'destination'] as const;

export interface MetricsOptions {
  maxDestinations: number;
  /** process_* and nodejs_* metrics (memory, event-loop lag). Off in golden-file tests. */
  defaultMetrics: boolean;
  version: string;
  /**
   * Register the NAT metrics (config `nat` non-empty). Without a NAT the daemon
   * exports no nginx_port_nat_* family at all, not even its HELP line.
   */
  nat?: boolean;
}

export type SampleResult = 'ok' | 'error' | 'timeout';

export interface DaemonView {
  sample: SocketSample;
  connectAttemptsPerSecond: number | null;
  /** The NATs' view of the sample (nat/model/); empty or absent without a NAT. */
  nat?: readonly NatModel[];
}

function makeNatGauges(r: Registry[]) {
  const gauge = (name: string, help: string, labelNames: readonly string[]): Gauge => new Gauge({ name, help, labelNames, registers: r });
  return {
    info: gauge(
      METRIC.natInfo,
      'A NAT in front of this host, by name, profile and scope (host: the VM\'s own allocation; fleet: a gateway every routed host shares); always 1.',
      ['nat', 'profile', 'scope'],
    ),
    used: gauge(
      METRIC.natUsed,
      'Mappings this host holds on the NAT towards this destination: open connections plus closed ones the NAT still holds (docs/nat.md).',
      NAT_DEST_LABELS,
    ),
    capacity: gauge(
      METRIC.natCapacity,
      'Mappings the NAT allows towards this destination: the VM\'s allocation (host scope), or the gateway\'s limit that every host shares (fleet scope).',
      NAT_DEST_LABELS,
    ),
    headroomRatio: gauge(
      METRIC.natHeadroomRatio,
      'Share of the VM\'s NAT allocation towards this destination still free (host-scope NATs only: a shared gateway is judged across hosts).',
      NAT_DEST_LABELS,
    ),
  };
}

function makeGauges(r: Registry[]) {
  const gauge = (name: string, help: string, labelNames: readonly string[] = []): Gauge =>
    new Gauge({ name, help, labelNames, registers: r });
  return {
    rangeSize: gauge(METRIC.rangeSize, 'Ephemeral ports connect() may use for any one destination: ip_local_port_range minus reserved ports minus listening ports inside it.'),
    rangeFirst: gauge(METRIC.rangeFirst, 'First port of net.ipv4.ip_local_port_range.'),
    rangeLast: gauge(METRIC.rangeLast, 'Last port of net.ipv4.ip_local_port_range.'),
    rangeReserved: gauge(METRIC.rangeReserved, 'Ports of net.ipv4.ip_local_reserved_ports inside the ephemeral range.'),
    rangeListeners: gauge(METRIC.rangeListeners, 'Listening ports inside the ephemeral range (lost to connect() for every destination).'),
    capacity: gauge(METRIC.capacity, 'Ports connect() may use towards this destination.', DEST_LABELS),
    used: gauge(METRIC.used, 'Ports towards this destination that connect() cannot use now: open sockets plus TIME_WAIT sockets the kernel will not reuse yet.', DEST_LABELS),
    headroom: gauge(METRIC.headroom, 'Further connect() calls the kernel accepts towards this destination right now.', DEST_LABELS),
    headroomRatio: gauge(METRIC.headroomRatio, 'Headroom divided by capacity for this destination.', DEST_LABELS),
    established: gauge(METRIC.established, 'ESTABLISHED sockets towards this destination from the ephemeral range.', DEST_LABELS),
    timeWait: gauge(METRIC.timeWait, 'TIME_WAIT sockets towards this destination from the ephemeral range.', DEST_LABELS),
    timeWaitReusable: gauge(METRIC.timeWaitReusable, 'TIME_WAIT sockets towards this destination that connect() may take over now (tcp_tw_reuse).', DEST_LABELS),
    destinationSockets: gauge(
      METRIC.destinationSockets,
      'Sockets towards this destination from the ephemeral range, by kernel state; a state with none has no series.',
      DEST_STATE_LABELS,
    ),
    connectRate: gauge(
      METRIC.connectRate,
      'New connections per second towards this destination, from the ages of its TIME_WAIT sockets, or from Tcp ActiveOpens where TIME_WAIT reuse or overflow hides them (docs/headroom.md).',
      DEST_LABELS,
    ),
    maxRate: gauge(METRIC.maxRate, 'Highest connect rate per second this destination sustains: capacity divided by 60 s, or by tcp_tw_reuse_delay when TIME_WAIT reuse applies.', DEST_LABELS),
    headroomRatioMin: gauge(METRIC.headroomRatioMin, 'Smallest headroom ratio over all destinations; 1 when there are none.'),
    destinations: gauge(METRIC.destinations, 'Destinations with sockets from the ephemeral range (per-destination series are limited to the worst maxDestinations).'),
    sockets: gauge(METRIC.sockets, 'TCP sockets in this network namespace by state, from /proc/net/tcp and tcp6.', ['state']),
    twReuse: gauge(METRIC.twReuse, 'net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only.'),
    twReuseDelay: gauge(METRIC.twReuseDelay, 'Age after which a TIME_WAIT socket may be reused (net.ipv4.tcp_tw_reuse_delay), in seconds.'),
    timestamps: gauge(METRIC.timestamps, 'net.ipv4.tcp_timestamps: 0 off, 1 or 2 on.'),
    maxTwBuckets: gauge(METRIC.maxTwBuckets, 'net.ipv4.tcp_max_tw_buckets: the most TIME_WAIT sockets the kernel keeps.'),
    connectAttemptsRate: gauge(METRIC.connectAttemptsRate, 'Outgoing connection attempts per second host-wide, from successive Tcp ActiveOpens readings.'),
    conntrackEntries: gauge(METRIC.conntrackEntries, 'Entries in the conntrack table (nf_conntrack_count), when nf_conntrack is loaded.'),
    conntrackMax: gauge(METRIC.conntrackMax, 'Size of the conntrack table (nf_conntrack_max), when nf_conntrack is loaded.'),
    sampleDuration: gauge(METRIC.sampleDuration, 'Time the last socket sample took, in seconds.'),
    lastSample: gauge(METRIC.lastSample, 'Unix time of the last successful socket sample, in seconds.'),
    };
}

export class AgentMetrics {
  readonly registry: Registry;
  private readonly gauges: ReturnType<typeof makeGauges>;
  private readonly twOverflow: Counter;
  private readonly activeOpens: Counter;
  private readonly attemptFails: Counter;
  private readonly samples: Counter<'result'>;
  private readonly malformed: Counter<'source'>;
  /** Socket sources as of the last sample (unavailable ones absent). */
  private readonly socketSources = new Map<string, 0 | 1>();
  /** Other sources (error logs) report through this callback at scrape time. */
  private extraSources: () => readonly { source: string; up: boolean }[] = () => [];

  constructor(
    registry: Registry,
    private readonly opts: MetricsOptions,
  ) {
    this.registry = registry;
    const r = [registry];
    this.gauges = makeGauges(r);
    this.natGauges = opts.nat === true ? makeNatGauges(r) : null;
    const sourceUp: Gauge<'source'> = new Gauge({
      name: METRIC.sourceUp,
      help: 'Whether the last read of this source succeeded (1) or failed (0); absent for optional sources this kernel does not have.',
      labelNames: ['source'],
      registers: r,
      collect: () => {
        sourceUp.reset();
        for (const [source, up] of this.socketSources) sourceUp.set({ source }, up);
        try {
          for (const x of this.extraSources()) sourceUp.set({ source: x.source }, x.up ? 1 : 0);
        } catch {
          // A failing reporter leaves its sources out rather than failing the scrape.
        }
      },
    });
    this.twOverflow = new Counter({ name: METRIC.twOverflow, help: 'TIME_WAIT sockets destroyed early because tcp_max_tw_buckets was reached (TcpExt TCPTimeWaitOverflow).', registers: r });
    this.activeOpens = new Counter({ name: METRIC.activeOpens, help: 'Outgoing TCP connection attempts since boot (Tcp ActiveOpens).', registers: r });
    this.attemptFails = new Counter({ name: METRIC.attemptFails, help: 'Failed TCP connection attempts since boot (Tcp AttemptFails).', registers: r });
    this.samples = new Counter({ name: METRIC.samples, help: 'Socket samples taken, by result.', labelNames: ['result'], registers: r });
    for (const result of ['ok', 'error', 'timeout'] as const) this.samples.inc({ result }, 0);
    this.malformed = new Counter({
      name: METRIC.malformed,
      help: 'Lines of /proc/net/tcp or tcp6 skipped because they did not parse.',
      labelNames: ['source'],
      registers: r,
    });
    for (const source of ['tcp', 'tcp6'] as const) this.malformed.inc({ source }, 0);
    new Gauge({
      name: METRIC.buildInfo,
      help: 'Agent version and Node.js runtime; always 1.',
      labelNames: ['version', 'nodejs'],
      registers: r,
    }).set({ version: opts.version, nodejs: process.versions.node }, 1);
    this.findingActive = new Gauge({
      name: METRIC.findingActive,
      help: 'Findings of the hint engine that hold now, by id (docs/hints.md) and severity; always 1, absent when the finding does not hold.',
      labelNames: ['id', 'severity'],
      registers: r,
    });
    this.findingCount = new Gauge({
      name: METRIC.findings,
      help: 'Number of findings that hold now, by severity.',
      labelNames: ['severity'],
      registers: r,
    });
    for (const severity of ['critical', 'warning', 'info'] as const) this.findingCount.set({ severity }, 0);
    if (opts.defaultMetrics) {
      collectDefaultMetrics({ register: registry });
      // prom-client exports these gauges with a _total suffix, which promtool
      // rejects ("non-counter metrics should not have _total suffix").
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        registry.removeSingleMetric(name);
      }
    }
  }

  private readonly natGauges: ReturnType<typeof makeNatGauges> | null;
  private readonly findingActive: Gauge<'id' | 'severity'>;
  private readonly findingCount: Gauge<'severity'>;

  /** Publishes the findings of the last sample: one series per active finding id. */
  setFindings(findings: readonly Finding[]): void {
    this.findingActive.reset();
    const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
    for (const f of findings) {
      this.findingActive.set({ id: f.id, severity: f.severity }, 1);
      counts[f.severity]++;
    }
    for (const severity of ['critical', 'warning', 'info'] as const) this.findingCount.set({ severity }, counts[severity]);
  }

  /** Bumped by every sample result, so cached /metrics bodies know they are stale. */
  generation = 0;

  /** Adds sources that are not part of the socket sample (one per error log). */
  reportSources(fn: () => readonly { source: string; up: boolean }[]): void {
    this.extraSources = fn;
  }

  /** Counts a sample that did not complete; the previous values stay, the sources go down. */
  sampleFailed(result: Exclude<SampleResult, 'ok'>, sources: readonly SourceName[]): void {
    this.generation++;
    this.samples.inc({ result });
    // Sources the last sample found absent (conntrack not loaded, IPv6 off) stay absent:
    // a failed sample says nothing new about them, and a 0 would read as "broken".
    const known = this.socketSources.size > 0;
    for (const source of sources) if (!known || this.socketSources.has(source)) this.socketSources.set(source, 0);
  }

  update(view: DaemonView): void {
    this.generation++;
    const { sample } = view;
    const gauges = this.gauges;
    this.samples.inc({ result: 'ok' });
    this.socketSources.clear();
    for (const s of sample.sources) {
      if (s.state !== 'unavailable') this.socketSources.set(s.source, s.state === 'ok' ? 1 : 0);
    }
    if (sample.malformedLines.tcp > 0) this.malformed.inc({ source: 'tcp' }, sample.malformedLines.tcp);
    if (sample.malformedLines.tcp6 > 0) this.malformed.inc({ source: 'tcp6' }, sample.malformedLines.tcp6);
    gauges.sampleDuration.set(sample.durationMs / 1000);

    const s = sample.sysctls;
    setOrRemove(gauges.twReuse, s.tcpTwReuse);
    setOrRemove(gauges.twReuseDelay, sample.settings === null ? null : sample.settings.tcpTwReuseDelayMs / 1000);
    setOrRemove(gauges.timestamps, s.tcpTimestamps);
    setOrRemove(gauges.maxTwBuckets, s.tcpMaxTwBuckets);
    const c = sample.counters;
    setOrRemove(gauges.conntrackEntries, c.conntrackCount);
    setOrRemove(gauges.conntrackMax, c.conntrackMax);
    setOrRemove(gauges.connectAttemptsRate, view.connectAttemptsPerSecond);
    mirror(this.twOverflow, c.timeWaitOverflow);
    mirror(this.activeOpens, c.activeOpens);
    mirror(this.attemptFails, c.attemptFails);

    const h = sample.headroom;
    if (h === null) return; // keep the last good headroom; nginx_port_source_up says why it is stale
    gauges.lastSample.set(sample.takenAtMs / 1000);
    gauges.rangeSize.set(h.portRange.usable);
    gauges.rangeFirst.set(h.portRange.low);
    gauges.rangeLast.set(h.portRange.high);
    gauges.rangeReserved.set(h.portRange.reserved);
    gauges.rangeListeners.set(h.portRange.listenersInRange);
    gauges.headroomRatioMin.set(h.headroomRatioMin);
    gauges.destinations.set(h.destinations.length);
    for (const state of TCP_STATE_NAMES) gauges.sockets.set({ state }, h.socketsByState[state]);

    const perDest = [
      gauges.capacity,
      gauges.used,
      gauges.headroom,
      gauges.headroomRatio,
      gauges.established,
      gauges.timeWait,
      gauges.timeWaitReusable,
      gauges.destinationSockets,
      gauges.connectRate,
      gauges.maxRate,
    ];
    for (const m of perDest) m.reset();
    for (const d of h.destinations.slice(0, this.opts.maxDestinations)) {
      const labels = { source_ip: d.sourceIp, destination: d.destination };
      gauges.capacity.set(labels, d.capacity);
      gauges.used.set(labels, d.used);
      gauges.headroom.set(labels, d.headroom);
      gauges.headroomRatio.set(labels, d.headroomRatio);
      gauges.established.set(labels, d.established);
      gauges.timeWait.set(labels, d.timeWait);
      gauges.timeWaitReusable.set(labels, d.timeWaitReusable);
      // `state` is a closed set: the names of include/net/tcp_states.h (TCP_STATE_NAMES).
      for (const [state, count] of Object.entries(d.states)) gauges.destinationSockets.set({ ...labels, state }, count);
      gauges.connectRate.set(labels, d.connectRatePerSecond);
      gauges.maxRate.set(labels, d.maxSustainableConnectRate);
    }
    this.updateNat(view.nat ?? []);
  }

  /** Per NAT, the maxDestinations destinations with the largest share of its limit. */
  private updateNat(nats: readonly NatModel[]): void {
    const g = this.natGauges;
    if (g === null) return;
    for (const m of [g.info, g.used, g.capacity, g.headroomRatio]) m.reset();
    for (const n of nats) {
      g.info.set({ nat: n.name, profile: n.profile, scope: n.scope }, 1);
      for (const d of n.destinations.slice(0, this.opts.maxDestinations)) {
        const labels = { nat: n.name, destination: d.destination };
        g.used.set(labels, d.used);
        g.capacity.set(labels, d.capacity);
        if (d.headroomRatio !== null) g.headroomRatio.set(labels, d.headroomRatio);
      }
    }
  }
}

function setOrRemove(gauge: Gauge, value: number | null): void {
  if (value === null) gauge.reset();
  else gauge.set(value);
}

/**
 * A kernel counter mirrored as a Prometheus counter: it only ever holds the
 * kernel's value. An unreadable value leaves the last one in place rather than
 * dropping to 0, which rate() would read as a counter reset.
 */
function mirror(c: Counter, v: number | null): void {
  if (v === null) return;
  c.reset();
  c.inc(v);
}
