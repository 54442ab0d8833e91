/**
 * upstream_no_live_servers: nginx answered "no live upstreams": every server of
 * a group had reached max_fails and is skipped for fail_timeout
 * (ngx_http_upstream_round_robin.c), so requests fail at once with 502.
 */
import { CONNECT_FAILURE_KINDS, type ErrorKind } from '../../errorlog/parse/classify.js';
import { isoSecond } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';

export const upstreamNoLiveServers: FindingRule = {
  id: 'upstream_no_live_servers',
  evaluate({ input }) {
    const log = input.errorLog;
    const noLive = log?.byKind.find((k) => k.kind === 'no_live_upstreams');
    if (log === undefined || noLive === undefined) return [];
    // What counts towards max_fails (proxy_next_upstream error/timeout): failed connects and TLS handshakes. Resolver
    // failures do not: they happen before a server is chosen.
    const failures: readonly ErrorKind[] = [...CONNECT_FAILURE_KINDS, 'upstream_tls_failed', 'upstream_tls_timeout'];
    const connectFailures = log.byKind.filter((k) => failures.includes(k.kind));
    const groups = Object.entries(log.byUpstreamGroup).sort((a, b) => b[1] - a[1]);
    return [
      {
        id: 'upstream_no_live_servers',
        severity: 'warning',
        summary: `nginx answered "no live upstreams" ${noLive.count} times: every server of ${groups.length === 1 ? `upstream ${groups[0]![0]}` : 'a group'} was marked failed`,
        evidence: [
          `${noLive.count} × "no live upstreams" between ${isoSecond(noLive.firstMs)} and ${isoSecond(noLive.lastMs)}`,
          ...groups.slice(0, 5).map(([group, n]) => `upstream ${group}: ${n} × "no live upstreams"`),
          ...connectFailures.map((k) => `${k.count} × ${k.kind} failures in the same window`),
          `sample: ${noLive.sample}`,
        ],
        why:
          "A failed connect() (EADDRNOTAVAIL included) counts towards a server's max_fails (default 1); once it is reached nginx " +
          'skips the server for fail_timeout (default 10 s). With every server of a group skipped, requests fail at once with 502 ' +
          '"no live upstreams", even after the ports are back, until fail_timeout has passed.',
        fix:
          connectFailures.length > 0
            ? 'Remove the cause of the connect failures (the other findings name it); the 502s stop fail_timeout after the last failure.'
            : "Find why connects to the group fail (the upstream servers' health); the 502s stop fail_timeout after the last failure.",
        effect: null,
        destinations: [],
        upstreams: groups.map(([group]) => group),
      },
    ];
  },
};
