import { describe, expect, it } from 'vitest';
import { resolveHosts, type LookupAll } from '../../../agent/nginxconf/read/resolve.js';

describe('resolveHosts with the system resolver', () => {
  it('resolves localhost to loopback addresses', async () => {
    const r = await resolveHosts(['localhost'], 5000);
    expect(r.failures).toEqual([]);
    const ips = r.resolved.get('localhost');
    expect(ips).toBeDefined();
    expect(ips!.length).toBeGreaterThan(0);
    for (const ip of ips!) expect(ip === '::1' || ip.startsWith('127.')).toBe(true);
  });

  it('records a name that cannot resolve (.invalid, RFC 6761) as a failure, without throwing', async () => {
    const r = await resolveHosts(['no-such-host.invalid'], 5000);
    expect(r.resolved.size).toBe(0);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.host).toBe('no-such-host.invalid');
    expect(r.failures[0]!.error).not.toBe('');
  });
});

describe('resolveHosts with an injected lookup', () => {
  it('gives up on a lookup that does not answer in time, and still returns the others', async () => {
    const never: LookupAll = (h) => (h === 'slow.example' ? new Promise(() => undefined) : Promise.resolve(['192.0.2.1']));
    const started = Date.now();
    const r = await resolveHosts(['slow.example', 'fast.example'], 100, never);
    expect(Date.now() - started).toBeLessThan(2000);
    expect([...r.resolved]).toEqual([['fast.example', ['192.0.2.1']]]);
    expect(r.failures).toEqual([{ host: 'slow.example', error: 'no answer within 100 ms' }]);
  });

  it('skips literal IPs and duplicates (names compared in lower case), and canonicalises answers', async () => {
    const asked: string[] = [];
    const lookup: LookupAll = (h) => {
      asked.push(h);
      return Promise.resolve(['::FFFF:10.0.0.1', '2001:DB8:0:0::1', '10.0.0.1']);
    };
    const r = await resolveHosts(['10.0.0.1', '::1', 'App.Internal', 'app.internal', ''], 1000, lookup);
    expect(asked).toEqual(['app.internal']);
    expect([...r.resolved]).toEqual([['app.internal', ['10.0.0.1', '2001:db8::1']]]);
  });

  it('reports errors per host, with their code, and an empty answer', async () => {
    const lookup: LookupAll = (h) =>
      h === 'again.example'
        ? Promise.reject(Object.assign(new Error('getaddrinfo EAI_AGAIN again.example'), { code: 'EAI_AGAIN' }))
        : h === 'empty.example'
          ? Promise.resolve([])
          : Promise.reject(new Error('boom'));
    const r = await resolveHosts(['again.example', 'empty.example', 'odd.example'], 1000, lookup);
    expect(r.failures).toEqual([
      { host: 'again.example', error: 'temporary DNS failure (EAI_AGAIN)' },
      { host: 'empty.example', error: 'no addresses' },
      { host: 'odd.example', error: 'boom' },
    ]);
  });

  it('runs at most four lookups at a time', async () => {
    let running = 0;
    let peak = 0;
    const lookup: LookupAll = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return ['192.0.2.7'];
    };
    const r = await resolveHosts(Array.from({ length: 12 }, (_v, i) => `h${i}.example`), 1000, lookup);
    expect(r.resolved.size).toBe(12);
    expect(peak).toBe(4);
  });
});
