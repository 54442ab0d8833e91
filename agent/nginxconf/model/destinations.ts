/**
 * Which part of the nginx configuration sends connections to a destination
 * (`ip:port`, as the headroom model prints it). Pure: the model, the
 * destinations and the host names already resolved in, matches out.
 *
 * A destination belongs to an upstream group when one of the group's servers is
 * that address, written as a literal or as a host name that resolves to it (nginx
 * resolves `server` host names at start-up and connects to every address); to a
 * proxy_pass that names the address itself the same way; otherwise it is
 * unmapped (a destination nginx does not proxy to, an address behind a variable,
 * or a host name whose resolution changed or failed).
 *
 * Destinations use the socket model's text form (agent/core/addresses.ts
 * formatEndpoint): `10.0.0.5:8080`, `[2001:db8::5]:443`, IPv4-mapped IPv6 peers
 * already shown as IPv4. Addresses from the configuration and from DNS are put in
 * the same form before they are compared.
 */
import { canonicalIp, parseEndpoint } from './endpoints.js';
import type { NginxConfigModel, ProxyPass, UpstreamGroup, UpstreamServer } from './types.js';

/** How a configured address was matched to the destination. */
export type MatchedVia = 'address' | 'dns';

export interface UpstreamMatch {
  group: UpstreamGroup;
  /** The group's servers that are this destination. */
  servers: { server: UpstreamServer; via: MatchedVia }[];
  /** proxy_pass entries that send to the group: by name, or through a variable that may name it. */
  proxyPasses: ProxyPass[];
}

export interface DirectMatch {
  /** A proxy_pass to an address or host name, with no group: nginx keeps no connection pool for it. */
  proxyPass: ProxyPass;
  via: MatchedVia;
}

export interface DestinationMapping {
  /** The destination as given. */
  destination: string;
  /** Its IP and port, or null when the text is not `ip:port` / `[v6]:port`. */
  ip: string | null;
  port: number | null;
  upstreams: UpstreamMatch[];
  direct: DirectMatch[];
  /** True when nothing in the configuration points at this destination. */
  unmapped: boolean;
}

/** `ip:port` or `[v6]:port` → canonical IP and port, or null. */
export function parseDestination(destination: string): { ip: string; port: number } | null {
  const ep = parseEndpoint(destination);
  if ('error' in ep || ep.kind !== 'inet' || ep.port === null) return null;
  const ip = canonicalIp(ep.host);
  return ip === null ? null : { ip, port: ep.port };
}

/** Host names in upstream servers and proxy_pass targets that are not IP literals: what to resolve before mapping. */
export function hostsToResolve(model: NginxConfigModel): string[] {
  const names = new Set<string>();
  const add = (host: string | null): void => {
    if (host !== null && canonicalIp(host) === null) names.add(host.toLowerCase());
  };
  // A service= server names an SRV record set, not an address: its name has no A record to compare.
  for (const g of model.upstreams) for (const s of g.servers) if (s.service == null) add(s.host);
  for (const p of model.proxyPasses) add(p.host);
  return [...names].sort();
}

/**
 * For each destination, the groups and direct proxy_pass entries that connect
 * to it. `resolved` maps host names (any case) to the IPs they resolved to.
 * The configuration is indexed once by (IP, port), so the cost is one pass over
 * the model plus one lookup per destination.
 */
export function mapDestinations(
  destinations: readonly string[],
  model: NginxConfigModel,
  resolved: ReadonlyMap<string, readonly string[]>,
): DestinationMapping[] {
  const dns = new Map<string, Set<string>>();
  for (const [host, ips] of resolved) {
    const key = host.toLowerCase();
    const set = dns.get(key) ?? new Set<string>();
    for (const ip of ips) {
      const c = canonicalIp(ip);
      if (c !== null) set.add(c);
    }
    dns.set(key, set);
  }
  /** The IPs a configured host stands for, and how they were found. */
  const addressesOf = (host: string | null): { ips: Iterable<string>; via: MatchedVia } | null => {
    if (host === null) return null;
    const literal = canonicalIp(host);
    if (literal !== null) return { ips: [literal], via: 'address' };
    const ips = dns.get(host.toLowerCase());
    return ips === undefined ? null : { ips, via: 'dns' };
  };

  const passesByGroup = new Map<string, ProxyPass[]>();
  for (const p of model.proxyPasses) {
    const names = new Set([...(p.upstream === null ? [] : [p.upstream]), ...(p.upstreamCandidates ?? [])]);
    for (const name of names) {
      const key = `${p.module ?? 'http'} ${name}`;
      passesByGroup.set(key, [...(passesByGroup.get(key) ?? []), p]);
    }
  }

  interface Entry {
    groups: Map<UpstreamGroup, UpstreamMatch['servers']>;
    direct: DirectMatch[];
  }
  const index = new Map<string, Entry>();
  const entry = (ip: string, port: number): Entry => {
    const key = `${ip} ${port}`;
    let e = index.get(key);
    if (e === undefined) {
      e = { groups: new Map(), direct: [] };
      index.set(key, e);
    }
    return e;
  };
  for (const group of model.upstreams) {
    for (const server of group.servers) {
      const a = addressesOf(server.host);
      if (a === null || server.port === null) continue;
      for (const ip of a.ips) {
        const e = entry(ip, server.port);
        const list = e.groups.get(group) ?? [];
        if (!list.some((x) => x.server === server)) list.push({ server, via: a.via });
        e.groups.set(group, list);
      }
    }
  }
  for (const proxyPass of model.proxyPasses) {
    const a = proxyPass.upstream === null ? addressesOf(proxyPass.host) : null;
    if (a === null || proxyPass.port === null) continue;
    for (const ip of a.ips) {
      const e = entry(ip, proxyPass.port);
      if (!e.direct.some((d) => d.proxyPass === proxyPass)) e.direct.push({ proxyPass, via: a.via });
    }
  }

  return destinations.map((destination) => {
    const d = parseDestination(destination);
    const e = d === null ? undefined : index.get(`${d.ip} ${d.port}`);
    const upstreams: UpstreamMatch[] = [];
    for (const [group, servers] of e?.groups ?? []) {
      upstreams.push({ group, servers, proxyPasses: passesByGroup.get(`${group.module ?? 'http'} ${group.name}`) ?? [] });
    }
    const direct = e?.direct ?? [];
    return {
      destination,
      ip: d?.ip ?? null,
      port: d?.port ?? null,
      upstreams,
      direct: [...direct],
      unmapped: upstreams.length === 0 && direct.length === 0,
    };
  });
}
