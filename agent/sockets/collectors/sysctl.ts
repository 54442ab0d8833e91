/**
 * sysctl: the /proc/sys/net/ipv4 values the headroom model depends on
 * (Documentation/networking/ip-sysctl.rst). All are per network namespace.
 *
 * ip_local_port_range is required: without it there is nothing to count ports
 * against, and the source is an error. The others are optional: an absent or
 * unreadable one is replaced by the kernel's default, and the sample says so in
 * `assumptions`.
 */
import { DEFAULT_TW_REUSE_DELAY_MS, type KernelSettings } from '../model/headroom.js';
import { parsePortRange, parseReservedPorts, type PortRange, type PortSpan } from '../parse/sysctl.js';
import { errorMessage, type ErrorCode } from '../../errors.js';
import type { SourceStatus, SysctlValues } from '../model/types.js';
import { okStatus, readInteger, type Collector, type CollectorContext } from './collector.js';

const SYSCTL = 'sys/net/ipv4/';

export interface SysctlCollected {
  sysctls: SysctlValues;
  /** The settings the model uses, kernel defaults filled in; null without the port range. */
  settings: KernelSettings | null;
  /** What was assumed because a value could not be read. */
  assumptions: string[];
  /** Optional sysctls that exist but could not be read or parsed. */
  problems: string[];
}

type Outcome<T> = { value: T } | { failed: { code: ErrorCode; detail: string } };

function readPortRange(ctx: CollectorContext): Outcome<PortRange> {
  const r = ctx.buffer.readText(ctx.procRoot, `${SYSCTL}ip_local_port_range`);
  if (!r.ok) return { failed: { code: 'AGENT_ERR_PROC_UNREADABLE', detail: errorMessage('AGENT_ERR_PROC_UNREADABLE', 'unreadable', { path: r.path, reason: r.reason }) } };
  try {
    return { value: parsePortRange(r.value) };
  } catch (err) {
    return { failed: { code: 'AGENT_ERR_PROC_MALFORMED', detail: errorMessage('AGENT_ERR_PROC_MALFORMED', 'malformed', { path: r.path, problem: (err as Error).message }) } };
  }
}

/** ip_local_reserved_ports: null (and a problem unless absent) when it cannot be read. */
function readReservedPorts(ctx: CollectorContext, problems: string[]): PortSpan[] | null {
  const r = ctx.buffer.readText(ctx.procRoot, `${SYSCTL}ip_local_reserved_ports`);
  if (!r.ok) {
    if (!r.missing) problems.push(r.error);
    return null;
  }
  try {
    return parseReservedPorts(r.value);
  } catch (err) {
    problems.push(`${r.path}: ${(err as Error).message}`);
    return null;
  }
}

function assumptionsFor(sysctls: SysctlValues, delayMissing: boolean): string[] {
  const assumptions: string[] = [];
  if (sysctls.ipLocalReservedPorts === null) assumptions.push('ip_local_reserved_ports unreadable: assumed no reserved ports');
  if (sysctls.tcpTwReuse === null) assumptions.push('tcp_tw_reuse unreadable: assumed the kernel default 2 (loopback only)');
  if (sysctls.tcpTimestamps === null) assumptions.push('tcp_timestamps unreadable: assumed the kernel default 1 (on)');
  if (sysctls.tcpTwReuseDelayMs === null) {
    assumptions.push(
      delayMissing ? 'this kernel has no tcp_tw_reuse_delay: TIME_WAIT reuse after about 1 s' : 'tcp_tw_reuse_delay unreadable: assumed 1000 ms',
    );
  }
  return assumptions;
}

/** The values the model uses, with the kernel's defaults where a sysctl was not read. */
function settingsFrom(sysctls: SysctlValues): KernelSettings | null {
  if (sysctls.ipLocalPortRange === null) return null;
  return {
    portRange: sysctls.ipLocalPortRange,
    reservedPorts: sysctls.ipLocalReservedPorts ?? [],
    tcpTwReuse: sysctls.tcpTwReuse ?? 2,
    tcpTimestamps: sysctls.tcpTimestamps ?? 1,
    tcpTwReuseDelayMs: sysctls.tcpTwReuseDelayMs ?? DEFAULT_TW_REUSE_DELAY_MS,
  };
}

export const sysctlCollector: Collector<'sysctl', SysctlCollected> = {
  name: 'sysctl',
  sources: ['sysctl'],
  collect(ctx) {
    const problems: string[] = [];
    const int = (name: string): { value: number | null; missing: boolean } => {
      const r = readInteger(ctx, `${SYSCTL}${name}`, name);
      if (r.problem !== null) problems.push(r.problem);
      return r;
    };
    const range = readPortRange(ctx);
    const ipLocalReservedPorts = readReservedPorts(ctx, problems);
    const tcpTwReuse = int('tcp_tw_reuse').value;
    const delay = int('tcp_tw_reuse_delay');
    const sysctls: SysctlValues = {
      ipLocalPortRange: 'value' in range ? range.value : null,
      ipLocalReservedPorts,
      tcpTwReuse,
      tcpTwReuseDelayMs: delay.value,
      tcpTimestamps: int('tcp_timestamps').value,
      tcpFinTimeoutSeconds: int('tcp_fin_timeout').value,
      tcpMaxTwBuckets: int('tcp_max_tw_buckets').value,
    };
    const status: SourceStatus = 'failed' in range ? { source: 'sysctl', state: 'error', ...range.failed } : okStatus('sysctl', problems);
    return {
      status: [status],
      values: { sysctls, settings: settingsFrom(sysctls), assumptions: assumptionsFor(sysctls, delay.missing), problems },
    };
  },
  empty: () => ({
    sysctls: {
      ipLocalPortRange: null,
      ipLocalReservedPorts: null,
      tcpTwReuse: null,
      tcpTwReuseDelayMs: null,
      tcpTimestamps: null,
      tcpFinTimeoutSeconds: null,
      tcpMaxTwBuckets: null,
    },
    settings: null,
    assumptions: [],
    problems: [],
  }),
};
