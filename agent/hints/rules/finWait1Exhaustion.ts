/**
 * fin_wait1_exhaustion: a destination's ports are held by connections nginx has
 * closed and the upstream has not acknowledged. nginx gave up (the client went
 * away, or a proxy timeout passed) while the upstream was not reading, or no
 * longer answered; the orphaned socket keeps its port until the kernel gives up.
 */
import { inUpstream, stateFindings } from '../heldState.js';
import type { FindingRule } from '../rule.js';

/** tcp_orphan_retries() in net/ipv4/tcp_timer.c: 0 (the default) means 8 for a socket that is still alive. */
const DEFAULT_ORPHAN_RETRIES = 8;
const PROPOSED_ORPHAN_RETRIES = 3;
/** Seconds of exponential back-off over n retries from the minimum RTO, 200 ms (tcp_model_timeout()): 0.2 × (2^(n+1) − 1). */
const backoffSeconds = (n: number): number => 0.2 * (2 ** (n + 1) - 1);

export const finWait1Exhaustion: FindingRule = {
  id: 'fin_wait1_exhaustion',
  evaluate: (context) =>
    stateFindings(context, {
      id: 'fin_wait1_exhaustion',
      state: 'fin_wait1',
      means: 'nginx closed these connections and the upstream has not acknowledged: it is not reading, or no longer answers',
      errorKinds: ['upstream_timeout_read'],
      why:
        'FIN_WAIT1: nginx has closed the connection (it gave up on the request: the client went away, with proxy_ignore_client_abort off ' +
        'as by default, or proxy_read_timeout or proxy_send_timeout passed) and the upstream has not acknowledged nginx\'s FIN. Either its ' +
        'receive window is full because it does not read what nginx sent (the request, a request body), so the unsent data and the FIN ' +
        'wait behind it while the kernel probes the zero window; or its host no longer answers, or the connection never reached its ' +
        'application (its listen queue overflowed after the handshake), so the FIN is retransmitted. No process holds the socket any more ' +
        '(an orphan) and it keeps its port until the kernel gives up: after net.ipv4.tcp_orphan_retries retransmissions or window probes ' +
        `(0, the default, means ${DEFAULT_ORPHAN_RETRIES}: over ${Math.floor(backoffSeconds(DEFAULT_ORPHAN_RETRIES))} s at the minimum 200 ms RTO; tcp_orphan_retries(), ` +
        'tcp_write_timeout() and tcp_probe_timer() in net/ipv4/tcp_timer.c), or at once when orphans exceed net.ipv4.tcp_max_orphans or ' +
        'TCP memory runs short (tcp_out_of_resources(): "too many orphaned sockets").',
      fix: (view) =>
        [
          `# 1. Find why ${view.worst.destination.destination} stops reading: it is overloaded or stuck (on its host: ss -tn state close-wait,`,
          '#    its listen queue, its CPU). nginx gives up on a request when the client does, or at proxy_read_timeout / proxy_send_timeout.',
          '# 2. Orphans give their ports back sooner. /etc/sysctl.d/60-orphans.conf (per network namespace), then sysctl --system:',
          `net.ipv4.tcp_orphan_retries = ${PROPOSED_ORPHAN_RETRIES}   # 0 (default) means ${DEFAULT_ORPHAN_RETRIES}: over ${Math.floor(backoffSeconds(DEFAULT_ORPHAN_RETRIES))} s of retries`,
          '#    Do not lower net.ipv4.tcp_max_orphans: ip-sysctl.rst keeps it as a guard against DoS attacks, not a knob to tune down.',
          '# 3. Fewer requests at once to a server that cannot keep up: cap them on its server line with max_conns=N (N: what it',
          '#    can take at once, per nginx worker without a zone), and add servers:',
          ...inUpstream(view, (server) => `${server};`).map((l) => `#   ${l.replace(/^# /, '')}`),
        ].join('\n'),
      effect: ({ worst }) =>
        `An orphan in FIN_WAIT1 gives up after about ${Math.ceil(backoffSeconds(PROPOSED_ORPHAN_RETRIES))} s of retries instead of over ` +
        `${Math.floor(backoffSeconds(DEFAULT_ORPHAN_RETRIES))} s (at the minimum RTO): at the same rate of abandoned requests about ` +
        `${Math.ceil((worst.holding.count * backoffSeconds(PROPOSED_ORPHAN_RETRIES)) / backoffSeconds(DEFAULT_ORPHAN_RETRIES))} FIN_WAIT1 sockets towards ` +
        `${worst.destination.destination} instead of ${worst.holding.count}.`,
    }),
};
