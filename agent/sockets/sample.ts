/**
 * One socket sample: run every collector (collectors/) under --proc-root, then the
 * headroom model.
 *
 * Synchronous on purpose: the daemon runs it in a worker thread (sampler.ts) so the
 * HTTP server never waits on it, and `agent diagnose` runs it once inline. A source
 * that fails, or whose collector throws, is reported in `sources` and the rest of
 * the sample still stands.
 */
import { performance } from 'node:perf_hooks';
import { runCollectors } from './collectors/collector.js';
import { COLLECTORS, type Collectors } from './collectors/index.js';
import { computeHeadroom } from './model/headroom.js';
import type { Endianness } from './parse/procNetTcp.js';
import type { ProcBuffer } from './read/procfs.js';
import type { SocketSample } from './model/types.js';

export interface SampleOptions {
  procRoot: string;
  endianness: Endianness;
  rateWindowSeconds: number;
  /** TIME_WAIT ages (ms, ascending) each destination counts the sockets younger than: the NATs' timers under 60 s. */
  timeWaitAgeThresholdsMs?: readonly number[];
}

/** `collectors`: the table to run; tests substitute one collector to see a failure contained. */
export function takeSocketSample(opts: SampleOptions, buffer: ProcBuffer, nowMs: number, collectors: Collectors = COLLECTORS): SocketSample {
  const started = performance.now();
  const { procRoot, endianness, rateWindowSeconds, timeWaitAgeThresholdsMs } = opts;
  const { sources, values } = runCollectors(collectors, { procRoot, buffer, endianness });
  const { sysctl, tcp } = values;
  // Headroom needs both the port range and net/tcp; without either it is unknown (null), not zero.
  const headroom = sysctl.settings !== null && tcp.table !== null ? computeHeadroom(tcp.table, sysctl.settings, { rateWindowSeconds, ...(timeWaitAgeThresholdsMs !== undefined ? { timeWaitAgeThresholdsMs } : {}) }) : null;
  return {
    takenAtMs: nowMs,
    durationMs: performance.now() - started,
    procRoot,
    sources,
    sysctls: sysctl.sysctls,
    settings: sysctl.settings,
    assumptions: sysctl.assumptions,
    headroom,
    counters: { ...values.snmp, ...values.netstat, ...values.sockstat, ...values.conntrack },
    malformedLines: tcp.malformedLines,
    problems: [...sysctl.problems, ...tcp.problems],
  };
}
