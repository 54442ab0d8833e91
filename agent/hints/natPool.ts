/**
 * Cutting the churn towards a NAT destination: the same pool logic as the
 * config-aware findings (nginxPool.ts). When one of those findings already
 * covers the destination (its kernel headroom is short too), the NAT finding
 * points at it; otherwise it gives the lines for the group or proxy_pass that
 * reaches the destination, or a template without nginx's config. Pure.
 */
import type { NginxRuleContext, RuleContext } from './context.js';
import type { NatDestinationContext } from './natContext.js';
import { atLeast, editedUpstreamBlock, KEEPALIVE_DEFAULTS_SINCE, keepaliveLine, keepaliveRequestsOf, locationsOf, missingPoolLines, newUpstreamBlock, niceCeil, passContext, poolOf, suggestedPool, where } from './nginxPool.js';

export interface PoolAdvice {
  /** The change (lines to paste, or a pointer at the finding that has them). */
  fix: string;
  /** Requests per pooled connection once the change is in (keepalive_requests): what divides the connect rate. */
  requestsPerConnection: number;
}

/** The config-aware pool findings this destination already has, as "id (group)". */
function pointers(nginx: NginxRuleContext, destination: string): string[] {
  const groups = nginx.churningGroups
    .filter((g) => g.verdict !== 'time_wait_draining' && g.destinations.some((c) => c.destination.destination === destination))
    .map((g) => `${g.verdict} (${g.name})`);
  const direct = [...nginx.churningDirect].filter(([, cs]) => cs.some((c) => c.destination.destination === destination)).map(([p]) => `proxy_pass_no_pool (${p.target})`);
  return [...new Set([...groups, ...direct])];
}

/** The lines for the http upstream group that reaches the destination, with what its locations lack. */
function groupAdvice(nginx: NginxRuleContext, name: string, open: number): PoolAdvice | null {
  const { config, evidence, workers } = nginx;
  const group = config.upstreams.find((u) => u.name === name && (u.module ?? 'http') === 'http');
  if (group === undefined) return null;
  const pool = poolOf(group, evidence.version);
  const locations = locationsOf(config, name).map((pass) => ({ pass, missing: missingPoolLines(pass, evidence.version, config.maps) }));
  const passLines = locations.filter(({ missing }) => missing.lines.length > 0).flatMap(({ pass, missing }) => passContext(pass, missing.lines));
  const mapLines = locations.flatMap(({ missing }) => missing.mapFixes);
  const requests = keepaliveRequestsOf(group, evidence.version);
  let block: string[];
  let perConnection = requests.count;
  if (pool.size === null) {
    // The group's block as written, with the keepalive line this version needs (none where its default is the size).
    block = editedUpstreamBlock(group, [['keepalive', keepaliveLine(suggestedPool(open, workers.count, null), evidence.version, 'idle connections kept per worker')]]);
  } else if (passLines.length > 0 || mapLines.length > 0) {
    block = [];
  } else {
    // The pool works: what is left is the churn keepalive_requests causes.
    perConnection = niceCeil(Math.max(10_000, requests.count * 10));
    block = editedUpstreamBlock(group, [['keepalive_requests', `keepalive_requests ${perConnection};   # was ${requests.count}`]]);
  }
  const lines = [...(block.length > 0 ? [`# ${where(group.at)}`, ...block] : []), ...(passLines.length > 0 ? ['', ...passLines] : []), ...mapLines];
  return { fix: [...lines, '', '# then: nginx -t && nginx -s reload'].join('\n'), requestsPerConnection: perConnection };
}

/** How to cut the connections nginx opens to this NAT destination. */
export function poolAdvice(context: RuleContext, c: NatDestinationContext): PoolAdvice {
  const dest = c.destination.destination;
  const nginx = context.nginx;
  if (nginx !== null) {
    const seen = pointers(nginx, dest);
    if (seen.length > 0) return { fix: `See ${seen.join(', ')} above: that change reuses nginx's connections to ${dest}.`, requestsPerConnection: 1000 };
    const route = nginx.evidence.routes.get(dest);
    for (const name of route?.upstreams ?? []) {
      const advice = groupAdvice(nginx, name, c.destination.open);
      if (advice !== null) return advice;
    }
    const direct = route?.direct.find((p) => (p.module ?? 'http') === 'http');
    if (direct !== undefined) {
      const since = atLeast(nginx.evidence.version, KEEPALIVE_DEFAULTS_SINCE);
      const modern = since === true;
      const versionKnown = since !== null;
      return {
        fix: [
          `# ${where(direct.at)}, ${direct.context}: proxy_pass ${direct.target} names the server directly, so it has no pool. Give it an upstream block:`,
          // From 1.29.7 an upstream block keeps 32 idle connections per worker and speaks HTTP/1.1 by default.
          ...newUpstreamBlock('backend_nat', [`server ${dest};`], modern ? [] : ['keepalive 32;']),
          modern
            ? '#   and proxy_pass to http://backend_nat'
            : versionKnown
              ? '#   and proxy_pass to http://backend_nat, with proxy_http_version 1.1; and proxy_set_header Connection "";'
              : '#   and proxy_pass to http://backend_nat (with proxy_http_version 1.1; proxy_set_header Connection ""; before nginx 1.29.7)',
        ].join('\n'),
        requestsPerConnection: 1000,
      };
    }
  }
  return {
    fix: [
      `(${context.configNote ?? `nginx's config does not reach ${dest}`}: a template, not checked against nginx's config.)`,
      `  upstream <name> { server ${dest}; keepalive 32; }`,
      '  location … { proxy_pass http://<name>; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    ].join('\n'),
    requestsPerConnection: 1000,
  };
}
