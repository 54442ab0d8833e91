/**
 * close_wait_exhaustion: a destination's ports are held by connections the
 * upstream has closed and nginx has not. The kernel never times CLOSE_WAIT out:
 * the port is free only when nginx closes the socket, and nginx does not while it
 * is not reading from it (proxy_buffering off and a slow client).
 */
import { inLocations, stateFindings } from '../heldState.js';
import type { FindingRule } from '../rule.js';

export const closeWaitExhaustion: FindingRule = {
  id: 'close_wait_exhaustion',
  evaluate: (context) =>
    stateFindings(context, {
      id: 'close_wait_exhaustion',
      state: 'close_wait',
      means: 'the upstream closed these connections and nginx has not: it is not reading them (unbuffered responses to slow clients)',
      errorKinds: [],
      why:
        'CLOSE_WAIT: the upstream has closed its side (its FIN arrived) and nginx has not closed its socket yet. The kernel never times ' +
        'this state out: the port stays taken until nginx calls close(). nginx leaves an upstream connection in CLOSE_WAIT while it does not ' +
        'read from it: with proxy_buffering off (or an upstream that sends "X-Accel-Buffering: no", or proxy_max_temp_file_size 0 once the ' +
        'proxy_buffers are full) nginx reads the response only as fast as the client takes it (ngx_http_upstream_process_non_buffered_request() ' +
        'in ngx_http_upstream.c reads from the upstream only when its buffer has room), so a slow client keeps the upstream socket, with the ' +
        'rest of the response and the FIN in its receive queue, until it has read everything or send_timeout (default 60 s) passes without ' +
        'progress. With buffering on, nginx reads the whole response into its buffers and temporary files and closes the upstream connection ' +
        'at once. (CLOSE_WAIT that lasts for hours on idle connections is a socket leak in whatever process holds it.)',
      fix: (view) =>
        [
          '# In each location that proxies here and turns buffering off (or whose upstream sends "X-Accel-Buffering: no"):',
          ...inLocations(view, [
            'proxy_buffering on;                       # the default: read the whole response, close the upstream connection, feed the client from the buffers',
            'proxy_ignore_headers X-Accel-Buffering;   # if the upstream asks for unbuffered responses',
          ]),
          '# Keep buffering off only where responses must stream (server-sent events, long polling); there, cap slow clients with',
          '# send_timeout 10s; (default 60s). Responses larger than the buffers need proxy_max_temp_file_size above 0 (default 1024m).',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
      effect: ({ worst }) =>
        `nginx closes each upstream connection as soon as it has read the response instead of after the client has it: the ${worst.holding.count} ` +
        `CLOSE_WAIT sockets towards ${worst.destination.destination} stop holding ports once the clients of the moment are served.`,
    }),
};
