/**
 * Running totals of classified error-log events, for the metrics and the report.
 * Pure: events in, counts out; time comes with the events.
 *
 * Destination label values are bounded. The first `maxDestinations` destinations
 * seen get their own series; later ones are counted under "other". Admission is
 * sticky (a destination never moves between its own series and "other"), so
 * every exported series only ever grows, as a Prometheus counter must: re-ranking
 * by volume would move counts out of "other" and read as a counter reset.
 */
import { ERROR_KINDS, type ErrorKind, type ErrorLogEvent } from '../parse/classify.js';

export const NO_DESTINATION = 'none';
export const OTHER_DESTINATIONS = 'other';

export interface KindDestinationCount {
  kind: ErrorKind;
  destination: string;
  count: number;
}

export class ErrorLogCounts {
  private readonly admitted = new Set<string>();
  /** kind → destination label → count */
  private readonly counts = new Map<ErrorKind, Map<string, number>>();
  private readonly lastEventMs = new Map<ErrorKind, number>();
  lines = 0;
  unparsed = 0;

  constructor(private readonly maxDestinations: number) {
    for (const kind of ERROR_KINDS) this.counts.set(kind, new Map([[NO_DESTINATION, 0]]));
  }

  /** The label a destination is counted under. */
  labelFor(destination: string | null): string {
    if (destination === null) return NO_DESTINATION;
    if (this.admitted.has(destination)) return destination;
    if (this.admitted.size < this.maxDestinations) {
      this.admitted.add(destination);
      return destination;
    }
    return OTHER_DESTINATIONS;
  }

  addUnparsed(): void {
    this.lines++;
    this.unparsed++;
  }

  add(event: Pick<ErrorLogEvent, 'timeMs' | 'kind' | 'destination'>): void {
    this.lines++;
    const label = this.labelFor(event.destination);
    const byDest = this.counts.get(event.kind)!;
    byDest.set(label, (byDest.get(label) ?? 0) + 1);
    const last = this.lastEventMs.get(event.kind);
    if (last === undefined || event.timeMs > last) this.lastEventMs.set(event.kind, event.timeMs);
  }

  series(): KindDestinationCount[] {
    const out: KindDestinationCount[] = [];
    for (const [kind, byDest] of this.counts) for (const [destination, count] of byDest) out.push({ kind, destination, count });
    return out;
  }

  /** The live running totals of one kind by destination label (read-only: copy it to keep it). */
  totalsOf(kind: ErrorKind): ReadonlyMap<string, number> {
    return this.counts.get(kind)!;
  }

  lastEvent(kind: ErrorKind): number | null {
    return this.lastEventMs.get(kind) ?? null;
  }
}
