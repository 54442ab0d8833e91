/**
 * The one catalogue of findings: every id the hint engine can emit, with its
 * category (which decides the order of a report: causes before symptoms), its
 * severity policy and the section of docs/hints.md that explains it. A test
 * keeps this table, the rules in rules/ and docs/hints.md in step.
 */

/** Where a finding sits in the causal chain; reports list them in this order within a severity. */
export type FindingCategory =
  /** A cause in nginx's configuration (the fix is a change to nginx.conf), or a different exhaustion nginx reported. */
  | 'nginx_cause'
  /** A cause in the kernel's settings: the fix is a sysctl. */
  | 'kernel_cause'
  /** The NAT in front of the host (config `nat`) limits a destination: the fix is the provider's setting, or fewer mappings. */
  | 'nat_limit'
  /** nginx itself confirms the exhaustion in its error log. */
  | 'confirmation'
  /** How close each destination is, and what nginx saw. */
  | 'symptom';

export const CATEGORY_ORDER: Readonly<Record<FindingCategory, number>> = { nginx_cause: 0, kernel_cause: 1, nat_limit: 2, confirmation: 3, symptom: 4 };

/** What the kernel or nginx reports as it happens (confirmation, symptom), as opposed to a cause or a limit found. */
export const isObserved = (category: FindingCategory): boolean => category === 'confirmation' || category === 'symptom';

export interface CatalogueEntry {
  category: FindingCategory;
  /** Names, from nginx's config, why a destination is short of ports: a symptom of the same destination points at it. */
  destinationCause: boolean;
  /** How the severity is chosen. */
  severity: string;
  /** The heading of docs/hints.md that documents the id. */
  doc: string;
}

const BY_HEADROOM = 'critical when a destination it names is exhausted or below the critical ratio, warning otherwise';
const BY_NAT_HEADROOM = "critical when the NAT's headroom towards a destination it names is 0 or below the critical ratio, warning below the warning ratio";
const BY_HOLDING = `${BY_HEADROOM}; one step milder (warning, info) when another state holds more of the destination's ports`;

