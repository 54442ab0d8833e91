/**
 * syn_sent_exhaustion: a destination's ports are held by connection attempts
 * that get no answer. connect() sent a SYN and no SYN-ACK came back (a refusal,
 * an RST, would free the port at once): the upstream is down or unreachable
 * without an ICMP error, a firewall drops the SYNs, or its listen queue is full.
 */
import { stateFindings, inLocations, inUpstream } from '../heldState.js';
import type { FindingRule } from '../rule.js';

/** nginx's default proxy_connect_timeout (ngx_http_proxy_module), in seconds. */
const DEFAULT_CONNECT_TIMEOUT_S = 60;
/** What the fix proposes: the SYN is retransmitted after 1 s and 3 s (TCP_TIMEOUT_INIT, doubling), so 3 s still covers one retransmission. */
const PROPOSED_CONNECT_TIMEOUT_S = 3;

export const synSentExhaustion: FindingRule = {
  id: 'syn_sent_exhaustion',
  evaluate: (context) =>
    stateFindings(context, {
      id: 'syn_sent_exhaustion',
      state: 'syn_sent',
      means: 'nginx\'s connection attempts get no answer (no SYN-ACK): the upstream is down, unreachable, or its SYNs are dropped',
      errorKinds: ['etimedout_connect', 'no_live_upstreams'],
      why:
        'SYN_SENT: connect() sent a SYN and no SYN-ACK has come back. The socket holds its port until the handshake completes, ' +
        `nginx gives up after proxy_connect_timeout (default ${DEFAULT_CONNECT_TIMEOUT_S} s, and "cannot usually exceed 75 seconds": ngx_http_proxy_module), ` +
        'or the kernel stops retransmitting the SYN after net.ipv4.tcp_syn_retries (default 6, about 127 s: tcp_write_timeout() in ' +
        'net/ipv4/tcp_timer.c). A SYN goes unanswered when the upstream host is down or unreachable and no ICMP error comes back, when a ' +
        'firewall drops it, or when the upstream\'s listen queue is full and it drops SYNs (the backlog of listen(), net.core.somaxconn, ' +
        'tcp_max_syn_backlog); a refusal (RST) would free the port at once. Every request that tries meanwhile takes another port, and ' +
        'with a single server in the group nginx ignores max_fails and keeps trying it ("If there is only a single server in a group, ' +
        'max_fails, fail_timeout and slow_start parameters are ignored": ngx_http_upstream_module).',
      fix: (view) => {
        const d = view.worst.destination;
        return [
          `# 1. Find out why ${d.destination} does not answer. From this host: ss -tn state syn-sent dst ${d.destination}`,
          `#    On the upstream: is it listening, and is its listen queue full (ss -ltn 'sport = :${d.destinationPort}': Recv-Q at Send-Q;`,
          '#    nstat -az TcpExtListenOverflows TcpExtListenDrops)? Does a firewall or a route drop the SYNs?',
          `# 2. Give up sooner, so each attempt holds its port for seconds, not ${DEFAULT_CONNECT_TIMEOUT_S} s:`,
          ...inLocations(view, [`proxy_connect_timeout ${PROPOSED_CONNECT_TIMEOUT_S}s;   # default ${DEFAULT_CONNECT_TIMEOUT_S}s; the SYN is sent again after 1 s and 3 s`]),
          '# 3. With two or more servers, take a silent one out of rotation after a few failed attempts (a single server is always tried):',
          ...inUpstream(view, (server) => `${server} max_fails=3 fail_timeout=30s;`),
          '# then: nginx -t && nginx -s reload',
        ].join('\n');
      },
      effect: ({ worst }) =>
        `With proxy_connect_timeout ${PROPOSED_CONNECT_TIMEOUT_S}s instead of the default ${DEFAULT_CONNECT_TIMEOUT_S}s, an attempt to a silent upstream holds its port ` +
        `${DEFAULT_CONNECT_TIMEOUT_S / PROPOSED_CONNECT_TIMEOUT_S} times less long: at the same request rate about ` +
        `${Math.ceil((worst.holding.count * PROPOSED_CONNECT_TIMEOUT_S) / DEFAULT_CONNECT_TIMEOUT_S)} SYN_SENT sockets towards ${worst.destination.destination} instead of ${worst.holding.count}.`,
    }),
};
