/**
 * nat_held_after_close: most of the NAT mappings towards a destination that
 * matters belong to connections already closed, which the NAT holds for its own
 * timer (120 s on Cloud NAT, 240 s behind an Azure load balancer or App
 * Service…): connection churn, which a keepalive pool removes. Points at the
 * config-aware pool finding for the destination when there is one.
 */
import { heldText, natFindingDestinations, natLabel, worstNatSeverity, type NatDestinationContext } from '../natContext.js';
import { poolAdvice } from '../natPool.js';
import type { FindingRule } from '../rule.js';
import { perSecond, type Finding } from '../types.js';

/** Closed connections hold at least this share of the destination's mappings. */
const HELD_SHARE = 0.5;

const heldBound = (c: NatDestinationContext): boolean => c.destination.heldAfterClose > 0 && c.destination.heldAfterClose >= HELD_SHARE * c.destination.used;

export const natHeldAfterClose: FindingRule = {
  id: 'nat_held_after_close',
  evaluate(context) {
    const out: Finding[] = [];
    for (const { nat: n, destinations } of context.nat) {
      const ds = destinations.filter(heldBound);
      if (ds.length === 0 || n.timeWaitSeconds === null) continue;
      const worst = ds[0]!;
      const d = worst.destination;
      const advice = poolAdvice(context, worst);
      const rate = d.closeRatePerSecond;
      const t = n.timeWaitSeconds;
      const after = Math.ceil((rate / advice.requestsPerConnection) * t);
      const idle =
        n.idleTimeoutSeconds !== null && n.idleTimeoutSeconds > 60
          ? ` nginx closes an idle pooled connection after keepalive_timeout (60 s by default), before the NAT's ${n.idleTimeoutSeconds} s idle timeout would drop it.`
          : '';
      out.push({
        id: 'nat_held_after_close',
        severity: worstNatSeverity(ds),
        summary:
          `${natLabel(n)}: ${d.heldAfterClose} of the ${d.used} mappings towards ${d.destination} are connections already closed, ` +
          `held ${t} s by the NAT: ${d.closeRateLowerBound ? 'at least ' : ''}${perSecond(rate)} new connections/s`,
        evidence: ds.slice(0, 5).map(
          (c) =>
            `${natLabel(n)} → ${c.destination.destination}: ${heldText(n, c.destination)}, ${c.destination.open} open; ` +
            `${c.destination.closeRateLowerBound ? 'at least ' : ''}${perSecond(c.destination.closeRatePerSecond)} connections/s closed by this host`,
        ),
        why:
          `Each connection nginx closes leaves its mapping on the NAT for ${t} s (the NAT's own timer, longer than the kernel's 60 s TIME_WAIT when over 60) ` +
          'before the same destination may have it again, so the mappings a destination needs are about new connections/s × the timer: churn, ' +
          'not concurrency. An upstream keepalive pool reuses connections, and a reused connection needs no new mapping.',
        fix: advice.fix,
        effect:
          `At ${d.closeRateLowerBound ? 'at least ' : ''}${perSecond(rate)} new connections/s the NAT holds about ${Math.round(rate * t)} closed ones towards ${d.destination}; ` +
          `with each connection reused for ${advice.requestsPerConnection} requests, about ${after}: the mappings in use fall from ${d.used} to about ${d.open + after} of ${d.capacity}.${idle}`,
        destinations: natFindingDestinations(ds),
        upstreams: [],
      });
    }
    return out;
  },
};
