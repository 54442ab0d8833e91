/**
 * What the NAT rules read, worked out once per evaluation: for each NAT, the
 * destinations that matter, with how bad each is and the kernel's rows behind
 * it. Pure.
 *
 * - Host scope (the VM's own allocation): the NAT's headroom ratio against the
 *   same thresholds as the kernel's (destinationLevel); below the warning ratio a
 *   destination matters, critical below the critical ratio or at 0.
 * - Fleet scope (a gateway every routed host shares): this host's share says
 *   nothing certain about the gateway, so a destination matters from a tenth of
 *   the limit (info), and is a warning only when this host alone holds as much as
 *   the warning threshold leaves (then the gateway is at least that full). Never
 *   critical: Prometheus judges the sum (NginxPortNatGateway*).
 */
import type { NatDestination, NatModel } from '../nat/model/nat.js';
import type { DestinationHeadroom } from '../sockets/model/headroom.js';
import { destinationLevel, destinationName, pct, type DestinationLevel, type FindingInput, type Severity } from './types.js';

/** From this share of a shared gateway's limit, one host's use is worth a finding. */
export const NOTABLE_SHARE = 0.1;

export interface NatDestinationContext {
  nat: NatModel;
  destination: NatDestination;
  /** The kernel's rows behind it, one per source IP. */
  rows: DestinationHeadroom[];
  /** The NAT headroom's level (host scope); null for a shared gateway. */
  level: DestinationLevel | null;
  severity: Severity;
}

export interface NatGroup {
  nat: NatModel;
  /** The destinations that matter, worst first. */
  destinations: NatDestinationContext[];
}

function severityOf(nat: NatModel, d: NatDestination, input: FindingInput): { level: DestinationLevel | null; severity: Severity } | null {
  const t = input.thresholds;
  if (nat.scope === 'host') {
    const level = destinationLevel({ headroom: d.headroom ?? 0, headroomRatio: d.headroomRatio ?? 0 }, t);
    if (level === 'ok') return null;
    return { level, severity: level === 'warning' ? 'warning' : 'critical' };
  }
  if (d.share < NOTABLE_SHARE) return null;
  return { level: null, severity: d.share >= 1 - t.warningHeadroomRatio ? 'warning' : 'info' };
}

export function natGroups(input: FindingInput): NatGroup[] {
  const nats = input.nat ?? [];
  if (nats.length === 0) return [];
  const rowsOf = new Map<string, DestinationHeadroom[]>();
  for (const d of input.headroom.destinations) rowsOf.set(d.destination, [...(rowsOf.get(d.destination) ?? []), d]);
  return nats.map((nat) => ({
    nat,
    destinations: nat.destinations.flatMap((d) => {
      const s = severityOf(nat, d, input);
      return s === null ? [] : [{ nat, destination: d, rows: rowsOf.get(d.destination) ?? [], ...s }];
    }),
  }));
}

/** The worst severity among these destinations. */
export function worstNatSeverity(cs: readonly NatDestinationContext[]): Severity {
  return cs.some((c) => c.severity === 'critical') ? 'critical' : cs.some((c) => c.severity === 'warning') ? 'warning' : 'info';
}

/** The kernel's names of these destinations (`source → destination`), as every finding lists them. */
export const natFindingDestinations = (cs: readonly NatDestinationContext[]): string[] => cs.flatMap((c) => c.rows.map(destinationName));

/** "NAT gcp-cloud-nat (Google Cloud NAT)". */
export const natLabel = (nat: NatModel): string => `NAT ${nat.name} (${nat.title})`;

/** The hold after close as the evidence states it: measured, estimated past 60 s, or unknown. */
export function heldText(nat: NatModel, d: NatDestination): string {
  if (nat.timeWaitSeconds === null) return 'closed connections not counted (no hold after close documented)';
  if (d.heldAfterCloseIsEstimate) {
    return (
      `${d.heldAfterClose} closed in the last ${nat.timeWaitSeconds} s (${d.heldAfterCloseMeasured} TIME_WAIT sockets + about ` +
      `${Math.round(d.heldAfterCloseEstimated)} estimated from ${d.closeRateLowerBound ? 'at least ' : ''}${d.closeRatePerSecond.toFixed(1)} closes/s for the ${nat.timeWaitSeconds - 60} s past the kernel's 60)`
    );
  }
  return `${d.heldAfterClose} closed in the last ${nat.timeWaitSeconds} s (TIME_WAIT sockets younger than the NAT's timer)`;
}

/** One evidence line per destination: the NAT's mappings towards it, what holds them, the limit. */
export function natEvidence(c: NatDestinationContext): string {
  const { nat, destination: d } = c;
  const free = d.headroom === null ? `${pct(d.share)} of the limit` : `${d.headroom} free (${pct(d.headroomRatio ?? 0)})`;
  return (
    `${natLabel(nat)} → ${d.destination}: ${d.used}/${d.capacity} mappings used, ${free}: ${d.open} open (${d.established} established), ` +
    `${heldText(nat, d)}; from ${d.sourceIps.join(', ')}`
  );
}

/** The kernel's rows (one per source IP) by destination `ip:port`. */
export function rowsByDestination(input: FindingInput): Map<string, DestinationHeadroom[]> {
  const out = new Map<string, DestinationHeadroom[]>();
  for (const d of input.headroom.destinations) out.set(d.destination, [...(out.get(d.destination) ?? []), d]);
  return out;
}

/** The limit, as the evidence states it, with the page it comes from. */
export function limitText(nat: NatModel): string {
  const t = nat.title;
  switch (nat.profile) {
    case 'aws-nat-gateway':
      return `${t}: 55 000 simultaneous connections per NAT IP to each destination (IP, port, protocol) by default; this NAT: ${nat.ports} × ${nat.ips} IP${nat.ips === 1 ? '' : 's'} = ${nat.capacityPerDestination} (${nat.docsUrl})`;
    case 'azure-nat-gateway':
      return `${t}: 50 000 concurrent connections per public IP to one destination; this NAT: ${nat.ports} × ${nat.ips} IP${nat.ips === 1 ? '' : 's'} = ${nat.capacityPerDestination} (${nat.docsUrl})`;
    case 'gcp-cloud-nat':
      return nat.dynamicPortAllocation
        ? `${t}, dynamic allocation: ${nat.ports} to ${nat.maxPortsPerVm ?? '?'} ports per VM (at most 64 512 per NAT IP), and a VM's ports bound each destination (IP, port, protocol): ${nat.capacityPerDestination} (${nat.docsUrl})`
        : `${t}, static allocation: ${nat.ports} ports per VM (minPortsPerVm), and a VM's ports bound each destination (IP, port, protocol) (${nat.docsUrl})`;
    case 'azure-lb-outbound':
      return `${t}: ${nat.ports} SNAT ports per instance${nat.backendPoolSize !== null ? ` (default allocation for a pool of ${nat.backendPoolSize})` : ''}, one per connection to the same destination IP and port (${nat.docsUrl})`;
    case 'azure-app-service':
      return `${t}: ${nat.ports} SNAT ports per instance for connections to the same address and port (${nat.docsUrl})`;
    case 'custom':
      return `${t}: ${nat.ports} per destination per NAT IP × ${nat.ips} = ${nat.capacityPerDestination} (as configured)`;
  }
}
