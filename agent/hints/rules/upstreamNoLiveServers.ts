/**
 * upstream_no_live_servers: nginx answered "no live upstreams": every server of
 * a group had reached max_fails and is skipped for fail_timeout
 * (ngx_http_upstream_round_robin.c), so requests fail at once with 502.
 */
import { isoSecond } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';

export const upstreamNoLiveServers: FindingRule = {
  id: 'upstream_no_live_servers',
  evaluate({ input }) {
    const log = input.errorLog;
    const noLive = log?.byKind.find((k) => k.kind === 'no_live_upstreams');
    if (log === undefined || noLive === undefined) return [];
    const connectFailures = log.byKind.filter((k) => k.kind === 'eaddrnotavail' || k.kind === 'econnrefused' || k.kind === 'etimedout_connect');
    return [
      {
        id: 'upstream_no_live_servers',
        severity: 'warning',
        summary: `nginx answered "no live upstreams" ${noLive.count} times: every server of a group was marked failed`,
        evidence: [
          `${noLive.count} × "no live upstreams" between ${isoSecond(noLive.firstMs)} and ${isoSecond(noLive.lastMs)}`,
          ...connectFailures.map((k) => `${k.count} × ${k.kind} connect failures in the same window`),
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
        upstreams: [],
      },
    ];
  },
};
