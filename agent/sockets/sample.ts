/**
 * One socket sample: read every source under --proc-root, parse, model.
 *
 * Synchronous on purpose: the daemon runs it in a worker thread (sampler.ts) so the
 * HTTP server never waits on it, and `agent diagnose` runs it once inline. A source
 * that fails is reported in `sources` and the rest of the sample still stands.
 */
import { performance } from 'node:perf_hooks';
import { computeHeadroom, DEFAULT_TW_REUSE_DELAY_MS, type KernelSettings } from './model/headroom.js';
import { SocketTableBuilder } from './model/socketTable.js';
import { counter, parseHeaderValuePairs, parseSockstat } from './parse/procNetCounters.js';
import { TcpTableStream, type Endianness } from './parse/procNetTcp.js';
import { parseIntegerValue, parsePortRange, parseReservedPorts, ParseError } from './parse/sysctl.js';
import { ProcBuffer, procPath, readProcText } from './read/procfs.js';
import type { HostCounters, SocketSample, SourceStatus, SysctlValues } from './model/types.js';
import { errorMessage, type ErrorCode } from '../errors.js';

export interface SampleOptions {
  procRoot: string;
  endianness: Endianness;
  rateWindowSeconds: number;
}

const SYSCTL = 'sys/net/ipv4/';

function optionalInt(
  buffer: ProcBuffer,
  procRoot: string,
  rel: string,
  name: string,
  problems: string[],
): { value: number | null; missing: boolean } {
  const r = buffer.readText(procRoot, rel);
  if (!r.ok) {
    if (!r.missing) problems.push(r.error);
    return { value: null, missing: r.missing };
  }
  try {
    return { value: parseIntegerValue(r.value, name), missing: false };
  } catch (err) {
    problems.push(`${r.path}: ${(err as Error).message}`);
    return { value: null, missing: false };
  }
}

/** The sysctls under sys/net/ipv4/: the port range is required, the rest fall back to the kernel's defaults. */
function readSysctls(
  buffer: ProcBuffer,
  procRoot: string,
  sources: SourceStatus[],
  problems: string[],
  assumptions: string[],
): { sysctls: SysctlValues; settings: KernelSettings | null } {
  const sysctls: SysctlValues = {
    ipLocalPortRange: null,
    ipLocalReservedPorts: null,
    tcpTwReuse: null,
    tcpTwReuseDelayMs: null,
    tcpTimestamps: null,
    tcpFinTimeoutSeconds: null,
    tcpMaxTwBuckets: null,
  };
  const sysctlProblems: string[] = [];
  let rangeError: { code: ErrorCode; detail: string } | null = null;
  const rangeText = buffer.readText(procRoot, `${SYSCTL}ip_local_port_range`);
  if (rangeText.ok) {
    try {
      sysctls.ipLocalPortRange = parsePortRange(rangeText.value);
    } catch (err) {
      rangeError = { code: 'AGENT_ERR_PROC_MALFORMED', detail: errorMessage('AGENT_ERR_PROC_MALFORMED', 'malformed', { path: rangeText.path, problem: (err as ParseError).message }) };
    }
  } else {
    rangeError = { code: 'AGENT_ERR_PROC_UNREADABLE', detail: errorMessage('AGENT_ERR_PROC_UNREADABLE', 'unreadable', { path: rangeText.path, reason: rangeText.reason }) };
  }
  const reservedText = buffer.readText(procRoot, `${SYSCTL}ip_local_reserved_ports`);
  if (reservedText.ok) {
    try {
      sysctls.ipLocalReservedPorts = parseReservedPorts(reservedText.value);
    } catch (err) {
      sysctlProblems.push(`${reservedText.path}: ${(err as Error).message}`);
    }
  } else if (!reservedText.missing) {
    sysctlProblems.push(reservedText.error);
  }
  sysctls.tcpTwReuse = optionalInt(buffer, procRoot, `${SYSCTL}tcp_tw_reuse`, 'tcp_tw_reuse', sysctlProblems).value;
  const delay = optionalInt(buffer, procRoot, `${SYSCTL}tcp_tw_reuse_delay`, 'tcp_tw_reuse_delay', sysctlProblems);
  sysctls.tcpTwReuseDelayMs = delay.value;
  sysctls.tcpTimestamps = optionalInt(buffer, procRoot, `${SYSCTL}tcp_timestamps`, 'tcp_timestamps', sysctlProblems).value;
  sysctls.tcpFinTimeoutSeconds = optionalInt(buffer, procRoot, `${SYSCTL}tcp_fin_timeout`, 'tcp_fin_timeout', sysctlProblems).value;
  sysctls.tcpMaxTwBuckets = optionalInt(buffer, procRoot, `${SYSCTL}tcp_max_tw_buckets`, 'tcp_max_tw_buckets', sysctlProblems).value;

  if (sysctls.ipLocalReservedPorts === null) assumptions.push('ip_local_reserved_ports unreadable: assumed no reserved ports');
  if (sysctls.tcpTwReuse === null) assumptions.push('tcp_tw_reuse unreadable: assumed the kernel default 2 (loopback only)');
  if (sysctls.tcpTimestamps === null) assumptions.push('tcp_timestamps unreadable: assumed the kernel default 1 (on)');
  if (sysctls.tcpTwReuseDelayMs === null) {
    assumptions.push(
      delay.missing
        ? 'this kernel has no tcp_tw_reuse_delay: TIME_WAIT reuse after about 1 s'
        : 'tcp_tw_reuse_delay unreadable: assumed 1000 ms',
    );
  }
  if (rangeError !== null) {
    sources.push({ source: 'sysctl', state: 'error', ...rangeError });
  } else {
    sources.push(sysctlProblems.length > 0 ? { source: 'sysctl', state: 'ok', detail: sysctlProblems.join('; ') } : { source: 'sysctl', state: 'ok' });
  }
  problems.push(...sysctlProblems);

  const settings: KernelSettings | null =
    sysctls.ipLocalPortRange === null
      ? null
      : {
          portRange: sysctls.ipLocalPortRange,
          reservedPorts: sysctls.ipLocalReservedPorts ?? [],
          tcpTwReuse: sysctls.tcpTwReuse ?? 2,
          tcpTimestamps: sysctls.tcpTimestamps ?? 1,
          tcpTwReuseDelayMs: sysctls.tcpTwReuseDelayMs ?? DEFAULT_TW_REUSE_DELAY_MS,
        };

  return { sysctls, settings };
}

