/**
 * Error-log metrics. Counts live in memory (ErrorLogCounts and the tailer's
 * per-file status); the metrics read them at scrape time through collect()
 * callbacks that only copy numbers, each guarded so that a failure in one can
 * never fail the scrape.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ERROR_KINDS } from '../errorlog/parse/classify.js';
import type { ErrorLogCounts } from '../errorlog/model/counts.js';
import type { ErrorLogTotals } from '../errorlog/pipeline.js';
import { ROTATION_TYPES } from '../errorlog/model/rotation.js';

export const ERROR_LOG_METRIC = {
  events: 'nginx_port_error_log_events_total',
  lines: 'nginx_port_error_log_lines_total',
  discarded: 'nginx_port_error_log_discarded_lines_total',
  rotations: 'nginx_port_error_log_rotations_total',
  lastEvent: 'nginx_port_error_log_last_event_timestamp_seconds',
} as const;


function guarded(logger: Logger, name: string, fn: () => void): () => void {
  let failed = false;
  return () => {
    try {
      fn();
      failed = false;
    } catch (err) {
      if (!failed) logger.error({ err, metric: name }, `collecting ${name} failed; serving its previous value`);
      failed = true;
    }
  };
}

export function registerErrorLogMetrics(registry: Registry, counts: ErrorLogCounts, totals: () => ErrorLogTotals, logger: Logger): void {
  const r = [registry];
  const events = new Counter({
    name: ERROR_LOG_METRIC.events,
    help: 'nginx error-log events by kind and upstream destination ("none": the line names no destination; "other": past the destination limit).',
    labelNames: ['kind', 'destination'],
    registers: r,
    collect: guarded(logger, ERROR_LOG_METRIC.events, () => {
      events.reset();
      for (const s of counts.series()) events.inc({ kind: s.kind, destination: s.destination }, s.count);
    }),
  });
  const lines = new Counter({
    name: ERROR_LOG_METRIC.lines,
    help: 'Lines read from nginx error logs.',
    registers: r,
    collect: guarded(logger, ERROR_LOG_METRIC.lines, () => {
      lines.reset();
      lines.inc(counts.lines);
    }),
  });
  const discarded = new Counter({
    name: ERROR_LOG_METRIC.discarded,
    help: 'Error-log lines not classified: too_long (over maxLineBytes, dropped unread) or unparsed (not in nginx\'s format).',
    labelNames: ['reason'],
    registers: r,
    collect: guarded(logger, ERROR_LOG_METRIC.discarded, () => {
      discarded.reset();
      discarded.inc({ reason: 'too_long' }, totals().tooLong);
      discarded.inc({ reason: 'unparsed' }, counts.unparsed);
    }),
  });
  const rotations = new Counter({
    name: ERROR_LOG_METRIC.rotations,
    help: 'Error-log rotations noticed: rename (moved away, new file created), copytruncate (truncated in place), recreate (deleted, created again).',
    labelNames: ['type'],
    registers: r,
    collect: guarded(logger, ERROR_LOG_METRIC.rotations, () => {
      rotations.reset();
      const t = totals().rotations;
      for (const type of ROTATION_TYPES) rotations.inc({ type }, t[type]);
    }),
  });
  const lastEvent = new Gauge({
    name: ERROR_LOG_METRIC.lastEvent,
    help: 'Time of the last error-log event of this kind, from the line\'s own timestamp, in Unix seconds.',
    labelNames: ['kind'],
    registers: r,
    collect: guarded(logger, ERROR_LOG_METRIC.lastEvent, () => {
      lastEvent.reset();
      for (const kind of ERROR_KINDS) {
        const ms = counts.lastEvent(kind);
        if (ms !== null) lastEvent.set({ kind }, ms / 1000);
      }
    }),
  });
}