export const FINDINGS = {
  upstream_no_keepalive: { category: 'nginx_cause', destinationCause: true, severity: BY_HEADROOM, doc: 'upstream_no_keepalive' },
  proxy_pass_no_pool: { category: 'nginx_cause', destinationCause: true, severity: BY_HEADROOM, doc: 'proxy_pass_no_pool' },
  keepalive_needs_http11: { category: 'nginx_cause', destinationCause: true, severity: BY_HEADROOM, doc: 'keepalive_needs_http11' },
  keepalive_pool_churn: { category: 'nginx_cause', destinationCause: true, severity: BY_HEADROOM, doc: 'keepalive_pool_churn' },
  established_exhaustion: { category: 'nginx_cause', destinationCause: true, severity: BY_HOLDING, doc: 'established_exhaustion' },
  syn_sent_exhaustion: { category: 'nginx_cause', destinationCause: true, severity: BY_HOLDING, doc: 'syn_sent_exhaustion' },
  fin_wait1_exhaustion: { category: 'nginx_cause', destinationCause: true, severity: BY_HOLDING, doc: 'fin_wait1_exhaustion' },
  fin_wait2_exhaustion: { category: 'nginx_cause', destinationCause: true, severity: BY_HOLDING, doc: 'fin_wait2_exhaustion' },
  close_wait_exhaustion: { category: 'nginx_cause', destinationCause: true, severity: BY_HOLDING, doc: 'close_wait_exhaustion' },
  time_wait_draining: { category: 'nginx_cause', destinationCause: true, severity: 'info: nothing to change', doc: 'time_wait_draining' },
  single_destination_ip: { category: 'kernel_cause', destinationCause: false, severity: 'info', doc: 'single_destination_ip' },
  port_range_narrow: { category: 'kernel_cause', destinationCause: false, severity: 'warning', doc: 'port_range_narrow' },
  time_wait_reuse_off: { category: 'kernel_cause', destinationCause: false, severity: 'warning', doc: 'time_wait_reuse_off' },
  timestamps_off: { category: 'kernel_cause', destinationCause: false, severity: 'warning while a destination is short of ports, info otherwise', doc: 'timestamps_off' },
  listener_in_range: { category: 'kernel_cause', destinationCause: false, severity: 'info', doc: 'listener_in_range' },
  port_range_odd: { category: 'kernel_cause', destinationCause: false, severity: 'info', doc: 'port_range_odd' },
  time_wait_overflow: { category: 'kernel_cause', destinationCause: false, severity: 'warning at the cap, info when it was reached earlier', doc: 'time_wait_overflow' },
  conntrack_near_full: { category: 'kernel_cause', destinationCause: false, severity: 'critical from 95 % full, warning from 80 %', doc: 'conntrack_near_full' },
  fd_limit: { category: 'nginx_cause', destinationCause: false, severity: 'warning', doc: 'fd_limit' },
  worker_connections_exhausted: { category: 'nginx_cause', destinationCause: false, severity: 'warning', doc: 'worker_connections_exhausted' },
  proxy_bind_unavailable: { category: 'nginx_cause', destinationCause: false, severity: 'warning', doc: 'proxy_bind_unavailable' },
  resolver_failures: {
    category: 'nginx_cause',
    destinationCause: false,
    severity: 'warning when they are at least as many as the failed upstream connects, info otherwise',
    doc: 'resolver_failures',
  },
  exhaustion_confirmed: { category: 'confirmation', destinationCause: false, severity: 'critical', doc: 'exhaustion_confirmed' },
  headroom_exhausted: { category: 'symptom', destinationCause: false, severity: 'critical', doc: 'headroom_exhausted, headroom_critical, headroom_low' },
  headroom_critical: { category: 'symptom', destinationCause: false, severity: 'critical', doc: 'headroom_exhausted, headroom_critical, headroom_low' },
  headroom_low: { category: 'symptom', destinationCause: false, severity: 'warning', doc: 'headroom_exhausted, headroom_critical, headroom_low' },
  connect_rate_near_limit: { category: 'symptom', destinationCause: false, severity: 'warning', doc: 'connect_rate_near_limit' },
  exhaustion_recent: { category: 'symptom', destinationCause: false, severity: 'warning', doc: 'exhaustion_recent' },
  upstream_no_live_servers: { category: 'symptom', destinationCause: false, severity: 'warning', doc: 'upstream_no_live_servers' },
  nat_ports_short: { category: 'nat_limit', destinationCause: false, severity: `${BY_NAT_HEADROOM} (host-scope NATs only)`, doc: 'nat_ports_short' },
  nat_gateway_share: { category: 'nat_limit', destinationCause: false, severity: 'info; warning when this host alone holds 80 % of a shared gateway\'s limit (never critical: the fleet is Prometheus\'s to judge)', doc: 'nat_gateway_share' },
  nat_held_after_close: { category: 'nat_limit', destinationCause: false, severity: 'as the NAT finding for the same destinations', doc: 'nat_held_after_close' },
  nat_private_endpoint: { category: 'nat_limit', destinationCause: false, severity: 'info', doc: 'nat_private_endpoint' },
  nat_endpoint_independence_conflict: { category: 'nat_limit', destinationCause: false, severity: 'info (an estimate)', doc: 'nat_endpoint_independence_conflict' },
} as const satisfies Record<string, CatalogueEntry>;

export type FindingId = keyof typeof FINDINGS;

/** Every finding id, in the catalogue's order. */
export const FINDING_IDS = Object.keys(FINDINGS) as FindingId[];

export function catalogueEntry(id: FindingId): CatalogueEntry {
  return FINDINGS[id];
}

/** The ids that name a destination's cause in nginx's config. */
export function destinationCauseIds(): FindingId[] {
  return FINDING_IDS.filter((id) => FINDINGS[id].destinationCause);
}

/** The anchor GitHub gives the id's heading in docs/hints.md. */
export function docAnchor(id: FindingId): string {
  return `docs/hints.md#${FINDINGS[id].doc.toLowerCase().replace(/[^a-z0-9_ -]/g, '').replace(/ /g, '-')}`;
}
