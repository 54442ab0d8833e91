/**
 * What nginx's "(99: Cannot assign requested address)" lines say, joined to the
 * sockets now: destinations where the exhaustion goes on (confirmed) and where
 * it has passed (recent). Shared by the two rules that report them. Pure.
 */
import type { DestinationHeadroom } from '../sockets/model/headroom.js';
import type { RuleContext } from './context.js';
import { destinationLevel, destinationName } from './types.js';

export const isoSecond = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';

export const EADDRNOTAVAIL_WHY =
  'connect() found no free 4-tuple towards the destination and returned EADDRNOTAVAIL; nginx logs it at crit and ' +
  'tries the next upstream server or answers 502 (ngx_event_connect_peer in ngx_event_connect.c).';

export interface ExhaustionEvidence {
  kind: { count: number; firstMs: number; lastMs: number; sample: string };
  /** "between … and …" of the first and last line. */
  window: string;
  confirmed: string[];
  confirmedDestinations: DestinationHeadroom[];
  recovered: string[];
  recoveredDestinations: string[];
  upstreams: string[];
}

/** The upstream groups (or direct proxy_pass targets) the config maps a destination to. */
export function upstreamsOf(destination: string, context: RuleContext): string[] {
  const route = context.input.nginx?.routes.get(destination);
  if (route === undefined) return [];
  return [...route.upstreams, ...route.direct.map((p) => p.target)];
}

export function exhaustionEvidence(context: RuleContext): ExhaustionEvidence | null {
  const { errorLog: log, headroom, thresholds } = context.input;
  const kind = log?.byKind.find((k) => k.kind === 'eaddrnotavail');
  if (log === undefined || kind === undefined) return null;
  const out: ExhaustionEvidence = {
    kind,
    window: `between ${isoSecond(kind.firstMs)} and ${isoSecond(kind.lastMs)}`,
    confirmed: [],
    confirmedDestinations: [],
    recovered: [],
    recoveredDestinations: [],
    upstreams: [],
  };
  const upstreams = new Set<string>();
  for (const [destination, kinds] of Object.entries(log.byDestination)) {
    const n = kinds.eaddrnotavail ?? 0;
    if (n === 0) continue;
    const via = upstreamsOf(destination, context);
    for (const u of via) upstreams.add(u);
    const now = headroom.destinations.find((d) => d.destination === destination);
    const line = `nginx logged ${n} × "(99: Cannot assign requested address)" connecting to ${destination}${via.length > 0 ? ` (upstream ${via.join(', ')})` : ''}`;
    if (now !== undefined && destinationLevel(now, thresholds) !== 'ok') {
      out.confirmed.push(`${line}; now ${now.headroom}/${now.capacity} ports free from ${now.sourceIp}`);
      out.confirmedDestinations.push(now);
    } else {
      out.recovered.push(`${line}; now ${now === undefined ? `${headroom.portRange.usable}/${headroom.portRange.usable}` : `${now.headroom}/${now.capacity}`} ports free`);
      out.recoveredDestinations.push(now === undefined ? `* → ${destination}` : destinationName(now));
    }
  }
  out.upstreams = [...upstreams];
  return out;
}
