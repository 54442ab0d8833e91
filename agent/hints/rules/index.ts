/**
 * Every finding rule, one per file, in the order they are evaluated (within a
 * severity and a category the report keeps this order). Adding a rule: a file
 * in this folder, its id in catalogue.ts, a line here and a section in
 * docs/hints.md (a test checks all four agree).
 */
import type { FindingRule } from '../rule.js';
import { closeWaitExhaustion } from './closeWaitExhaustion.js';
import { conntrackNearFull } from './conntrackNearFull.js';
import { connectRateNearLimit } from './connectRateNearLimit.js';
import { establishedExhaustion } from './establishedExhaustion.js';
import { exhaustionConfirmed } from './exhaustionConfirmed.js';
import { exhaustionRecent } from './exhaustionRecent.js';
import { fdLimit } from './fdLimit.js';
import { finWait1Exhaustion } from './finWait1Exhaustion.js';
import { finWait2Exhaustion } from './finWait2Exhaustion.js';
import { headroomCritical } from './headroomCritical.js';
import { headroomExhausted } from './headroomExhausted.js';
import { headroomLow } from './headroomLow.js';
import { keepaliveNeedsHttp11 } from './keepaliveNeedsHttp11.js';
import { keepalivePoolChurn } from './keepalivePoolChurn.js';
import { listenerInRange } from './listenerInRange.js';
import { natEndpointIndependenceConflict } from './natEndpointIndependenceConflict.js';
import { natGatewayShare } from './natGatewayShare.js';
import { natHeldAfterClose } from './natHeldAfterClose.js';
import { natPortsShort } from './natPortsShort.js';
import { natPrivateEndpoint } from './natPrivateEndpoint.js';
import { portRangeNarrow } from './portRangeNarrow.js';
import { portRangeOdd } from './portRangeOdd.js';
import { resolverFailures } from './resolverFailures.js';
import { proxyBindUnavailable } from './proxyBindUnavailable.js';
import { proxyPassNoPool } from './proxyPassNoPool.js';
import { singleDestinationIp } from './singleDestinationIp.js';
import { synSentExhaustion } from './synSentExhaustion.js';
import { timestampsOff } from './timestampsOff.js';
import { timeWaitDraining } from './timeWaitDraining.js';
import { timeWaitOverflow } from './timeWaitOverflow.js';
import { timeWaitReuseOff } from './timeWaitReuseOff.js';
import { upstreamNoKeepalive } from './upstreamNoKeepalive.js';
import { upstreamNoLiveServers } from './upstreamNoLiveServers.js';
import { workerConnectionsExhausted } from './workerConnectionsExhausted.js';

export const RULES: readonly FindingRule[] = [
  // From the sockets and the kernel's settings.
  headroomExhausted,
  headroomCritical,
  headroomLow,
  connectRateNearLimit,
  portRangeNarrow,
  listenerInRange,
  timeWaitReuseOff,
  timestampsOff,
  portRangeOdd,
  timeWaitOverflow,
  conntrackNearFull,
  // From nginx's configuration.
  upstreamNoKeepalive,
  keepaliveNeedsHttp11,
  timeWaitDraining,
  keepalivePoolChurn,
  proxyPassNoPool,
  // What holds the ports besides TIME_WAIT: one rule per state (hints/heldState.ts).
  establishedExhaustion,
  synSentExhaustion,
  finWait1Exhaustion,
  finWait2Exhaustion,
  closeWaitExhaustion,
  singleDestinationIp,
  // From nginx's error log.
  exhaustionConfirmed,
  exhaustionRecent,
  upstreamNoLiveServers,
  fdLimit,
  workerConnectionsExhausted,
  proxyBindUnavailable,
  resolverFailures,
  // From the NATs in front of the host (config nat): the NAT's limit beside the kernel's.
  natPortsShort,
  natGatewayShare,
  natHeldAfterClose,
  natPrivateEndpoint,
  natEndpointIndependenceConflict,
];
