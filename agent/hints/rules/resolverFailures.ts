/**
 * resolver_failures: nginx could not resolve a name it needed at run time (a
 * `proxy_pass` with variables, `server … resolve`, the stream proxy's names).
 * The request fails before any upstream connection is tried, so these lines are
 * DNS problems, not connect failures (src/core/ngx_resolver.c,
 * ngx_http_upstream_resolve_handler()).
 */
import { CONNECT_FAILURE_KINDS } from '../../errorlog/parse/classify.js';
import { isoSecond } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';

export const resolverFailures: FindingRule = {
  id: 'resolver_failures',
  evaluate({ input }) {
    const log = input.errorLog;
    const resolver = log?.byKind.find((k) => k.kind === 'resolver');
    if (log === undefined || resolver === undefined) return [];
    const connectFailures = log.byKind.filter((k) => CONNECT_FAILURE_KINDS.includes(k.kind)).reduce((sum, k) => sum + k.count, 0);
    // They dominate when they are at least as many as the failed connects: the DNS is then what fails requests.
    const dominant = resolver.count >= connectFailures;
    return [
      {
        id: 'resolver_failures',
        severity: dominant ? 'warning' : 'info',
        summary: `nginx could not resolve upstream names ${resolver.count} times (DNS, not the upstreams or the ports)`,
        evidence: [
          `${resolver.count} × resolver errors between ${isoSecond(resolver.firstMs)} and ${isoSecond(resolver.lastMs)}`,
          connectFailures > 0 ? `${connectFailures} failed upstream connects in the same window` : 'no failed upstream connects in the same window',
          `sample: ${resolver.sample}`,
        ],
        why:
          'A name in proxy_pass with variables, in `server … resolve` or in the stream proxy is resolved at run time by nginx’s own ' +
          'resolver (the `resolver` directive), not by the system’s. Answers are cached for their TTL (or `valid=`); when the cache ' +
          'has none and the resolver does not answer within resolver_timeout (default 30 s), nginx logs "could not be resolved ' +
          '(110: Operation timed out)" and answers 502 without connecting anywhere. "send()/recv() failed (111: Connection ' +
          'refused) while resolving, resolver: ADDR" means nothing listens at the resolver address; "(3: Host not found)" means ' +
          'the name does not exist (NXDOMAIN), a wrong name rather than an unreachable resolver.',
        fix:
          '# Check the resolver nginx uses (the address after "resolver:" in the sample) answers from this host:\n' +
          '#   dig @ADDRESS NAME      (or: nslookup NAME ADDRESS)\n' +
          '# then, in the http {} (or stream {}, or upstream {}) block, name resolvers that do, with a bounded wait:\n' +
          'resolver ADDRESS [ADDRESS2] valid=30s;   # valid= caches answers this long, whatever their TTL\n' +
          'resolver_timeout 5s;                     # default 30 s: each request waits this long for an answer\n' +
          '# https://nginx.org/en/docs/http/ngx_http_core_module.html#resolver',
        effect: null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