/** Host-wide counters: net/snmp, net/netstat, net/sockstat{,6} and conntrack, each its own source. */
function readCounters(buffer: ProcBuffer, procRoot: string, sources: SourceStatus[]): HostCounters {
  const counters: HostCounters = {
    activeOpens: null,
    passiveOpens: null,
    attemptFails: null,
    timeWaitOverflow: null,
    tcpInUse: null,
    tcpOrphan: null,
    tcpTimeWait: null,
    tcp6InUse: null,
    conntrackCount: null,
    conntrackMax: null,
  };
  const snmp = buffer.readText(procRoot, 'net/snmp');
  if (snmp.ok) {
    const parsed = parseHeaderValuePairs(snmp.value);
    counters.activeOpens = counter(parsed.groups, 'Tcp', 'ActiveOpens');
    counters.passiveOpens = counter(parsed.groups, 'Tcp', 'PassiveOpens');
    counters.attemptFails = counter(parsed.groups, 'Tcp', 'AttemptFails');
    const missing = counters.activeOpens === null ? ['Tcp ActiveOpens missing'] : [];
    const detail = [...parsed.problems, ...missing];
    sources.push(detail.length > 0 ? { source: 'snmp', state: counters.activeOpens === null ? 'error' : 'ok', detail: detail.join('; ') } : { source: 'snmp', state: 'ok' });
  } else {
    sources.push({ source: 'snmp', state: snmp.missing ? 'unavailable' : 'error', detail: snmp.error });
  }
  const netstat = buffer.readText(procRoot, 'net/netstat');
  if (netstat.ok) {
    const parsed = parseHeaderValuePairs(netstat.value);
    counters.timeWaitOverflow = counter(parsed.groups, 'TcpExt', 'TCPTimeWaitOverflow');
    sources.push(parsed.problems.length > 0 ? { source: 'netstat', state: 'ok', detail: parsed.problems.join('; ') } : { source: 'netstat', state: 'ok' });
  } else {
    sources.push({ source: 'netstat', state: netstat.missing ? 'unavailable' : 'error', detail: netstat.error });
  }
  const sockstat = buffer.readText(procRoot, 'net/sockstat');
  if (sockstat.ok) {
    const parsed = parseSockstat(sockstat.value);
    counters.tcpInUse = counter(parsed.groups, 'TCP', 'inuse');
    counters.tcpOrphan = counter(parsed.groups, 'TCP', 'orphan');
    counters.tcpTimeWait = counter(parsed.groups, 'TCP', 'tw');
    const six = buffer.readText(procRoot, 'net/sockstat6');
    if (six.ok) counters.tcp6InUse = counter(parseSockstat(six.value).groups, 'TCP6', 'inuse');
    sources.push(parsed.problems.length > 0 ? { source: 'sockstat', state: 'ok', detail: parsed.problems.join('; ') } : { source: 'sockstat', state: 'ok' });
  } else {
    sources.push({ source: 'sockstat', state: sockstat.missing ? 'unavailable' : 'error', detail: sockstat.error });
  }
  // nf_conntrack is a module: absent unless loaded, and then per network namespace.
  const ctProblems: string[] = [];
  const ctCount = optionalInt(buffer, procRoot, 'sys/net/netfilter/nf_conntrack_count', 'nf_conntrack_count', ctProblems);
  const ctMax = optionalInt(buffer, procRoot, 'sys/net/netfilter/nf_conntrack_max', 'nf_conntrack_max', ctProblems);
  counters.conntrackCount = ctCount.value;
  counters.conntrackMax = ctMax.value;
  if (ctProblems.length > 0) sources.push({ source: 'conntrack', state: 'error', detail: ctProblems.join('; ') });
  else if (ctCount.missing) sources.push({ source: 'conntrack', state: 'unavailable', detail: 'nf_conntrack not loaded in this network namespace' });
  else sources.push({ source: 'conntrack', state: 'ok' });

  return counters;
}

