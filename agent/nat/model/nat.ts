/**
 * The NAT as a second capacity beside the kernel's: for each configured NAT and
 * each destination (IP and port) it translates, how many of the NAT's mappings
 * this host holds now, of how many it may hold. Pure: the socket model's
 * per-destination rows and the NATs' settings in, numbers out (docs/nat.md).
 *
 * A NAT keeps a mapping for every connection it translates while the connection
 * is open, and after it closes for the NAT's own hold timer (GCP's TCP
 * TIME_WAIT, Azure's port reuse timers), whatever the kernel does. So, per
 * destination, summed over this host's source IPs:
 *
 *   used = open + heldAfterClose
 *   open = sockets in any state but TIME_WAIT (SYN_SENT already has a mapping)
 *   heldAfterClose =
 *     0                                       timer unknown or 0 (a lower bound)
 *     TIME_WAIT sockets younger than T        T < 60 s: counted exactly
 *     every TIME_WAIT socket                  T = 60 s
 *     every TIME_WAIT socket + rate × (T − 60) T > 60 s: the kernel shows the last
 *                                             60 s of closes; the rest of the NAT's
 *                                             timer is extrapolated from the close
 *                                             rate the same TIME_WAIT ages give
 *                                             (sockets/model/rates.ts): an estimate
 *
 * A TIME_WAIT socket is the trace of a connection this host closed first; one the
 * peer closed leaves none here, yet the NAT holds it too, so heldAfterClose is a
 * lower bound where upstreams close first.
 */
import { destinationMatcher } from '../../core/cidr.js';
import { capacityPerDestination, PROFILES, type NatConfig } from '../../core/natProfiles.js';
import { TIME_WAIT_LEN_MS, TIME_WAIT_SECONDS } from '../../core/tcp.js';
import type { DestinationHeadroom, HeadroomModel } from '../../sockets/model/headroom.js';

export interface NatDestination {
  /** `ip:port`, as the socket model writes it. */
  destination: string;
  destinationIp: string;
  destinationPort: number;
  /** This host's source IPs with sockets towards it (their rows are summed here). */
  sourceIps: string[];
  /** Mappings this host holds on the NAT towards the destination: open + heldAfterClose. */
  used: number;
  capacity: number;
  /** capacity − used (host scope); null for a shared gateway, whose headroom depends on every host. */
  headroom: number | null;
  headroomRatio: number | null;
  /** used ÷ capacity: this host's share of the limit (the whole story for host scope). */
  share: number;
  established: number;
  /** Sockets in any state but TIME_WAIT. */
  open: number;
  /** Closed connections the NAT still holds: measured + estimated, rounded. */
  heldAfterClose: number;
  /** TIME_WAIT sockets younger than the NAT's timer (all of them past 60 s). */
  heldAfterCloseMeasured: number;
  /** The part past the kernel's 60 s, from the close rate; 0 when the timer is 60 s or less. */
  heldAfterCloseEstimated: number;
  /** True when heldAfterClose includes an extrapolated part. */
  heldAfterCloseIsEstimate: boolean;
  /** This host's TIME_WAIT sockets towards the destination. */
  timeWait: number;
  /** New connections per second towards it (the sockets model's connect rate, summed over source IPs). */
  closeRatePerSecond: number;
  /** The rate is only a lower bound (a kernel range exhausted, TIME_WAIT hidden by reuse). */
  closeRateLowerBound: boolean;
  /**
   * GCP with endpoint-independent mapping: the estimated share of new connections
   * towards the destination from a source port already mapped to a NAT port in use
   * towards it, which Cloud NAT drops (ENDPOINT_INDEPENDENCE_CONFLICT), if it pins
   * source ports evenly over the VM's NAT ports: used ÷ capacity. null otherwise.
   */
  endpointIndependenceConflictRisk: number | null;
}

/** How heldAfterClose is counted for a NAT. */
export type HeldAfterCloseBasis = 'unknown' | 'none' | 'measured' | 'estimated';

