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
import { ERROR_KINDS, KIND_INDEX, type ErrorKind, type ErrorLogEvent } from '../parse/classify.js';
import { ownCopy } from '../parse/text.js';

export const NO_DESTINATION = 'none';
export const OTHER_DESTINATIONS = 'other';

export interface KindDestinationCount {
  kind: ErrorKind;
  destination: string;
  count: number;
}

/** One label's counts, by kind index. */
interface Row {
  label: string;
  byKind: number[];
}

export class ErrorLogCounts {
  /**
   * Each label's row, in the order labels were first counted. A line costs two
   * lookups (its destination's row, its kind's index) and one store: a Map of
   * counts per kind took five Map operations a line (`npm run bench:errorlog`).
   */
  private readonly rows = new Map<string, Row>();
  /** Destinations admitted to a series of their own (at most maxDestinations). */
  private admitted = 0;
  private readonly none: Row;
  private readonly other: Row;
  private readonly lastEventMs: number[] = ERROR_KINDS.map(() => Number.NEGATIVE_INFINITY);
  lines = 0;
  unparsed = 0;

  constructor(private readonly maxDestinations: number) {
    this.none = this.row(NO_DESTINATION);
    this.other = { label: OTHER_DESTINATIONS, byKind: ERROR_KINDS.map(() => 0) };
  }

  private row(label: string): Row {
    const r = { label, byKind: ERROR_KINDS.map(() => 0) };
    this.rows.set(label, r);
    return r;
  }

  /** The row a destination is counted in: its own, or "other" once maxDestinations have one. */
  private rowFor(destination: string | null): Row {
    if (destination === null) return this.none;
    const r = this.rows.get(destination);
    if (r !== undefined && r !== this.none) return r;
    if (r === undefined && this.admitted < this.maxDestinations) {
      this.admitted++;
      // Its own copy: the text may be a view of the chunk its line was read in (io/decode.ts).
      return this.row(ownCopy(destination));
    }
    if (!this.rows.has(OTHER_DESTINATIONS)) this.rows.set(OTHER_DESTINATIONS, this.other);
    return this.other;
  }

  /** The label a destination is counted under. */
  labelFor(destination: string | null): string {
    return this.rowFor(destination).label;
  }

  addUnparsed(): void {
    this.lines++;
    this.unparsed++;
  }

  add(event: Pick<ErrorLogEvent, 'timeMs' | 'kind' | 'destination'>): void {
    this.lines++;
    const k = KIND_INDEX.get(event.kind)!;
    this.rowFor(event.destination).byKind[k]!++;
    if (event.timeMs > this.lastEventMs[k]!) this.lastEventMs[k] = event.timeMs;
  }

  /**
   * `count` lines of one kind and destination at once, the latest written at
   * lastMs: what as many add() calls would leave, once the destination has been
   * admitted in the order its lines came (labelFor, in that order, first). A
   * backlog read in parts by other threads (errorlog/backlog.ts) comes back so.
   */
  addMany(destination: string | null, kindIndex: number, count: number, lastMs: number): void {
    this.lines += count;
    this.rowFor(destination).byKind[kindIndex]! += count;
    if (lastMs > this.lastEventMs[kindIndex]!) this.lastEventMs[kindIndex] = lastMs;
  }

  /** Every kind's count under every label counted so far ("none" always; a label's zero counts too). */
  series(): KindDestinationCount[] {
    const out: KindDestinationCount[] = [];
    ERROR_KINDS.forEach((kind, k) => {
      for (const r of this.rows.values()) if (r === this.none || r.byKind[k]! > 0) out.push({ kind, destination: r.label, count: r.byKind[k]! });
    });
    return out;
  }

  /** One kind's running totals by destination label. */
  totalsOf(kind: ErrorKind): ReadonlyMap<string, number> {
    const k = KIND_INDEX.get(kind)!;
    const totals = new Map<string, number>();
    for (const r of this.rows.values()) if (r === this.none || r.byKind[k]! > 0) totals.set(r.label, r.byKind[k]!);
    return totals;
  }

  lastEvent(kind: ErrorKind): number | null {
    const ms = this.lastEventMs[KIND_INDEX.get(kind)!]!;
    return ms === Number.NEGATIVE_INFINITY ? null : ms;
  }
}
