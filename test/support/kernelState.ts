/** Kernel counters and sysctls for hint-engine tests built from synthetic socket rows. */
import type { FindingInput, HostContext } from '../../agent/hints/findings.js';
import { computeHeadroom, type KernelSettings } from '../../agent/sockets/model/headroom.js';
import { SocketTableBuilder } from '../../agent/sockets/model/socketTable.js';
import { scanProcNetTcp } from '../../agent/sockets/parse/procNetTcp.js';
import type { HostCounters, SysctlValues } from '../../agent/sockets/model/types.js';
import { tcp4, type Row } from './procText.js';
import type { NatConfig } from '../../agent/core/natProfiles.js';
import { computeNat, natTimeWaitThresholdsMs } from '../../agent/nat/model/nat.js';

/** The host the rules are told about: two CPUs, a fixed now, UTC. */
export const TEST_HOST: HostContext = { cpuCount: 2, nowMs: Date.UTC(2026, 10, 21, 10, 0, 0), timeZone: 'UTC' };

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

/**
 * The hint engine's input for synthetic /proc/net/tcp rows under these settings:
 * a quiet host, default thresholds, a 60 s rate window.
 */
export function findingInput(rows: readonly Row[], settings: KernelSettings, extra: Partial<FindingInput> = {}): FindingInput {
  const b = new SocketTableBuilder(settings.portRange);
  const bytes = new TextEncoder().encode(tcp4(rows));
  scanProcNetTcp(bytes, bytes.length, 4, 'LE', b);
  return {
    headroom: computeHeadroom(b.build(), settings, { rateWindowSeconds: 60 }),
    settings,
    sysctls: sysctlsFor(settings),
    counters: QUIET_COUNTERS,
    thresholds: { warningHeadroomRatio: 0.2, criticalHeadroomRatio: 0.05 },
    host: TEST_HOST,
    ...extra,
  };
}

/**
 * The same with NATs in front of the host: the sample counts TIME_WAIT under the
 * NATs' timers as the daemon's would, and the NAT model goes in beside it.
 */
export function natFindingInput(rows: readonly Row[], settings: KernelSettings, nats: readonly NatConfig[], extra: Partial<FindingInput> = {}): FindingInput {
  const b = new SocketTableBuilder(settings.portRange);
  const bytes = new TextEncoder().encode(tcp4(rows));
  scanProcNetTcp(bytes, bytes.length, 4, 'LE', b);
  const thresholds = natTimeWaitThresholdsMs(nats);
  const headroom = computeHeadroom(b.build(), settings, { rateWindowSeconds: 60, timeWaitAgeThresholdsMs: thresholds });
  return { ...findingInput([], settings), headroom, nat: computeNat(nats, headroom, thresholds), ...extra };
}
