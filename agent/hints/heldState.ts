/**
 * The findings for destinations whose ports a TCP state other than TIME_WAIT
 * holds share one shape: who is short (an upstream group, a bare proxy_pass, or
 * a destination nginx's config does not reach), how many sockets sit in the
 * state and what share of the used ports that is, what the state means, and a
 * fix placed in the locations that proxy there. Each rule (rules/synSent… and
 * the others) gives its state's meaning, mechanism, fix and effect. Pure.
 */
import type { ErrorKind } from '../errorlog/parse/classify.js';
import type { ProxyPass } from '../nginxconf/model/types.js';
import type { FindingId } from './catalogue.js';
import { heldGroups, type HeldContext, type HeldGroup, type RuleContext } from './context.js';
import { otherStatesText, stateLabel, type HeldState } from './destinations.js';
import { locationsOf, passContext, serverLine, where } from './nginxPool.js';
import { destinationName, MAX_LISTED, pct, type Finding, type Severity } from './types.js';

/** One evidence line per destination (at most MAX_LISTED): the state's count and share, what else holds ports, what is free. */
export function heldEvidence(contexts: readonly HeldContext[]): string[] {
  return contexts.slice(0, MAX_LISTED).map(({ destination: d, holding }) => {
    const others = otherStatesText(d);
    return (
      `${destinationName(d)}: ${holding.count} ${stateLabel(holding.state)} (${pct(holding.share)} of ${d.used} used ports); ` +
      `${d.established} established, ${d.timeWait - d.timeWaitReusable} TIME_WAIT blocking${others !== '' ? `, ${others}` : ''}; ${d.headroom}/${d.capacity} ports free`
    );
  });
}

/** What a state's finding knows about one group of destinations, for its fix and effect. */
export interface HeldView {
  context: RuleContext;
  group: HeldGroup;
  /** The worst destination of the group, with its holding. */
  worst: HeldContext;
  /** The http locations proxying to the group (the bare proxy_pass for a direct one); none when unmapped. */
  passes: ProxyPass[];
}

export interface StateFindingSpec {
  id: FindingId;
  state: HeldState;
  /** What the state means, completing "… are in SYN_SENT: …". */
  means: string;
  why: string;
  /** Error-log kinds that corroborate the state, counted per destination when diagnose read the log. */
  errorKinds: readonly ErrorKind[];
  fix(view: HeldView): string;
  effect(view: HeldView): string | null;
  /** Lines the state adds to the evidence (settings it depends on). */
  evidence?(view: HeldView): string[];
}

/** Location-level lines, placed in each location that proxies to the group, or as a template where none is known. */
export function inLocations(view: HeldView, lines: readonly string[]): string[] {
  if (view.passes.length > 0) return view.passes.slice(0, 3).flatMap((p) => passContext(p, lines));
  return [`# in the location that proxies to ${view.worst.destination.destination}${view.context.configNote !== null ? ` (${view.context.configNote})` : ''}:`, ...lines.map((l) => `    ${l}`)];
}

/** The group's servers as a block with the lines given added, or a template when no group is known. */
export function inUpstream(view: HeldView, extra: (server: string) => string): string[] {
  const nginx = view.context.nginx;
  const group = view.group.name === null ? undefined : nginx?.config.upstreams.find((u) => u.name === view.group.name);
  if (group === undefined) return [`# an upstream {} block for ${view.worst.destination.destination} (proxy_pass http://<name>;):`, `upstream <name> {`, `    ${extra(`server ${view.worst.destination.destination}`)}`, '}'];
  return [`# ${where(group.at)}`, `upstream ${group.name} {`, ...group.servers.map((s) => `    ${extra(serverLine(s).replace(/;$/, ''))}`), '}'];
}

function errorLogLines(context: RuleContext, kinds: readonly ErrorKind[], contexts: readonly HeldContext[]): string[] {
  const log = context.input.errorLog;
  if (log === undefined || kinds.length === 0) return [];
  const out: string[] = [];
  for (const { destination: d } of contexts.slice(0, MAX_LISTED)) {
    const counts = log.byDestination[d.destination] ?? {};
    const said = kinds.map((k) => [k, counts[k] ?? 0] as const).filter(([, n]) => n > 0);
    if (said.length > 0) out.push(`nginx logged ${said.map(([k, n]) => `${n} × ${k}`).join(', ')} towards ${d.destination} since ${new Date(log.sinceMs).toISOString()}`);
  }
  return out;
}

function who(group: HeldGroup): string {
  if (group.name !== null) return `upstream ${group.name}`;
  return group.kind === 'direct' ? 'a proxied destination' : destinationName(group.destinations[0]!.destination);
}

/** The findings of one state: one per group of destinations it holds, worst first. */
export function stateFindings(context: RuleContext, spec: StateFindingSpec): Finding[] {
  const out: Finding[] = [];
  for (const group of heldGroups(context, spec.state)) {
    const worst = group.destinations[0]!;
    const nginx = context.nginx;
    const passes =
      nginx === null || group.kind === 'unmapped'
        ? []
        : group.name !== null
          ? locationsOf(nginx.config, group.name)
          : group.destinations.flatMap((c) => nginx.evidence.routes.get(c.destination.destination)?.direct ?? []).filter((p, i, all) => all.indexOf(p) === i);
    const view: HeldView = { context, group, worst, passes };
    const severity: Severity = group.destinations.some((c) => c.severity === 'critical') ? 'critical' : group.destinations.some((c) => c.severity === 'warning') ? 'warning' : 'info';
    const upstreamLine =
      group.name !== null && nginx !== null
        ? (() => {
            const g = nginx.config.upstreams.find((u) => u.name === group.name);
            return g === undefined ? [] : [`upstream ${g.name} at ${where(g.at)}: ${g.servers.map(serverLine).join(' ')}`];
          })()
        : [];
    out.push({
      id: spec.id,
      severity,
      summary:
        `${who(group)} is short of ports because ${worst.holding.count} of its sockets to ${worst.destination.destination} are in ${stateLabel(spec.state)} ` +
        `(${pct(worst.holding.share)} of the used ports): ${spec.means}`,
      evidence: [...heldEvidence(group.destinations), ...upstreamLine, ...(spec.evidence?.(view) ?? []), ...errorLogLines(context, spec.errorKinds, group.destinations)],
      why: spec.why,
      fix: spec.fix(view),
      effect: spec.effect(view),
      destinations: group.destinations.map((c) => destinationName(c.destination)),
      upstreams: group.name === null ? [] : [group.name],
    });
  }
  return out;
}
