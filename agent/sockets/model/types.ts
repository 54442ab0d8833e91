/**
 * What one socket sample holds: the sources read, the sysctls, the headroom model
 * and the host-wide counters. Pure types, shared by the sampler (which fills
 * them), the hint engine and the exporters.
 */
import type { ErrorCode } from '../../errors.js';
import type { HeadroomModel, KernelSettings } from './headroom.js';
import type { PortRange, PortSpan } from '../parse/sysctl.js';

export const SOURCES = ['tcp', 'tcp6', 'sysctl', 'snmp', 'netstat', 'sockstat', 'conntrack'] as const;
export type SourceName = (typeof SOURCES)[number];

export interface SourceStatus {
  source: SourceName;
  /** ok: read and parsed; unavailable: an optional file is absent on this kernel; error: it failed. */
  state: 'ok' | 'unavailable' | 'error';
  detail?: string;
  /**
   * For a required source that failed: AGENT_ERR_PROC_UNREADABLE or AGENT_ERR_PROC_MALFORMED;
   * for any source whose collector threw: AGENT_ERR_COLLECTOR_FAILED.
   */
  code?: ErrorCode;
}

/** The sysctl values as read, null where a file was absent or unreadable. */
export interface SysctlValues {
  ipLocalPortRange: PortRange | null;
  ipLocalReservedPorts: PortSpan[] | null;
  tcpTwReuse: number | null;
  tcpTwReuseDelayMs: number | null;
  tcpTimestamps: number | null;
  tcpFinTimeoutSeconds: number | null;
  tcpMaxTwBuckets: number | null;
}

export interface HostCounters {
  /** Tcp ActiveOpens in /proc/net/snmp: connect() calls that sent a SYN. */
  activeOpens: number | null;
  passiveOpens: number | null;
  /** Tcp AttemptFails: connection attempts that failed. */
  attemptFails: number | null;
  /** TcpExt TCPTimeWaitOverflow in /proc/net/netstat: TIME_WAIT sockets not created because of tcp_max_tw_buckets. */
  timeWaitOverflow: number | null;
  /** sockstat TCP inuse / orphan / tw / alloc. */
  tcpInUse: number | null;
  tcpOrphan: number | null;
  tcpTimeWait: number | null;
  tcp6InUse: number | null;
  conntrackCount: number | null;
  conntrackMax: number | null;
}

export interface SocketSample {
  takenAtMs: number;
  durationMs: number;
  procRoot: string;
  sources: SourceStatus[];
  sysctls: SysctlValues;
  /** The settings the model used, with kernel defaults filled in for absent values. */
  settings: KernelSettings | null;
  /** What was assumed because a value could not be read. */
  assumptions: string[];
  headroom: HeadroomModel | null;
  counters: HostCounters;
  /** Lines of each socket table skipped because they did not parse. */
  malformedLines: { tcp: number; tcp6: number };
  /** Non-fatal problems: malformed lines skipped, counters missing. */
  problems: string[];
}

