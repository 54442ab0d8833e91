/**
 * How a destination's ports are held, in words and predicates the rules share.
 * Pure.
 */
import type { DestinationHeadroom } from '../sockets/model/headroom.js';
import type { TcpStateName } from '../sockets/parse/procNetTcp.js';
import { destinationLevel, destinationName, pct, rateText, type DestinationLevel, type FindingInput } from './types.js';

/** A kernel state as `ss` and the kernel's docs write it: FIN_WAIT1, SYN_SENT, CLOSE_WAIT. */
export const stateLabel = (state: TcpStateName): string => state.toUpperCase();

/** The states besides ESTABLISHED and TIME_WAIT that hold the destination's sockets, most first: "100 FIN_WAIT1, 3 SYN_SENT". */
export function otherStatesText(d: Pick<DestinationHeadroom, 'states'>): string {
  return Object.entries(d.states)
    .filter((e): e is [TcpStateName, number] => e[0] !== 'established' && e[0] !== 'time_wait' && e[1] > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([state, n]) => `${n} ${stateLabel(state)}`)
    .join(', ');
}

export function describeDestination(d: DestinationHeadroom): string {
  const blockingTimeWait = d.timeWait - d.timeWaitReusable;
  const others = otherStatesText(d);
  const parts = [
    `${destinationName(d)}: ${d.used}/${d.capacity} ports used, ${d.headroom} free (${pct(d.headroomRatio)})`,
    `${d.established} established, ${blockingTimeWait} TIME_WAIT blocking` +
      (d.timeWaitReusable > 0 ? `, ${d.timeWaitReusable} TIME_WAIT reusable` : '') +
      (others !== '' ? `, ${others}` : ''),
  ];
  if (d.connectRatePerSecond > 0) parts.push(`${rateText(d.connectRate)} new connections/s`);
  if (d.secondsUntilNextRelease !== null && d.headroom === 0) parts.push(`next port frees in ${d.secondsUntilNextRelease.toFixed(1)} s`);
  return parts.join('; ');
}

/** TIME_WAIT that blocks its 4-tuple holds at least half the used ports: connection churn, not concurrency. */
export function timeWaitDominated(d: DestinationHeadroom): boolean {
  const blocking = d.timeWait - d.timeWaitReusable;
  return blocking > 0 && blocking >= d.used - blocking;
}

/**
 * The states besides TIME_WAIT whose sockets can hold a destination's ports,
 * each with a finding of its own (established_exhaustion, syn_sent_exhaustion,
 * fin_wait1_exhaustion, fin_wait2_exhaustion, close_wait_exhaustion).
 */
export const HELD_STATES = ['established', 'syn_sent', 'fin_wait1', 'fin_wait2', 'close_wait'] as const;
export type HeldState = (typeof HELD_STATES)[number];
/** A state holding at least this share of a destination's used ports gets its own finding. */
export const HELD_SHARE = 0.25;

export interface Holding {
  state: HeldState;
  /** Sockets of the destination in the state. */
  count: number;
  /** count ÷ used ports. */
  share: number;
  /** No other state, blocking TIME_WAIT included, holds more of the destination's ports. */
  dominant: boolean;
}

/**
 * What holds a destination's ports, besides TIME_WAIT: each state of HELD_STATES
 * with at least HELD_SHARE of the used ports, or with more of them than any
 * other state (blocking TIME_WAIT included); most first. Never a state with no
 * socket, so no finding can claim connections that are in another state.
 */
export function holdings(d: DestinationHeadroom): Holding[] {
  if (d.used <= 0) return [];
  const blocking = d.timeWait - d.timeWaitReusable;
  let most = blocking;
  for (const [state, n] of Object.entries(d.states)) if (state !== 'time_wait' && n > most) most = n;
  const out: Holding[] = [];
  for (const state of HELD_STATES) {
    const count = d.states[state] ?? 0;
    if (count === 0) continue;
    const share = count / d.used;
    const dominant = count >= most;
    if (share >= HELD_SHARE || dominant) out.push({ state, count, share, dominant });
  }
  return out.sort((a, b) => b.count - a.count);
}

export function levelsOf(input: FindingInput): Record<DestinationLevel, DestinationHeadroom[]> {
  const byLevel: Record<DestinationLevel, DestinationHeadroom[]> = { exhausted: [], critical: [], warning: [], ok: [] };
  for (const d of input.headroom.destinations) byLevel[destinationLevel(d, input.thresholds)].push(d);
  return byLevel;
}
