/**
 * proxy_bind_unavailable: nginx logged `bind(ADDR) failed (99: Cannot assign
 * requested address)`: the source address proxy_bind names is not an address of
 * this host (ngx_event_connect_peer() binds the upstream socket to it before
 * connect()). Every connection through it fails at once: a misconfiguration,
 * not port exhaustion, and no sysctl or keepalive changes it.
 */
import type { ProxyPass } from '../../nginxconf/model/types.js';
import { isoSecond } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';
import { MAX_LISTED } from '../types.js';

/** The proxy_bind address a configured value binds to: its first word, unless it is a variable. */
function boundAddress(bind: string): string | null {
  const first = bind.split(/\s+/, 1)[0] ?? '';
  return first.includes('$') ? null : first;
}

/** Where the config sets a proxy_bind that may bind to `address`: the literal address, or a variable whose values include it. */
function bindsOf(address: string, passes: readonly ProxyPass[], variables: ReadonlyMap<string, readonly string[]>): ProxyPass[] {
  return passes.filter((p) => {
    if (p.bind === null) return false;
    const literal = boundAddress(p.bind);
    if (literal !== null) return literal === address;
    const values = variables.get(p.bind.split(/\s+/, 1)[0] ?? '') ?? [];
    return values.includes(address);
  });
}

export const proxyBindUnavailable: FindingRule = {
  id: 'proxy_bind_unavailable',
  evaluate({ input }) {
    const log = input.errorLog;
    const kind = log?.byKind.find((k) => k.kind === 'proxy_bind_unavailable');
    if (log === undefined || kind === undefined) return [];
    const addresses = Object.entries(log.byBindAddress)
      .filter(([, kinds]) => (kinds.proxy_bind_unavailable ?? 0) > 0)
      .map(([address, kinds]) => ({ address, count: kinds.proxy_bind_unavailable ?? 0 }));
    const config = input.nginx?.config ?? null;
    const variables = new Map<string, string[]>([
      ...(config?.splitClients ?? []).map((s) => [s.variable, s.values] as [string, string[]]),
      ...(config?.maps ?? []).map((m) => [m.variable, m.values] as [string, string[]]),
    ]);
    const where = addresses.flatMap(({ address }) =>
      config === null ? [] : bindsOf(address, config.proxyPasses, variables).map((p) => ({ address, pass: p })),
    );
    const at = (p: ProxyPass): string => (p.bindAt != null ? `${p.bindAt.file}:${p.bindAt.line}` : `${p.at.file}:${p.at.line}`);
    const named = addresses.map((a) => a.address);
    return [
      {
        id: 'proxy_bind_unavailable',
        severity: 'warning',
        summary: `proxy_bind names ${named.length === 1 ? `${named[0]!}, an address` : 'addresses'} this host does not have: every connection through it fails (not port exhaustion)`,
        evidence: [
          `${kind.count} × "bind(${named[0] ?? 'ADDR'}) failed (99: Cannot assign requested address)" between ${isoSecond(kind.firstMs)} and ${isoSecond(kind.lastMs)}`,
          ...addresses.slice(0, MAX_LISTED).map((a) => `bind(${a.address}): ${a.count} failed connects`),
          ...(config === null
            ? [input.nginx?.configNote ?? 'nginx config not read: the proxy_bind lines are not located']
            : where.length === 0
              ? ['no proxy_bind in the config read names these addresses (a variable whose values are not known here?)']
              : where.slice(0, MAX_LISTED).map(({ address, pass }) => `proxy_bind ${pass.bind ?? ''} at ${at(pass)} (${pass.context}) binds to ${address}`)),
          `sample: ${kind.sample}`,
        ],
        why:
          'nginx binds each upstream socket to the proxy_bind address before connecting (ngx_event_connect_peer() in ' +
          'ngx_event_connect.c); bind() returns EADDRNOTAVAIL when no interface of this host (of this network namespace) has the ' +
          'address. nginx then tries the next server or answers 502. No port is short: keepalive and sysctls will not help.',
        fix:
          `# Either give the host the address (and make it persistent in its network configuration):\n` +
          `ip addr add ${named[0] ?? 'ADDRESS'}/32 dev IFACE\n` +
          `# or bind to an address the host has (ip -br addr), at ${where.length > 0 ? where.slice(0, MAX_LISTED).map(({ pass }) => at(pass)).join(', ') : 'each proxy_bind line'}:\n` +
          `proxy_bind LOCAL_ADDRESS;\n` +
          `# or, to send from a non-local address on purpose (IP transparency), add "transparent": the workers need CAP_NET_RAW\n` +
          `# (nginx keeps it for them since 1.13.8 when started as root) and the routing must bring the replies back to this host:\n` +
          `proxy_bind ${named[0] ?? 'ADDRESS'} transparent;\n` +
          '# https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_bind',
        effect: null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
