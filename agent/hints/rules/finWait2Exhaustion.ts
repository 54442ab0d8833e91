/**
 * fin_wait2_exhaustion: a destination's ports are held by connections nginx has
 * closed, which the upstream acknowledged but has not closed itself: it is still
 * working on requests nginx gave up on. tcp_fin_timeout bounds such orphans.
 */
import { stateFindings } from '../heldState.js';
import type { FindingRule } from '../rule.js';

/** net.ipv4.tcp_fin_timeout default (ip-sysctl.rst). */
const DEFAULT_FIN_TIMEOUT_S = 60;
const PROPOSED_FIN_TIMEOUT_S = 15;

export const finWait2Exhaustion: FindingRule = {
  id: 'fin_wait2_exhaustion',
  evaluate: (context) => {
    const finTimeout = context.input.sysctls.tcpFinTimeoutSeconds ?? DEFAULT_FIN_TIMEOUT_S;
    const lower = finTimeout > PROPOSED_FIN_TIMEOUT_S;
    return stateFindings(context, {
      id: 'fin_wait2_exhaustion',
      state: 'fin_wait2',
      means: 'nginx closed these connections; the upstream acknowledged but has not closed its side, still busy with requests nginx gave up on',
      errorKinds: ['upstream_timeout_read'],
      evidence: () => [`net.ipv4.tcp_fin_timeout = ${context.input.sysctls.tcpFinTimeoutSeconds ?? `unknown (default ${DEFAULT_FIN_TIMEOUT_S})`} s`],
      why:
        'FIN_WAIT2: nginx has closed the connection (it gave up on the request: the client went away, with proxy_ignore_client_abort off ' +
        'as by default, or proxy_read_timeout passed and nginx answered 504) and the upstream acknowledged the FIN but has not closed its own ' +
        'side: it is still working on the request nginx abandoned, and closes only once it answers. No process holds the socket any more ' +
        '(an orphan); it keeps its port for net.ipv4.tcp_fin_timeout ("the length of time an orphaned (no longer referenced by any ' +
        'application) connection will remain in the FIN_WAIT_2 state before it is aborted", default 60 s: ip-sysctl.rst). With 60 s or ' +
        'less the kernel keeps it as a timewait socket in substate FIN_WAIT2 (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) in net/ipv4/tcp_input.c ' +
        'and tcp.c), which connect() never takes over, even with tcp_tw_reuse (tcp_twsk_unique() in net/ipv4/tcp_ipv4.c).',
      fix: (view) =>
        [
          `# 1. Find why ${view.worst.destination.destination} keeps working on requests nginx has given up on: its requests are slow,`,
          '#    and it does not stop when the connection is closed. nginx gives up when the client does, or at proxy_read_timeout (504).',
          ...(lower
            ? [
                '# 2. Orphans give their ports back sooner. /etc/sysctl.d/60-orphans.conf (per network namespace), then sysctl --system:',
                `net.ipv4.tcp_fin_timeout = ${PROPOSED_FIN_TIMEOUT_S}   # now ${finTimeout} s`,
              ]
            : [`# 2. net.ipv4.tcp_fin_timeout is already ${finTimeout} s: the orphans cannot go much sooner; the upstream must answer or close sooner.`]),
        ].join('\n'),
      effect: ({ worst }) =>
        lower
          ? `Each orphan frees its port after ${PROPOSED_FIN_TIMEOUT_S} s instead of ${finTimeout} s: at the same rate of abandoned requests about ` +
            `${Math.ceil((worst.holding.count * PROPOSED_FIN_TIMEOUT_S) / finTimeout)} FIN_WAIT2 sockets towards ${worst.destination.destination} instead of ${worst.holding.count}.`
          : null,
    });
  },
};
