/** Kernel counters and sysctls for hint-engine tests built from synthetic socket rows. */
import type { KernelSettings } from '../../agent/sockets/model/headroom.js';
import type { HostCounters, SysctlValues } from '../../agent/sockets/sample.js';

/** A host whose counters say nothing: no overflow, no conntrack. */
export const QUIET_COUNTERS: HostCounters = {
  activeOpens: 0,
  passiveOpens: 0,
  attemptFails: 0,
  timeWaitOverflow: 0,
  tcpInUse: 0,
  tcpOrphan: 0,
  tcpTimeWait: 0,
  tcp6InUse: 0,
  conntrackCount: null,
  conntrackMax: null,
};

/** The sysctls as /proc would show them for these settings. */
export function sysctlsFor(s: KernelSettings): SysctlValues {
  return {
    ipLocalPortRange: s.portRange,
    ipLocalReservedPorts: [...s.reservedPorts],
    tcpTwReuse: s.tcpTwReuse,
    tcpTwReuseDelayMs: s.tcpTwReuseDelayMs,
    tcpTimestamps: s.tcpTimestamps,
    tcpFinTimeoutSeconds: 60,
    tcpMaxTwBuckets: 262144,
  };
}