/** One NAT as configured (its destinations renamed `matches`), with what the model adds. */
export interface NatModel extends Omit<NatConfig, 'destinations'> {
  title: string;
  capacityPerDestination: number;
  /** The CIDR blocks (or `public`) whose destinations go through it. */
  matches: string[];
  heldAfterCloseBasis: HeldAfterCloseBasis;
  docsUrl: string;
  /** What the numbers can and cannot show for this NAT, one sentence each. */
  notes: string[];
  /** Every destination it translates with sockets from this host, largest share first. */
  destinations: NatDestination[];
}

/** The TIME_WAIT ages (ms, ascending) the socket model must count per destination for these NATs: their timers under 60 s. */
export function natTimeWaitThresholdsMs(nats: readonly Pick<NatConfig, 'timeWaitSeconds'>[]): number[] {
  const ms = nats.map((n) => n.timeWaitSeconds).filter((s): s is number => s !== null && s > 0 && s * 1000 < TIME_WAIT_LEN_MS).map((s) => s * 1000);
  return [...new Set(ms)].sort((a, b) => a - b);
}

function basisOf(nat: NatConfig): HeldAfterCloseBasis {
  if (nat.timeWaitSeconds === null) return 'unknown';
  if (nat.timeWaitSeconds === 0) return 'none';
  return nat.timeWaitSeconds > TIME_WAIT_SECONDS ? 'estimated' : 'measured';
}

function notesOf(nat: NatConfig, title: string): string[] {
  const t = nat.timeWaitSeconds;
  const notes: string[] = [];
  if (nat.scope === 'fleet') {
    notes.push(`${title} is shared by every host routed through it: these are this host's mappings only; Prometheus sums the hosts (NginxPortNatGatewayHeadroomLow/Critical)`);
  }
  if (t === null) {
    notes.push(`no hold after close is documented for ${title}: used counts open connections only, a lower bound (set timeWaitSeconds if you know it)`);
  } else if (t > TIME_WAIT_SECONDS) {
    notes.push(`the NAT holds closed connections for ${t} s, the kernel's TIME_WAIT shows the last ${TIME_WAIT_SECONDS} s: the other ${t - TIME_WAIT_SECONDS} s are estimated from the close rate (heldAfterCloseEstimated)`);
  }
  if (t !== null && t > 0) notes.push('connections the peer closed first leave no TIME_WAIT here, though the NAT holds them too: heldAfterClose counts those this host closed');
  if (nat.endpointIndependentMapping) {
    notes.push(
      'endpoint-independent mapping: the VM\'s ports still bound each destination, and a new connection from a source port already mapped to a NAT port in use towards the same destination is dropped (ENDPOINT_INDEPENDENCE_CONFLICT); endpointIndependenceConflictRisk estimates that share',
    );
  }
  if (nat.dynamicPortAllocation) {
    notes.push(`dynamic port allocation: ${nat.ports} ports are the VM's for sure; up to ${nat.maxPortsPerVm ?? '?'} are granted on demand, doubling (packets may drop while it grows), while the gateway's NAT IPs have ports free`);
  }
  return notes;
}

interface Sum {
  destination: string;
  destinationIp: string;
  destinationPort: number;
  sourceIps: string[];
  open: number;
  established: number;
  timeWait: number;
  measured: number;
  rate: number;
  rateLowerBound: boolean;
}

/** TIME_WAIT sockets of a row younger than the NAT's timer `t` (seconds). */
function heldOf(d: DestinationHeadroom, t: number | null, thresholdsMs: readonly number[]): number {
  if (t === null || t === 0) return 0;
  if (t * 1000 >= TIME_WAIT_LEN_MS) return d.timeWait;
  const i = thresholdsMs.indexOf(t * 1000);
  // Without the count the sample was not asked for: every TIME_WAIT socket, an upper bound (natTimeWaitThresholdsMs avoids it).
  return i >= 0 && d.timeWaitYoungerThan !== undefined ? (d.timeWaitYoungerThan[i] ?? d.timeWait) : d.timeWait;
}