export function takeSocketSample(opts: SampleOptions, buffer: ProcBuffer, nowMs: number): SocketSample {
  const started = performance.now();
  const { procRoot } = opts;
  const sources: SourceStatus[] = [];
  const problems: string[] = [];
  const assumptions: string[] = [];

  const { sysctls, settings } = readSysctls(buffer, procRoot, sources, problems, assumptions);

  // --- socket tables -----------------------------------------------------------
  // Without the port range there is nothing to compare sockets against, but the
  // tables are still read so state counts and source health stay visible.
  const builder = new SocketTableBuilder(settings?.portRange ?? { low: 1, high: 0 }, buffer.records);
  let tcpOk = false;
  const malformedLines = { tcp: 0, tcp6: 0 };
  for (const [source, rel, family] of [
    ['tcp', 'net/tcp', 4],
    ['tcp6', 'net/tcp6', 6],
  ] as const) {
    builder.currentSource = procPath(procRoot, rel);
    builder.takeFirstMalformed(); // from the previous table
    const stream = new TcpTableStream(family, opts.endianness, builder);
    const before = builder.malformedRows;
    const r = buffer.stream(procRoot, rel, (chunk, length) => {
      stream.push(chunk, length);
    });
    stream.end();
    if (!r.ok) {
      // tcp6 is absent when IPv6 is disabled (ipv6.disable=1); tcp never is.
      if (r.missing && source === 'tcp6') sources.push({ source, state: 'unavailable', detail: r.error });
      else if (source === 'tcp') {
        const detail = errorMessage('AGENT_ERR_PROC_UNREADABLE', 'unreadable', { path: r.path, reason: r.reason });
        sources.push({ source, state: 'error', detail, code: 'AGENT_ERR_PROC_UNREADABLE' });
      } else sources.push({ source, state: 'error', detail: r.error });
      continue;
    }
    const bad = builder.malformedRows - before;
    malformedLines[source] = bad;
    // The kernel always prints the header, and a table of which no line parses is
    // not a socket table: counting it as "no sockets" would report an exhausted host
    // as healthy. The source is down and the last good values stay.
    if (r.value === 0 || (bad > 0 && stream.rows === 0)) {
      const problem =
        r.value === 0
          ? "empty, not the kernel's format"
          : `not the kernel's format (${bad} malformed line(s), no socket row; ${builder.takeFirstMalformed() ?? ''})`;
      const detail = errorMessage('AGENT_ERR_PROC_MALFORMED', 'malformed', { path: r.path, problem });
      sources.push({ source, state: 'error', detail, ...(source === 'tcp' ? { code: 'AGENT_ERR_PROC_MALFORMED' as const } : {}) });
      continue;
    }
    if (source === 'tcp') tcpOk = true;
    sources.push(bad > 0 ? { source, state: 'ok', detail: `${bad} malformed line(s) skipped` } : { source, state: 'ok' });
  }
  const table = builder.build();
  if (table.malformedRows > 0) problems.push(...table.malformedSamples);
  const headroom =
    settings !== null && tcpOk ? computeHeadroom(table, settings, { rateWindowSeconds: opts.rateWindowSeconds }) : null;

  const counters = readCounters(buffer, procRoot, sources);

  return {
    takenAtMs: nowMs,
    durationMs: performance.now() - started,
    procRoot,
    sources,
    sysctls,
    settings,
    assumptions,
    headroom,
    counters,
    malformedLines,
    problems,
  };
}

/** Tcp ActiveOpens alone, for a second reading when measuring the connect-attempt rate. */
export function readActiveOpens(procRoot: string): number | null {
  const snmp = readProcText(procRoot, 'net/snmp');
  return snmp.ok ? counter(parseHeaderValuePairs(snmp.value).groups, 'Tcp', 'ActiveOpens') : null;
}
