/**
 * The `nat` setting: each profile's cited defaults, overrides, the provider's own
 * limits as errors, and every problem at once, named by file, variable or flag.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, type Config } from '../../../agent/config.js';

async function ok(sources: Parameters<typeof resolveConfig>[0]): Promise<Config> {
  const r = await resolveConfig(sources);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config;
}

async function problems(sources: Parameters<typeof resolveConfig>[0]): Promise<string[]> {
  const r = await resolveConfig(sources);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

const flags = (nat: Record<string, unknown>) => ({ env: {}, flags: { nat: [nat] } });

describe('nat: profile defaults', () => {
  it('has no NAT by default', async () => {
    expect((await ok({ env: {}, flags: {} })).nat).toEqual([]);
  });

  it.each([
    ['aws-nat-gateway', { scope: 'fleet', ports: 55_000, ips: 1, timeWaitSeconds: null, idleTimeoutSeconds: 350 }],
    ['gcp-cloud-nat', { scope: 'host', ports: 64, ips: 1, timeWaitSeconds: 120, idleTimeoutSeconds: 1200, endpointIndependentMapping: false, dynamicPortAllocation: false, maxPortsPerVm: null }],
    ['azure-lb-outbound', { scope: 'host', ports: 1024, timeWaitSeconds: 240, idleTimeoutSeconds: 240 }],
    ['azure-nat-gateway', { scope: 'fleet', ports: 50_000, timeWaitSeconds: 65, idleTimeoutSeconds: 240 }],
    ['azure-app-service', { scope: 'host', ports: 128, timeWaitSeconds: 240 }],
  ])('%s fills in its cited defaults, named after the profile, every public address', async (profile, expected) => {
    const [nat] = (await ok(flags({ profile }))).nat;
    expect(nat).toMatchObject({ name: profile, profile, destinations: ['public'], ...expected });
  });

  it('every default can be overridden', async () => {
    const [nat] = (await ok(flags({ profile: 'aws-nat-gateway', name: 'natgw-a', ports: '100', ips: '3', destinations: '203.0.113.0/24,2001:db8::/32', timeWaitSeconds: '30', scope: 'host' }))).nat;
    expect(nat).toMatchObject({ name: 'natgw-a', ports: 100, ips: 3, destinations: ['203.0.113.0/24', '2001:db8::/32'], timeWaitSeconds: 30, scope: 'host' });
  });

  it('GCP dynamic allocation: minPortsPerVm 32 and maxPortsPerVm 65536 by default', async () => {
    const [nat] = (await ok(flags({ profile: 'gcp-cloud-nat', dynamicPortAllocation: true }))).nat;
    expect(nat).toMatchObject({ ports: 32, maxPortsPerVm: 65_536, dynamicPortAllocation: true });
  });

  it('Azure load balancer: the default allocation from the backend pool size, capped at 1024 in all', async () => {
    expect((await ok(flags({ profile: 'azure-lb-outbound', backendPoolSize: 120 }))).nat[0]!.ports).toBe(256);
    expect((await ok(flags({ profile: 'azure-lb-outbound', backendPoolSize: 120, ips: 2 }))).nat[0]!.ports).toBe(512);
    expect((await ok(flags({ profile: 'azure-lb-outbound', backendPoolSize: 120, ips: 8 }))).nat[0]!.ports).toBe(1024);
    expect((await ok(flags({ profile: 'azure-lb-outbound', backendPoolSize: 900 }))).nat[0]!.ports).toBe(32);
  });

  it('"unknown" leaves the hold after close unknown', async () => {
    expect((await ok(flags({ profile: 'gcp-cloud-nat', timeWaitSeconds: 'unknown' }))).nat[0]!.timeWaitSeconds).toBeNull();
  });

  it('takes several NATs from the file, and one object as a list of one', async () => {
    const config = await ok({
      file: { path: 'agent.json', content: { nat: [{ profile: 'gcp-cloud-nat', ports: 256 }, { profile: 'aws-nat-gateway', name: 'other-region', ips: 2 }] } },
      env: {},
      flags: {},
    });
    expect(config.nat.map((n) => [n.name, n.ports, n.ips])).toEqual([
      ['gcp-cloud-nat', 256, 1],
      ['other-region', 55_000, 2],
    ]);
    expect((await ok({ env: {}, flags: {}, file: { path: 'a.json', content: { nat: { profile: 'azure-app-service' } } } })).nat).toHaveLength(1);
  });

  it('takes JSON from NGINX_PORT_AGENT_NAT; flags replace the list as they replace any setting', async () => {
    const env = { NGINX_PORT_AGENT_NAT: JSON.stringify([{ profile: 'gcp-cloud-nat' }, { profile: 'aws-nat-gateway' }]) };
    expect((await ok({ env, flags: {} })).nat.map((n) => n.name)).toEqual(['gcp-cloud-nat', 'aws-nat-gateway']);
    expect((await ok({ env, flags: { nat: [{ profile: 'custom', ports: '10' }] } })).nat.map((n) => n.name)).toEqual(['custom']);
  });

  it('a resolved NAT reads back as itself (the merged layers are checked again)', async () => {
    const first = (await ok(flags({ profile: 'gcp-cloud-nat', dynamicPortAllocation: true, ports: 64, maxPortsPerVm: 4096 }))).nat;
    expect((await ok({ env: {}, flags: { nat: first } })).nat).toEqual(first);
  });
});

describe('nat: problems, all at once', () => {
  it('names the flag of the one-NAT case', async () => {
    expect(await problems(flags({ profile: 'custom', destinations: '10.0.0.0/33,not-an-ip' }))).toEqual([
      '--nat-destinations: "10.0.0.0/33" is not a CIDR block: the prefix length must be 0–32',
      '--nat-destinations: "not-an-ip" is not a CIDR block: "not-an-ip" is not an IPv4 or IPv6 address',
      '--nat-ports: the custom profile has no default: give the NAT\'s per-destination limit (per NAT IP)',
    ]);
    expect((await problems(flags({ profile: 'azure-firewall' })))[0]).toMatch(/^--nat-profile: must be one of aws-nat-gateway, gcp-cloud-nat, azure-lb-outbound/);
    // Without a profile the rest is still checked: every problem at once.
    expect(await problems(flags({ ports: '64', destinations: '10.0.0.0/40' }))).toEqual([
      '--nat-profile: required, one of aws-nat-gateway, gcp-cloud-nat, azure-lb-outbound, azure-nat-gateway, azure-app-service, custom',
      '--nat-destinations: "10.0.0.0/40" is not a CIDR block: the prefix length must be 0–32',
    ]);
  });

  it('names the file and the entry', async () => {
    const p = await problems({
      file: { path: 'agent.json', content: { nat: [{ profile: 'gcp-cloud-nat', colour: 'blue' }, { profile: 'aws-nat-gateway', ips: 9 }] } },
      env: { NGINX_PORT_AGENT_LOG_LEVEL: 'chatty' },
      flags: {},
    });
    expect(p).toContain('config file agent.json: nat[0].colour: unknown setting');
    expect(p).toContain('config file agent.json: nat[1].ips: AWS NAT Gateway takes at most 8 IP addresses');
    expect(p.some((x) => x.startsWith('NGINX_PORT_AGENT_LOG_LEVEL'))).toBe(true);
  });

  it('names the environment variable, and says when it is not JSON', async () => {
    expect((await problems({ env: { NGINX_PORT_AGENT_NAT: 'gcp-cloud-nat' }, flags: {} }))[0]).toMatch(/^NGINX_PORT_AGENT_NAT: must be JSON, a NAT object or a list of them/);
    expect(await problems({ env: { NGINX_PORT_AGENT_NAT: '[{"profile":"gcp-cloud-nat","ports":1}]' }, flags: {} })).toEqual([
      'NGINX_PORT_AGENT_NAT[0].ports: minPortsPerVm must be from 2 to 57344',
    ]);
  });

  it.each([
    [{ profile: 'gcp-cloud-nat', dynamicPortAllocation: true, endpointIndependentMapping: true }, 'endpointIndependentMapping: Cloud NAT does not allow endpoint-independent mapping with dynamic port allocation'],
    [{ profile: 'gcp-cloud-nat', dynamicPortAllocation: true, ports: 48 }, 'ports: with dynamic allocation, minPortsPerVm must be a power of 2 from 32 to 32768'],
    [{ profile: 'gcp-cloud-nat', dynamicPortAllocation: true, ports: 1024, maxPortsPerVm: 512 }, 'maxPortsPerVm: must be a power of 2 from 64 to 65536, above minPortsPerVm (1024)'],
    [{ profile: 'gcp-cloud-nat', maxPortsPerVm: 512 }, 'maxPortsPerVm: applies to dynamic port allocation only'],
    [{ profile: 'aws-nat-gateway', endpointIndependentMapping: true }, 'endpointIndependentMapping: applies to the gcp-cloud-nat profile only'],
    [{ profile: 'azure-lb-outbound', ports: 1000 + 4 }, 'ports: allocatedOutboundPorts must be a multiple of 8'],
    [{ profile: 'azure-lb-outbound', backendPoolSize: 1500 }, 'backendPoolSize: the default allocation table stops at 1000 instances'],
    [{ profile: 'azure-nat-gateway', ips: 17 }, 'ips: Azure NAT Gateway takes at most 16 IP addresses'],
    [{ profile: 'custom', ports: 10, name: 'two words' }, 'name: must be 1–64 letters'],
    [{ profile: 'custom', ports: 10, destinations: [] }, 'destinations: must name at least one CIDR block'],
    [{ profile: 'custom', ports: 10, destinations: ['::ffff:10.0.0.0/64'] }, 'an IPv4-mapped block needs a prefix of at least 96'],
  ])('%j', async (nat, message) => {
    const p = await problems({ env: {}, flags: {}, file: { path: 'a.json', content: { nat: [nat] } } });
    expect(p.join('\n')).toContain(message);
  });

  it('two NATs with one name', async () => {
    expect(await problems({ env: {}, flags: {}, file: { path: 'a.json', content: { nat: [{ profile: 'gcp-cloud-nat' }, { profile: 'gcp-cloud-nat' }] } } })).toEqual([
      'config file a.json: nat[1].name: "gcp-cloud-nat" names two NATs: give each its own name',
    ]);
  });
});