function sumByDestination(nat: NatConfig, rows: readonly DestinationHeadroom[], thresholdsMs: readonly number[]): Map<string, Sum> {
  const matches = destinationMatcher(nat.destinations);
  const ipMatches = new Map<string, boolean>();
  const out = new Map<string, Sum>();
  for (const d of rows) {
    let m = ipMatches.get(d.destinationIp);
    if (m === undefined) {
      m = matches(d.destinationIp);
      ipMatches.set(d.destinationIp, m);
    }
    if (!m) continue;
    let s = out.get(d.destination);
    if (s === undefined) {
      s = { destination: d.destination, destinationIp: d.destinationIp, destinationPort: d.destinationPort, sourceIps: [], open: 0, established: 0, timeWait: 0, measured: 0, rate: 0, rateLowerBound: false };
      out.set(d.destination, s);
    }
    const total = d.used + d.timeWaitReusable;
    s.sourceIps.push(d.sourceIp);
    s.open += total - d.timeWait;
    s.established += d.established;
    s.timeWait += d.timeWait;
    s.measured += heldOf(d, nat.timeWaitSeconds, thresholdsMs);
    s.rate += d.connectRate.perSecond;
    s.rateLowerBound ||= d.connectRate.lowerBound;
  }
  return out;
}

function natDestination(nat: NatConfig, capacity: number, s: Sum): NatDestination {
  const t = nat.timeWaitSeconds;
  const estimated = t !== null && t > TIME_WAIT_SECONDS ? s.rate * (t - TIME_WAIT_SECONDS) : 0;
  const heldAfterClose = s.measured + Math.round(estimated);
  const used = s.open + heldAfterClose;
  const headroom = Math.max(0, capacity - used);
  const host = nat.scope === 'host';
  return {
    destination: s.destination,
    destinationIp: s.destinationIp,
    destinationPort: s.destinationPort,
    sourceIps: s.sourceIps,
    used,
    capacity,
    headroom: host ? headroom : null,
    headroomRatio: host ? (capacity > 0 ? headroom / capacity : 0) : null,
    share: capacity > 0 ? used / capacity : 1,
    established: s.established,
    open: s.open,
    heldAfterClose,
    heldAfterCloseMeasured: s.measured,
    heldAfterCloseEstimated: estimated,
    heldAfterCloseIsEstimate: estimated > 0,
    timeWait: s.timeWait,
    closeRatePerSecond: s.rate,
    closeRateLowerBound: s.rateLowerBound,
    endpointIndependenceConflictRisk: nat.endpointIndependentMapping ? Math.min(1, capacity > 0 ? used / capacity : 1) : null,
  };
}

/** Largest share first; then most used, then by name, so the output is stable. */
export function compareNatDestinations(a: NatDestination, b: NatDestination): number {
  return b.share - a.share || b.used - a.used || (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0);
}

/**
 * Every NAT's view of this host's sockets. `thresholdsMs` are the ages the
 * sample counted TIME_WAIT under (natTimeWaitThresholdsMs of the same NATs).
 */
export function computeNat(nats: readonly NatConfig[], headroom: HeadroomModel, thresholdsMs: readonly number[]): NatModel[] {
  return nats.map((nat) => {
    const profile = PROFILES[nat.profile];
    const capacity = capacityPerDestination(nat);
    const destinations = [...sumByDestination(nat, headroom.destinations, thresholdsMs).values()].map((s) => natDestination(nat, capacity, s)).sort(compareNatDestinations);
    return {
      name: nat.name,
      profile: nat.profile,
      title: profile.title,
      scope: nat.scope,
      ports: nat.ports,
      ips: nat.ips,
      capacityPerDestination: capacity,
      timeWaitSeconds: nat.timeWaitSeconds,
      idleTimeoutSeconds: nat.idleTimeoutSeconds,
      endpointIndependentMapping: nat.endpointIndependentMapping,
      dynamicPortAllocation: nat.dynamicPortAllocation,
      maxPortsPerVm: nat.maxPortsPerVm,
      backendPoolSize: nat.backendPoolSize,
      matches: nat.destinations,
      heldAfterCloseBasis: basisOf(nat),
      docsUrl: profile.docsUrl,
      notes: notesOf(nat, profile.title),
      destinations,
    };
  });
}
