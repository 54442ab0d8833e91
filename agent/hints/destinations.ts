/**
 * How a destination's ports are held, in words and predicates the rules share.
 * Pure.
 */
import type { DestinationHeadroom } from '../sockets/model/headroom.js';
import { destinationLevel, destinationName, pct, perSecond, type DestinationLevel, type FindingInput } from './types.js';

export function describeDestination(d: DestinationHeadroom): string {
  const blockingTimeWait = d.timeWait - d.timeWaitReusable;
  const parts = [
    `${destinationName(d)}: ${d.used}/${d.capacity} ports used, ${d.headroom} free (${pct(d.headroomRatio)})`,
    `${d.established} established, ${blockingTimeWait} TIME_WAIT blocking` +
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

export function levelsOf(input: FindingInput): Record<DestinationLevel, DestinationHeadroom[]> {
  const byLevel: Record<DestinationLevel, DestinationHeadroom[]> = { exhausted: [], critical: [], warning: [], ok: [] };
  for (const d of input.headroom.destinations) byLevel[destinationLevel(d, input.thresholds)].push(d);
  return byLevel;
}
