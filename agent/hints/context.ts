/**
 * What every rule reads, worked out once per evaluation: destinations by level,
 * why nginx's config is unknown (if it is), and, with a config, the troubled
 * destinations grouped by the upstream group or proxy_pass that reaches them,
 * with each group's pool assessed. Pure.
 */
import { RECENT_RATE_WINDOW_MS, recentRateSince, type DestinationHeadroom } from '../sockets/model/headroom.js';
import type { NginxConfigModel, ProxyPass, UpstreamGroup } from '../nginxconf/model/types.js';
import type { NginxEvidence } from '../nginxconf/model/evidence.js';
import { TIME_WAIT_SECONDS } from '../core/tcp.js';
import { HELD_STATES, holdings, levelsOf, otherStatesText, timeWaitDominated, type HeldState, type Holding } from './destinations.js';
import { genericHeadroomFix } from './genericFix.js';
import { natGroups, type NatGroup } from './natContext.js';
import { locationsOf, missingPoolLines, poolOf, sustainable, workersOf, type MissingPoolLines, type Pool, type Workers } from './nginxPool.js';
import { destinationLevel, destinationName, rateText, type DestinationLevel, type FindingInput, type Severity } from './types.js';

/** A destination a config-aware rule looks at, with how bad it is. */
export interface DestinationContext {
  destination: DestinationHeadroom;
  level: DestinationLevel;
  severity: Severity;
}

/** A destination whose ports a state holds (destinations.ts, holdings()). */
export interface HeldContext extends DestinationContext {
  holding: Holding;
}

/** Destinations a state holds, as one finding reports them: those of one upstream group, those reached by a bare proxy_pass, or the rest. */
export interface HeldGroup {
  /** The upstream group, or null for destinations reached directly or not found in nginx's config. */
  name: string | null;
  kind: 'group' | 'direct' | 'unmapped';
  destinations: HeldContext[];
}

/** Which of the pool findings an upstream group with TIME_WAIT-bound destinations gets. */
export type PoolVerdict = 'upstream_no_keepalive' | 'keepalive_needs_http11' | 'time_wait_draining' | 'keepalive_pool_churn';

export interface GroupAssessment {
  name: string;
  group: UpstreamGroup;
  destinations: DestinationContext[];
  pool: Pool;
  /** Every http location proxying to the group, with what it lacks for the pool to be reused. */
  locations: { pass: ProxyPass; missing: MissingPoolLines }[];
  verdict: PoolVerdict;
  /** When the config changed, if under a TIME_WAIT lifetime ago, with the rate since; null when longer ago or unknown. */
  sinceChange: SinceChange | null;
}

export interface NginxRuleContext {
  evidence: NginxEvidence;
  config: NginxConfigModel;
  workers: Workers;
  versionText: string;
  /** TIME_WAIT-bound destinations by http upstream group, in the order they were met, with the group's pool assessed. */
  churningGroups: GroupAssessment[];
  /** TIME_WAIT-bound destinations by proxy_pass that names them directly (no pool possible). */
  churningDirect: Map<ProxyPass, DestinationContext[]>;
  /** For each state, the destinations it holds by upstream group (any module), and those reached only directly. */
  heldByGroup: Map<HeldState, Map<string, HeldContext[]>>;
  heldDirect: Map<HeldState, HeldContext[]>;
}

export interface RuleContext {
  input: FindingInput;
  byLevel: Record<DestinationLevel, DestinationHeadroom[]>;
  /** Destinations at or below the warning threshold, worst first. */
  troubled: DestinationHeadroom[];
  /** Why nginx's config cannot be used, or null when it can. */
  configNote: string | null;
  /** The template fix for destinations short of ports (labelled a template when the config is unknown). */
  headroomFix(ds: readonly DestinationHeadroom[]): string;
  /** Destinations at or below the warning threshold, by the states that hold their ports (holdings()), worst first. */
  held: Record<HeldState, HeldContext[]>;
  /** The config-aware view, or null without a usable config. */
  nginx: NginxRuleContext | null;
  /** Per configured NAT, the destinations whose NAT mappings matter (natContext.ts); [] without a NAT. */
  nat: NatGroup[];
}

export function buildRuleContext(input: FindingInput): RuleContext {
  const byLevel = levelsOf(input);
  const configNote = input.nginx === undefined ? 'nginx config not read' : input.nginx.config === null ? (input.nginx.configNote ?? 'nginx config not read') : null;
  const troubled = [...byLevel.exhausted, ...byLevel.critical, ...byLevel.warning];
  return {
    input,
    byLevel,
    troubled,
    configNote,
    headroomFix: (ds) => genericHeadroomFix(ds, input.settings, configNote),
    held: heldByState(troubled, input),
    nginx: input.nginx?.config != null ? nginxContext(input, input.nginx, input.nginx.config) : null,
    nat: natGroups(input),
  };
}

