/**
 * time_wait_draining: the group's pool works, and the TIME_WAIT sockets towards
 * it were left by earlier churn (before a fix, or closed by a reload that
 * emptied the pools): they free within 60 s and there is nothing to change.
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import { keepaliveRequestsOf, sustainable, where } from '../nginxPool.js';
import { describePool } from '../../nginxconf/model/pool.js';
import type { FindingRule } from '../rule.js';
import type { SinceChange } from '../context.js';
import { RECENT_RATE_WINDOW_MS, recentRateSince, type DestinationHeadroom } from '../../sockets/model/headroom.js';
import { destinationName, perSecond, type Finding } from '../types.js';

/** When the config changed, and from what the agent knows it. */
function changeText(since: SinceChange): string {
  const s = Math.round(since.seconds);
  return since.from === 'workers'
    ? `nginx loaded its config ${s} s ago (its newest worker started then): TIME_WAIT sockets older than that predate it`
    : `the nginx config changed ${s} s ago: TIME_WAIT sockets older than that predate it`;
}

/** The rate the verdict rests on: since the change when it is under 10 s old, else over the last 10 s. */
function recentText(d: DestinationHeadroom, since: SinceChange | null): string {
  const sinceMs = since === null ? Infinity : since.seconds * 1000;
  const r = recentRateSince(d, sinceMs);
  if (r === null) return `too soon to tell whether churn goes on: the config took effect under a second ago`;
  const over = sinceMs < RECENT_RATE_WINDOW_MS ? `since the change (${r.spanSeconds} s)` : `over the last ${r.spanSeconds} s`;
  return `new connections ${over}: ${perSecond(r.perSecond)}/s, under half the ${sustainable(d.capacity)} the range sustains`;
}

export const timeWaitDraining: FindingRule = {
  id: 'time_wait_draining',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    for (const assessed of nginx.churningGroups) {
      if (assessed.verdict !== 'time_wait_draining') continue;
      const { name, group, destinations: groupDestinations, pool, sinceChange } = assessed;
      out.push({
        id: 'time_wait_draining',
        severity: 'info',
        summary:
          `upstream ${name}'s pool works: the TIME_WAIT sockets towards ${groupDestinations.map((c) => c.destination.destination).join(', ')} were left by earlier churn ` +
          `and free within ${TIME_WAIT_SECONDS} s`,
        evidence: [
          `upstream ${name} at ${where(group.at)}: pool ${describePool(pool)}; ${keepaliveRequestsOf(group, nginx.evidence.version).text}`,
          ...(sinceChange !== null ? [changeText(sinceChange)] : []),
          ...groupDestinations.slice(0, 5).map(({ destination: d }) => `${destinationName(d)}: ${d.timeWait - d.timeWaitReusable} TIME_WAIT blocking, ${d.headroom}/${d.capacity} ports free; ${recentText(d, sinceChange)}`),
        ],
        why:
          'A TIME_WAIT socket lasts 60 s whatever the config does now. Connections opened before a fix (or closed by a reload, ' +
          'which empties the pools) keep their ports until then; the rate of new connections says whether churn goes on.',
        fix: null,
        effect: null,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: [name],
      });
    }
    return out;
  },
};
