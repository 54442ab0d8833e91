/**
 * Resolving the host names of the nginx configuration, the way nginx does at
 * start-up (getaddrinfo(), through dns.lookup, so /etc/hosts and nsswitch apply),
 * each within a time limit. A failure is recorded for its host and never thrown.
 *
 * dns.lookup runs getaddrinfo() on libuv's thread pool and cannot be cancelled: a
 * lookup that outlives its time limit is abandoned (its answer ignored), not
 * stopped. Lookups run a few at a time so a slow resolver does not tie up the
 * whole pool.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { canonicalIp } from '../model/endpoints.js';
import type { HostResolution } from '../model/types.js';

export type { HostResolution } from '../model/types.js';

/** Every address a host name resolves to. */
export type LookupAll = (host: string) => Promise<string[]>;

export const systemLookup: LookupAll = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);


const CONCURRENCY = 4;

export async function resolveHosts(hosts: Iterable<string>, timeoutMs: number, lookup: LookupAll = systemLookup): Promise<HostResolution> {
  const names = [...new Set([...hosts].map((h) => h.toLowerCase()))].filter((h) => h !== '' && isIP(h) === 0);
  const resolved = new Map<string, string[]>();
  const failures: { host: string; error: string }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const host = names[next++]!;
      const r = await withTimeout(host, lookup, timeoutMs);
      if ('error' in r) failures.push({ host, error: r.error });
      else resolved.set(host, r.ips);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, names.length) }, worker));
  failures.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return { resolved, failures };
}

async function withTimeout(host: string, lookup: LookupAll, timeoutMs: number): Promise<{ ips: string[] } | { error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => {
      resolve({ error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    timer.unref();
  });
  const answer = (async (): Promise<{ ips: string[] } | { error: string }> => {
    try {
      const ips = [...new Set((await lookup(host)).map((a) => canonicalIp(a) ?? a))];
      return ips.length > 0 ? { ips } : { error: 'no addresses' };
    } catch (err) {
      return { error: describeLookupError(err) };
    }
  })();
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeLookupError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND') return 'not found (ENOTFOUND)';
  if (code === 'EAI_AGAIN') return 'temporary DNS failure (EAI_AGAIN)';
  if (typeof code === 'string') return `${(err as Error).message} (${code})`;
  return err instanceof Error ? err.message : String(err);
}