function severityFor(level: DestinationLevel, rateShare: number): Severity | null {
  if (level === 'exhausted' || level === 'critical') return 'critical';
  if (level === 'warning' || rateShare >= 0.5) return 'warning';
  return null;
}

/** One step down: a state that holds a share of the ports but not the most gets a milder finding than the one that does. */
const milder = (s: Severity): Severity => (s === 'critical' ? 'warning' : 'info');

/** The held contexts of one destination, one per state that holds its ports; none for a healthy destination. */
function heldContexts(d: DestinationHeadroom, input: FindingInput): HeldContext[] {
  const level = destinationLevel(d, input.thresholds);
  const severity = severityFor(level, 0);
  if (level === 'ok' || severity === null) return [];
  return holdings(d).map((holding) => ({ destination: d, level, severity: holding.dominant ? severity : milder(severity), holding }));
}

function heldByState(troubled: readonly DestinationHeadroom[], input: FindingInput): Record<HeldState, HeldContext[]> {
  const out = Object.fromEntries(HELD_STATES.map((s) => [s, [] as HeldContext[]])) as Record<HeldState, HeldContext[]>;
  for (const d of troubled) for (const c of heldContexts(d, input)) out[c.holding.state].push(c);
  return out;
}

/**
 * The destinations a state holds, as its finding reports them: by upstream group
 * when nginx's config maps them to one, then those reached by a bare proxy_pass,
 * then the rest (without a config, everything).
 */
export function heldGroups(context: RuleContext, state: HeldState): HeldGroup[] {
  const all = context.held[state];
  if (all.length === 0) return [];
  const nginx = context.nginx;
  if (nginx === null) return [{ name: null, kind: 'unmapped', destinations: all }];
  const out: HeldGroup[] = [...(nginx.heldByGroup.get(state) ?? new Map<string, HeldContext[]>())].map(([name, destinations]) => ({ name, kind: 'group', destinations }));
  const direct = nginx.heldDirect.get(state) ?? [];
  if (direct.length > 0) out.push({ name: null, kind: 'direct', destinations: direct });
  const mapped = new Set(out.flatMap((g) => g.destinations.map((c) => c.destination)));
  const rest = all.filter((c) => !mapped.has(c.destination));
  if (rest.length > 0) out.push({ name: null, kind: 'unmapped', destinations: rest });
  return out;
}

const append = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  map.set(key, [...(map.get(key) ?? []), value]);
};

/**
 * Only destinations that matter are considered: at or below the warning
 * threshold, or opening connections at half the sustainable rate or more. A
 * healthy destination gets no config-aware finding, whatever its config.
 */
function nginxContext(input: FindingInput, evidence: NginxEvidence, config: NginxConfigModel): NginxRuleContext {
  const churnByGroup = new Map<string, DestinationContext[]>();
  const churningDirect = new Map<ProxyPass, DestinationContext[]>();
  const heldByGroup = new Map<HeldState, Map<string, HeldContext[]>>();
  const heldDirect = new Map<HeldState, HeldContext[]>();
  for (const d of input.headroom.destinations) {
    const level = destinationLevel(d, input.thresholds);
    const rateShare = d.maxSustainableConnectRate > 0 ? d.connectRatePerSecond / d.maxSustainableConnectRate : 0;
    const severity = severityFor(level, rateShare);
    if (severity === null) continue;
    const route = evidence.routes.get(d.destination);
    if (route === undefined) continue;
    // stream {} proxying pools nothing and has no HTTP settings: only http groups and locations are judged here.
    const httpGroups = route.upstreams.filter((name) => (config.upstreams.find((u) => u.name === name)?.module ?? 'http') === 'http');
    const httpDirect = route.direct.filter((p) => (p.module ?? 'http') === 'http');
    const context = { destination: d, level, severity };
    if (timeWaitDominated(d)) {
      for (const name of httpGroups) append(churnByGroup, name, context);
      for (const pass of httpDirect) append(churningDirect, pass, context);
    }
    // Whatever else holds a share of its ports gets a finding of its own, TIME_WAIT-bound or not.
    for (const held of heldContexts(d, input)) {
      const state = held.holding.state;
      if (!heldByGroup.has(state)) heldByGroup.set(state, new Map());
      for (const name of route.upstreams) append(heldByGroup.get(state)!, name, held);
      if (route.upstreams.length === 0 && route.direct.length > 0) append(heldDirect, state, held);
    }
  }
  const churningGroups: GroupAssessment[] = [];
  for (const [name, destinations] of churnByGroup) {
    const group = config.upstreams.find((u) => u.name === name);
    if (group !== undefined) churningGroups.push(assessGroup(evidence, config, name, group, destinations));
  }
  return {
    evidence,
    config,
    workers: workersOf(config, input.host.cpuCount),
    versionText: evidence.version === null ? 'nginx version unknown (give --nginx-version or --nginx-bin)' : `nginx ${evidence.version}`,
    churningGroups,
    churningDirect,
    heldByGroup,
    heldDirect,
  };
}

