/**
 * keepalive_pool_churn: the group's pool works on paper, yet connections are
 * still opened at a rate that matters. nginx closes a pooled connection when the
 * pool is full as it comes back idle (keepalive per worker), after
 * keepalive_requests requests, or after keepalive_time; each close leaves
 * TIME_WAIT on this host. The fix names whichever of the three does it.
 */
import { TIME_WAIT_SECONDS } from '../../core/tcp.js';
import { churnEvidence, connectRateOf, openConnectionsOf, worstSeverity, type GroupAssessment, type NginxRuleContext } from '../context.js';
import { DEFAULT_KEEPALIVE_TIME_MS, editedUpstreamBlock, keepaliveLine, keepaliveRequestsOf, niceCeil, suggestedPool, where } from '../nginxPool.js';
import { describePool } from '../../nginxconf/model/pool.js';
import type { FindingRule } from '../rule.js';
import { aboutRate, destinationName, perSecond, rateText, type Finding } from '../types.js';

/** Within 10 s of a config change, the new config's own rate: the window's would count the churn of the config before. */
const rateOf = (assessed: GroupAssessment): { perSecond: number; lowerBound: boolean } => assessed.sinceChange?.rate ?? connectRateOf(assessed.destinations);

interface ChurnCause {
  cause: string;
  fixLines: string[];
  effect: string;
}

/**
 * Which of the pool's three limits retires the connections, with the change that
 * lifts it. The block is printed as the operator wrote it with only that line
 * changed: a line that would only repeat the version's default (the 1.29.7+ pool
 * of 32) is not added.
 */
function churnCause(nginx: NginxRuleContext, assessed: GroupAssessment): ChurnCause {
  const { group, destinations: groupDestinations, pool } = assessed;
  const version = nginx.evidence.version;
  const poolSize = pool.size ?? 0;
  const rate = rateOf(assessed);
  const open = openConnectionsOf(groupDestinations);
  const kept = poolSize * nginx.workers.count;
  const requests = keepaliveRequestsOf(group, version);
  const timeChurn = open / ((group.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS) / 1000);
  const scaled = (f: number): string => aboutRate({ ...rate, perSecond: rate.perSecond * f });
  if (open > kept) {
    const next = suggestedPool(open, nginx.workers.count, poolSize);
    // A default pool grows as the default is (local); a group's own keepalive line keeps its mode.
    const line = keepaliveLine(next, version, `was ${poolSize}${pool.source === 'default' ? ' (the default)' : ''}`, pool.source === 'default' ? true : pool.local);
    return {
      cause: `the pool keeps ${kept} idle connections but ${open} are in use at once: the rest are closed after each response`,
      fixLines: editedUpstreamBlock(group, [['keepalive', line]]),
      effect: `Idle connections kept: ${kept} → ${next * nginx.workers.count}, above the ${open} in use now; connections beyond the pool stop being closed after each response.`,
    };
  }
  if (group.keepaliveTimeMs !== null && timeChurn >= 0.5 * rate.perSecond) {
    const next = Math.max(3600, Math.ceil((group.keepaliveTimeMs / 1000) * 10));
    return {
      cause: `keepalive_time ${group.keepaliveTimeMs / 1000} s retires about ${perSecond(timeChurn)} connections/s`,
      fixLines: editedUpstreamBlock(group, [['keepalive_time', `keepalive_time ${next}s;   # was ${group.keepaliveTimeMs / 1000}s`]]),
      effect: `Connections retired by age: about ${perSecond(timeChurn)}/s → ${perSecond(open / next)}/s.`,
    };
  }
  // Enough requests per connection that the churn left is a tenth of what the range sustains. With a
  // rate that is only a lower bound (an exhausted range, reuse hiding TIME_WAIT) this is the least that does.
  const sustainableRate = Math.min(...groupDestinations.map((c) => c.destination.maxSustainableConnectRate));
  const next = Math.min(10_000_000, niceCeil(Math.max(10_000, requests.count * 10, (rate.perSecond * requests.count) / (0.1 * sustainableRate))));
  const worst = groupDestinations[0]!.destination;
  return {
    cause:
      `at ${rate.lowerBound ? `${perSecond(rate.perSecond * requests.count)} requests/s or more` : `about ${perSecond(rate.perSecond * requests.count)} requests/s`}, ` +
      `${requests.count} requests per connection still retires ${rateText(rate)} connections/s`,
    fixLines: editedUpstreamBlock(group, [['keepalive_requests', `keepalive_requests ${next};   # was ${requests.count}${rate.lowerBound ? ' (at least this: the connect rate is a lower bound)' : ''}`]]),
    effect:
      `New connections/s fall from ${aboutRate(rate)} to ${scaled(requests.count / next)}; ` +
      `the TIME_WAIT they need towards ${worst.destination} from ${rate.lowerBound ? 'at least' : 'about'} ${Math.round(rate.perSecond * TIME_WAIT_SECONDS)} ` +
      `(the range has ${worst.capacity} ports) to about ${Math.ceil(((rate.perSecond * requests.count) / next) * TIME_WAIT_SECONDS)}.`,
  };
}

export const keepalivePoolChurn: FindingRule = {
  id: 'keepalive_pool_churn',
  evaluate({ nginx }) {
    if (nginx === null) return [];
    const out: Finding[] = [];
    for (const assessed of nginx.churningGroups) {
      if (assessed.verdict !== 'keepalive_pool_churn') continue;
      const { name, group, destinations: groupDestinations, pool } = assessed;
      const { cause, fixLines, effect } = churnCause(nginx, assessed);
      out.push({
        id: 'keepalive_pool_churn',
        severity: worstSeverity(groupDestinations),
        summary: `upstream ${name} has a keepalive pool but still opens ${rateText(rateOf(assessed))} connections/s: ${cause}`,
        evidence: [
          `upstream ${name} at ${where(group.at)}: pool ${describePool(pool)}; ${pool.size ?? 0} per worker × ${nginx.workers.text} = ${(pool.size ?? 0) * nginx.workers.count} idle connections kept`,
          `${keepaliveRequestsOf(group, nginx.evidence.version).text}; keepalive_time ${group.keepaliveTimeMs === null ? '1h (default)' : `${group.keepaliveTimeMs / 1000} s`}`,
          ...churnEvidence(groupDestinations),
          ...(assessed.sinceChange?.rate != null
            ? [
                `the config took effect ${Math.round(assessed.sinceChange.seconds)} s ago (${assessed.sinceChange.from === 'workers' ? "nginx's newest worker started then" : 'its files changed then'}): ` +
                  `${rateText(assessed.sinceChange.rate)} new connections/s since, from the TIME_WAIT younger than that alone`,
              ]
            : []),
          `${openConnectionsOf(groupDestinations)} connections open to the group now`,
          // A Connection header set from a variable cannot be checked: it goes in as evidence.
          ...assessed.locations.flatMap(({ missing }) => missing.notes),
        ],
        why:
          'A pooled connection is closed by nginx when the pool is full as it comes back idle (keepalive per worker), after ' +
          'keepalive_requests requests or keepalive_time; each close leaves a TIME_WAIT socket on this host for 60 s. ' +
          '(When the upstream closes first, TIME_WAIT lands on the upstream instead, so TIME_WAIT here means nginx closed.)',
        fix: [`# ${where(group.at)}`, ...fixLines, '', '# then: nginx -t && nginx -s reload'].join('\n'),
        effect,
        destinations: groupDestinations.map((c) => destinationName(c.destination)),
        upstreams: [name],
      });
    }
    return out;
  },
};
