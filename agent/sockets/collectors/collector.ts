/**
 * The collector contract, after node_exporter's collector/collector.go: one small
 * interface, one file per source, a table the sampler loops over, and a collector
 * that throws never fails the sample (its sources report `error`, the rest stands).
 *
 * A collector does its I/O through ../read/procfs.ts and its parsing through
 * ../parse/; here are only the contract, the loop and the small helpers several
 * collectors share.
 */
import { describeError, errorMessage } from '../../errors.js';
import { parseIntegerValue } from '../parse/sysctl.js';
import type { Endianness } from '../parse/procNetTcp.js';
import type { ProcBuffer, ReadOutcome } from '../read/procfs.js';
import type { SourceName, SourceStatus } from '../model/types.js';

/** Reads no values of earlier collectors (`earlier` is there, unread). */
export type NoNeeds = object;

/**
 * What a collector is given: where to read, the sampling thread's reused buffers,
 * and `earlier`, the values of the collectors before it in the table that it
 * declared it reads (typed by name; InOrder checks the table runs them first).
 */
export interface CollectorContext<Needs extends object = NoNeeds> {
  readonly procRoot: string;
  readonly buffer: ProcBuffer;
  readonly endianness: Endianness;
  readonly earlier: Needs;
}

export interface Collected<Values> {
  /** One entry per source the collector reports, in the order of its `sources`. */
  status: SourceStatus[];
  /** Its typed part of the sample. */
  values: Values;
}

export interface Collector<Name extends string, Values, Needs extends object = NoNeeds> {
  /** Its key among the collected values (what later collectors and the sampler read). */
  readonly name: Name;
  /** The sources it reports, in order; all of them are marked failed if it throws. */
  readonly sources: readonly SourceName[];
  collect(ctx: CollectorContext<Needs>): Collected<Values>;
  /** Its values when collect() threw: nothing read. */
  empty(): Values;
}

// `never` for the context: every collector's collect() accepts it, whatever it needs.
export type AnyCollector = Collector<string, unknown, never>;

type ValuesOfOne<C extends AnyCollector> = ReturnType<C['empty']>;
type NeedsOf<C extends AnyCollector> = Parameters<C['collect']>[0]['earlier'];

/** The values of every collector in a table, by collector name. */
export type ValuesOf<T extends readonly AnyCollector[]> = { [C in T[number] as C['name']]: ValuesOfOne<C> };

/**
 * `unknown` when each collector in the table comes after every collector whose
 * values it reads; otherwise a message naming the first one that does not, which
 * makes `collectorTable([...])` a compile error.
 */
export type InOrder<T extends readonly AnyCollector[], Done extends object = NoNeeds> = T extends readonly [
  infer C extends AnyCollector,
  ...infer Rest extends readonly AnyCollector[],
]
  ? Done extends NeedsOf<C>
    ? InOrder<Rest, Done & { [K in C['name']]: ValuesOfOne<C> }>
    : `the ${C['name']} collector reads values of a collector that does not run before it`
  : unknown;

/** A collector table, checked at compile time for the order its dependencies need. */
export function collectorTable<const T extends readonly AnyCollector[]>(table: T & InOrder<T>): T {
  return table;
}

export interface CollectedSample<T extends readonly AnyCollector[]> {
  /** Every collector's statuses, in table order. */
  sources: SourceStatus[];
  values: ValuesOf<T>;
}

/**
 * Runs a table in order. A collector that throws (a bug, not a failed read: reads
 * fail as outcomes) becomes `error` on each of its sources, with the message and
 * AGENT_ERR_COLLECTOR_FAILED, and its `empty()` values; the loop goes on.
 */
export function runCollectors<const T extends readonly AnyCollector[]>(
  table: T,
  where: Omit<CollectorContext, 'earlier'>,
): CollectedSample<T> {
  const sources: SourceStatus[] = [];
  const earlier: Record<string, unknown> = {};
  // One context for the whole table: `earlier` fills up as collectors finish.
  const ctx: CollectorContext<Record<string, unknown>> = { procRoot: where.procRoot, buffer: where.buffer, endianness: where.endianness, earlier };
  for (const c of table) {
    let result: Collected<unknown>;
    try {
      // The cast is what InOrder proves for COLLECTORS: what c needs is in `earlier`.
      result = c.collect(ctx as CollectorContext<never>);
    } catch (err) {
      const detail = errorMessage('AGENT_ERR_COLLECTOR_FAILED', 'threw', { collector: c.name, reason: describeError(err) });
      result = {
        status: c.sources.map((source) => ({ source, state: 'error', detail, code: 'AGENT_ERR_COLLECTOR_FAILED' })),
        values: c.empty(),
      };
    }
    for (const s of result.status) sources.push(s);
    earlier[c.name] = result.values;
  }
  return { sources, values: earlier as ValuesOf<T> };
}

// --- helpers several collectors share ----------------------------------------------

/** `ok`, with the non-fatal problems as its detail when there are any. */
export function okStatus(source: SourceName, problems: readonly string[]): SourceStatus {
  return problems.length > 0 ? { source, state: 'ok', detail: problems.join('; ') } : { source, state: 'ok' };
}

/** An optional file that could not be read: `unavailable` when absent on this kernel, else `error`. */
export function optionalFileFailed(source: SourceName, r: ReadOutcome<unknown> & { ok: false }): SourceStatus {
  return { source, state: r.missing ? 'unavailable' : 'error', detail: r.error };
}

export interface IntegerRead {
  /** null when absent, unreadable or not an integer. */
  value: number | null;
  /** The file does not exist (an older kernel, a module not loaded). */
  missing: boolean;
  /** Why an existing file gave no value, naming the file. */
  problem: string | null;
}

/** A one-integer file (a sysctl) under the proc root. */
export function readInteger(ctx: CollectorContext, rel: string, name: string): IntegerRead {
  const r = ctx.buffer.readText(ctx.procRoot, rel);
  if (!r.ok) return { value: null, missing: r.missing, problem: r.missing ? null : r.error };
  try {
    return { value: parseIntegerValue(r.value, name), missing: false, problem: null };
  } catch (err) {
    return { value: null, missing: false, problem: `${r.path}: ${(err as Error).message}` };
  }
}