/**
 * Which pool finding a group gets: no pool at all; a pool some location cannot
 * reuse; a working pool whose TIME_WAIT is left over from before (draining); or a
 * working pool that still churns.
 */
function assessGroup(evidence: NginxEvidence, config: NginxConfigModel, name: string, group: UpstreamGroup, destinations: DestinationContext[]): GroupAssessment {
  const pool = poolOf(group, evidence.version);
  const locations = locationsOf(config, name).map((pass) => ({ pass, missing: missingPoolLines(pass, evidence.version, config.maps) }));
  // If connections are no longer opened at a rate that matters (over the last 10 s: the rate window
  // may span the time before a fix), the TIME_WAIT sockets are left over from before (a fix just
  // applied, a reload that emptied the pools): they drain within 60 s and there is nothing to change.
  // At 0 free ports nothing new can connect, so a quiet last few seconds proves nothing there by
  // itself: a range blocked by churn looks the same until ports free. A config changed less than a
  // TIME_WAIT lifetime ago tells them apart.
  // Within 10 s of the change, only the TIME_WAIT younger than it is the new config's: counting the
  // rest would blame a pool just added for the churn of the config before it (recentRateSince).
  const changedS = evidence.configChangedSecondsAgo ?? null;
  const justChanged = changedS !== null && changedS < TIME_WAIT_SECONDS;
  const sinceMs = justChanged ? changedS * 1000 : Infinity;
  const recent = destinations.map((c) => recentRateSince(c.destination, sinceMs));
  const draining = destinations.every((c, i) => {
    const r = recent[i];
    // null: the config took effect under a second ago, too soon for its own rate.
    return (c.destination.headroom > 0 || justChanged) && (r == null || r.perSecond < 0.5 * c.destination.maxSustainableConnectRate);
  });
  const verdict: PoolVerdict =
    pool.size === null
      ? 'upstream_no_keepalive'
      : locations.some(({ missing }) => missing.lines.length > 0 || missing.mapFixes.length > 0)
        ? 'keepalive_needs_http11'
        : draining
          ? 'time_wait_draining'
          : 'keepalive_pool_churn';
  const sinceChange: SinceChange | null = justChanged
    ? {
        seconds: changedS,
        from: evidence.configChangedFrom ?? 'files',
        // The churn finding quotes the new config's own rate when its 10 s are not up yet.
        rate: sinceMs < RECENT_RATE_WINDOW_MS ? sumRates(destinations, recent) : null,
      }
    : null;
  return { name, group, destinations, pool, locations, verdict, sinceChange };
}

/** The config's recent change, as the pool findings quote it. */
export interface SinceChange {
  seconds: number;
  from: 'workers' | 'files';
  /**
   * New connections/s over the group's destinations since the change, when it is
   * under the recent window old (older: the destinations' own rates hold); null
   * under a second (too soon to tell).
   */
  rate: { perSecond: number; lowerBound: boolean; spanSeconds: number } | null;
}

function sumRates(destinations: readonly DestinationContext[], recent: readonly ({ perSecond: number; spanSeconds: number } | null)[]): SinceChange['rate'] {
  if (recent.some((r) => r === null)) return null;
  return {
    perSecond: recent.reduce((sum, r) => sum + r!.perSecond, 0),
    lowerBound: destinations.some((c) => c.destination.connectRate.lowerBound),
    spanSeconds: Math.min(...recent.map((r) => r!.spanSeconds)),
  };
}

/** The worst severity among these destinations. */
export const worstSeverity = (contexts: readonly DestinationContext[]): Severity => (contexts.some((c) => c.severity === 'critical') ? 'critical' : 'warning');

/** One evidence line per destination (at most five): what holds its ports and how fast it churns. */
export function churnEvidence(contexts: readonly DestinationContext[]): string[] {
  return contexts.slice(0, 5).map(({ destination: d }) => {
    const others = otherStatesText(d);
    return (
      `${destinationName(d)}: ${d.timeWait - d.timeWaitReusable} TIME_WAIT blocking, ${d.established} established${others !== '' ? `, ${others}` : ''}, ` +
      `${d.headroom}/${d.capacity} ports free; ${rateText(d.connectRate)} new connections/s (sustainable ${sustainable(d.capacity)}): ${d.connectRate.why}`
    );
  });
}

/** New connections per second over these destinations, and whether that is only a lower bound (any of them is). */
export function connectRateOf(contexts: readonly DestinationContext[]): { perSecond: number; lowerBound: boolean } {
  return {
    perSecond: contexts.reduce((sum, c) => sum + c.destination.connectRate.perSecond, 0),
    lowerBound: contexts.some((c) => c.destination.connectRate.lowerBound),
  };
}
/** Connections open now over these destinations. */
export const openConnectionsOf = (contexts: readonly DestinationContext[]): number => contexts.reduce((sum, c) => sum + c.destination.established, 0);
