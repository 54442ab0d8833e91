/**
 * The NAT findings, one provider at a time: each fires on its case with the
 * provider's own command and the effect in numbers, stays silent on its near
 * misses, a host-scope NAT decides the exit status as the kernel's headroom does,
 * and a shared gateway never makes a host critical.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../agent/config.js';
import type { NatConfig } from '../../../agent/core/natProfiles.js';
import { computeFindings, statusOf, type DestinationRoute, type Finding, type FindingInput, type NginxEvidence } from '../../../agent/hints/findings.js';
import type { NginxConfigModel, ProxyPass, UpstreamGroup } from '../../../agent/nginxconf/model/types.js';
import type { KernelSettings } from '../../../agent/sockets/model/headroom.js';
import { natFindingInput } from '../../support/kernelState.js';
import { established, timeWaits, type Row } from '../../support/procText.js';

const WIDE: KernelSettings = { portRange: { low: 32768, high: 60999 }, reservedPorts: [], tcpTwReuse: 0, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 };
const API = '203.0.113.10';
const DEST = `${API}:443`;

/** A NAT as the configuration resolves it: the profile's cited defaults under the given fields. */
async function natOf(nat: Record<string, unknown>): Promise<NatConfig> {
  const r = await resolveConfig({ env: {}, flags: {}, file: { path: 'test.json', content: { nat: [nat] } } });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config.nat[0]!;
}

/** `n` ESTABLISHED connections to `dest`, spread over source IPs 10.0.0.1… (28 000 each at most). */
function openTo(n: number, dest = API, port = 443): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) rows.push(...established(1, `10.0.0.${1 + Math.floor(i / 28_000)}`, 33000 + (i % 28_000), dest, port));
  return rows;
}

/** `n` TIME_WAIT sockets with ages spread evenly over the last minute: n/60 closes per second. */
function churnTo(n: number, first = 50000, dest = API, port = 443): Row[] {
  return timeWaits(n, '10.0.0.1', first, dest, port, 0).map((r, i) => ({ ...r, when: 6000 - Math.floor((i * 6000) / n) }));
}

const natFindings = (i: FindingInput): Finding[] => computeFindings(i).filter((f) => f.id.startsWith('nat_'));
const ids = (i: FindingInput): string[] => natFindings(i).map((f) => `${f.id}:${f.severity}`);
const one = (i: FindingInput, id: string): Finding => {
  const f = natFindings(i).find((x) => x.id === id);
  if (f === undefined) throw new Error(`no ${id} in ${JSON.stringify(ids(i))}`);
  return f;
};

describe('host scope: the VM\'s own allocation', () => {
  it('GCP Cloud NAT, 64 ports, 20 open and 120 s of churn: out of ports; raise minPortsPerVm or allocate dynamically', async () => {
    // 30 closes in the last minute (0.5/s): 30 TIME_WAIT + about 30 more the NAT still holds (60 s of its 120 s past the kernel's).
    const input = natFindingInput([...openTo(20), ...churnTo(30)], WIDE, [await natOf({ profile: 'gcp-cloud-nat', name: 'nat-euw1' })]);
    const d = input.nat![0]!.destinations[0]!;
    expect(d.used).toBe(20 + 30 + Math.round(d.heldAfterCloseEstimated));
    expect(d.used).toBeGreaterThan(64);
    expect(ids(input)).toEqual(['nat_ports_short:critical', 'nat_held_after_close:critical']);
    const f = one(input, 'nat_ports_short');
    expect(f.summary).toBe(`NAT nat-euw1 (Google Cloud NAT): 1 destination short of NAT ports; ${d.used} mappings towards ${DEST} (open, or closed and still held), the VM has 64 (the kernel allows 28232)`);
    expect(f.fix).toContain('gcloud compute routers nats update nat-euw1 --router=ROUTER --region=REGION --min-ports-per-vm=256');
    expect(f.fix).toContain('--enable-dynamic-port-allocation --min-ports-per-vm=64 --max-ports-per-vm=512');
    expect(f.fix).toContain('--tcp-time-wait-timeout=30s');
    expect(f.effect).toContain(`${DEST}: 64 → 256 ports; at today's ${d.used} in use, free 0 → ${256 - d.used}`);
    expect(f.effect).toContain('one NAT IP (64512 ports) serves 252 VMs');
    expect(f.evidence.join('\n')).toContain('https://cloud.google.com/nat/docs/ports-and-addresses');
    expect(f.destinations).toEqual([`10.0.0.1 → ${DEST}`]);
    expect(statusOf(computeFindings(input), true)).toBe('CRITICAL');
  });

  it('GCP with endpoint-independent mapping: dynamic allocation needs it off; the conflict estimate is informational', async () => {
    const input = natFindingInput(openTo(56), WIDE, [await natOf({ profile: 'gcp-cloud-nat', endpointIndependentMapping: true })]);
    expect(ids(input)).toEqual(['nat_ports_short:warning', 'nat_endpoint_independence_conflict:info']);
    expect(one(input, 'nat_ports_short').fix).toContain('--enable-dynamic-port-allocation --min-ports-per-vm=64 --max-ports-per-vm=256 --no-enable-endpoint-independent-mapping');
    const eim = one(input, 'nat_endpoint_independence_conflict');
    expect(eim.fix).toContain('gcloud compute routers nats update NAT_NAME --router=ROUTER --region=REGION --no-enable-endpoint-independent-mapping');
    expect(eim.summary).toContain('about 87.5 % of new connections towards 203.0.113.10:443 may be dropped as conflicts (an estimate)');
  });

  it('GCP with endpoint-independent mapping and room to spare: only the conflict estimate, no status change', async () => {
    const input = natFindingInput(openTo(10), WIDE, [await natOf({ profile: 'gcp-cloud-nat', endpointIndependentMapping: true })]);
    expect(ids(input)).toEqual(['nat_endpoint_independence_conflict:info']);
    expect(statusOf(computeFindings(input), true)).toBe('OK');
  });

  it('GCP dynamic allocation at its ceiling: raise maxPortsPerVm', async () => {
    const input = natFindingInput(openTo(1000), WIDE, [await natOf({ profile: 'gcp-cloud-nat', dynamicPortAllocation: true, ports: 64, maxPortsPerVm: 1024 })]);
    const f = one(input, 'nat_ports_short');
    expect(f.severity).toBe('critical');
    expect(f.fix).toContain('--max-ports-per-vm=2048');
    expect(f.effect).toBe(`${DEST}: 1024 → 2048 ports; at today's 1000 in use, free 24 → 1048 (51.2 %) (granted on demand while the gateway's NAT IPs have ports free).`);
  });

  it('Azure load balancer, default 1024 ports, 900 open: set allocatedOutboundPorts on the outbound rule', async () => {
    const input = natFindingInput(openTo(900), WIDE, [await natOf({ profile: 'azure-lb-outbound', backendPoolSize: 40 })]);
    expect(ids(input)).toEqual(['nat_ports_short:warning']);
    const f = one(input, 'nat_ports_short');
    expect(f.fix).toContain('az network lb outbound-rule update --resource-group RESOURCE_GROUP --lb-name LOAD_BALANCER --name OUTBOUND_RULE --outbound-ports 2048');
    expect(f.effect).toBe(`${DEST}: 1024 → 2048 ports; at today's 900 in use, free 124 → 1148 (56.1 %). 40 instances × 2048 ports need 2 frontend IPs (64000 ports each); the rule has 1.`);
    expect(f.evidence.join('\n')).toContain('(default allocation for a pool of 40)');
  });

  it('Azure App Service, 128 ports, 110 open: the ports cannot be raised; a NAT gateway through VNet integration', async () => {
    const input = natFindingInput(openTo(110), WIDE, [await natOf({ profile: 'azure-app-service' })]);
    const f = one(input, 'nat_ports_short');
    expect(f.severity).toBe('warning');
    expect(f.fix).toContain('az webapp vnet-integration add --resource-group RESOURCE_GROUP --name APP --vnet VNET --subnet SUBNET');
    expect(f.fix).toContain('--vnet-route-all-enabled true');
    expect(f.effect).toBe(`${DEST}: 128 SNAT ports per instance → 50 000 connections per public IP of the NAT gateway, shared by the subnet's instances (fleet scope).`);
  });

  it.each([
    ['51 of 64 ports (20.3 % free): silent', 51, []],
    ['52 of 64 (18.8 % free): warning', 52, ['nat_ports_short:warning']],
    ['61 of 64 (4.7 % free): critical', 61, ['nat_ports_short:critical']],
  ])('GCP thresholds as the kernel\'s: %s', async (_name, n, expected) => {
    expect(ids(natFindingInput(openTo(n), WIDE, [await natOf({ profile: 'gcp-cloud-nat' })]))).toEqual(expected);
  });

  it('near miss: traffic to private addresses does not go through the NAT', async () => {
    const input = natFindingInput(openTo(500, '10.20.0.5', 8080), WIDE, [await natOf({ profile: 'gcp-cloud-nat' })]);
    expect(input.nat![0]!.destinations).toEqual([]);
    expect(ids(input)).toEqual([]);
  });

  it('without a NAT configured there is no NAT finding', () => {
    expect(ids(natFindingInput(openTo(500), WIDE, []))).toEqual([]);
  });
});

describe('fleet scope: a gateway the hosts share', () => {
  it('AWS NAT Gateway: this host alone at 21.8 % of 55 000 → informational, with the secondary-IP command', async () => {
    const input = natFindingInput(openTo(12_000), WIDE, [await natOf({ profile: 'aws-nat-gateway', name: 'use1-natgw-a' })]);
    expect(ids(input)).toEqual(['nat_gateway_share:info']);
    const f = one(input, 'nat_gateway_share');
    expect(f.summary).toBe('NAT use1-natgw-a (AWS NAT Gateway): this host alone holds 12000 of the 55000 connections the gateway allows towards 203.0.113.10:443 (21.8 %); every host routed through it adds its own');
    expect(f.fix).toContain('aws ec2 associate-nat-gateway-address --nat-gateway-id use1-natgw-a --allocation-ids EIPALLOC_ID');
    expect(f.effect).toBe(`The limit towards ${DEST}: 55000 → 110000 connections (2 IPs × 55000); this host's share 21.8 % → 10.9 %, and the fleet's falls in the same proportion.`);
    expect(f.evidence.join('\n')).toContain('nginx_port_nat_destination_used{nat="use1-natgw-a"}');
    expect(statusOf(computeFindings(input), true)).toBe('OK');
  });

  it('AWS: this host alone at 83.6 % → a warning; over the limit → still a warning, never critical', async () => {
    expect(ids(natFindingInput(openTo(46_000), WIDE, [await natOf({ profile: 'aws-nat-gateway' })]))).toEqual(['nat_gateway_share:warning']);
    const over = natFindingInput(openTo(1200), WIDE, [await natOf({ profile: 'aws-nat-gateway', ports: 1000 })]);
    expect(ids(over)).toEqual(['nat_gateway_share:warning']);
    expect(statusOf(computeFindings(over), true)).toBe('WARNING');
  });

  it('near miss: under a tenth of the limit → silent', async () => {
    expect(ids(natFindingInput(openTo(5000), WIDE, [await natOf({ profile: 'aws-nat-gateway' })]))).toEqual([]);
  });

  it('Azure NAT Gateway: more public IPs, up to 16', async () => {
    const f = one(natFindingInput(openTo(10_000), WIDE, [await natOf({ profile: 'azure-nat-gateway', ips: 2 })]), 'nat_gateway_share');
    expect(f.fix).toContain('az network nat gateway update --resource-group RESOURCE_GROUP --name NAT_GATEWAY --public-ip-addresses PUBLIC_IP_1 PUBLIC_IP_2');
    expect(f.effect).toBe(`The limit towards ${DEST}: 100000 → 150000 connections (3 IPs × 50000); this host's share 10.0 % → 6.7 %, and the fleet's falls in the same proportion.`);
  });

  it('AWS at 8 IPs: split over more gateways instead', async () => {
    const f = one(natFindingInput(openTo(1000), WIDE, [await natOf({ profile: 'aws-nat-gateway', ports: 1000, ips: 8 })]), 'nat_gateway_share');
    expect(f.fix).toContain('8 IPs is the most AWS NAT Gateway takes: split the hosts over more gateways');
    expect(f.effect).toBeNull();
  });
});

describe('churn through the NAT: nat_held_after_close', () => {
  const AT = { file: '/etc/nginx/conf.d/api.conf', line: 3 };
  const group: UpstreamGroup = {
    name: 'saas',
    servers: [{ address: 'api.example.com:443', host: 'api.example.com', port: 443, weight: 1, backup: false, down: false, maxConns: null, at: AT }],
    keepalive: null,
    keepaliveRequests: null,
    keepaliveTimeMs: null,
    keepaliveTimeoutMs: null,
    at: AT,
  };
  const pass: ProxyPass = {
    target: 'https://saas',
    scheme: 'https',
    upstream: 'saas',
    host: null,
    port: null,
    hasVariables: false,
    httpVersion: null,
    connectionHeader: null,
    bind: null,
    context: 'server api:80 > location /saas/',
    at: { file: AT.file, line: 9 },
  };
  const config = (upstreams: UpstreamGroup[], passes: ProxyPass[]): NginxConfigModel => ({
    files: ['/etc/nginx/nginx.conf', AT.file],
    problems: [],
    upstreams,
    proxyPasses: passes,
    workerProcesses: 2,
    workerConnections: 1024,
    workerRlimitNofile: null,
    splitClients: [],
  });
  const nginx = (c: NginxConfigModel, routes: Record<string, DestinationRoute>): NginxEvidence => ({ config: c, configNote: null, version: '1.22.1', routes: new Map(Object.entries(routes)) });

  it('the kernel has plenty: the NAT finding prints the pool for the group that reaches the destination', async () => {
    const input = natFindingInput([...openTo(4), ...churnTo(40)], WIDE, [await natOf({ profile: 'gcp-cloud-nat' })], { nginx: nginx(config([group], [pass]), { [DEST]: { upstreams: ['saas'], direct: [] } }) });
    expect(ids(input)).toEqual(['nat_ports_short:critical', 'nat_held_after_close:critical']);
    const f = one(input, 'nat_held_after_close');
    const d = input.nat![0]!.destinations[0]!;
    expect(f.fix).toContain('upstream saas {\n    server api.example.com:443;\n    keepalive 32;   # idle connections kept per worker\n}');
    expect(f.fix).toContain('proxy_http_version 1.1;');
    expect(f.effect).toContain(`the mappings in use fall from ${d.used} to about ${d.open + 1} of 64`);
    expect(f.effect).toContain("before the NAT's 1200 s idle timeout would drop it");
  });

  it('the kernel is short too: the NAT finding points at the config-aware pool finding', async () => {
    const narrow: KernelSettings = { ...WIDE, portRange: { low: 40000, high: 40999 } };
    const rows = timeWaits(960, '10.0.0.1', 40000, API, 443, 0).map((r, i) => ({ ...r, when: 6000 - Math.floor((i * 6000) / 960) }));
    const input = natFindingInput(rows, narrow, [await natOf({ profile: 'gcp-cloud-nat', ports: 2048 })], { nginx: nginx(config([group], [pass]), { [DEST]: { upstreams: ['saas'], direct: [] } }) });
    const all = computeFindings(input).map((f) => f.id);
    expect(all).toContain('upstream_no_keepalive');
    expect(one(input, 'nat_held_after_close').fix).toBe(`See upstream_no_keepalive (saas) above: that change reuses nginx's connections to ${DEST}.`);
  });

  it('without nginx\'s config: a template, labelled as one', async () => {
    const f = one(natFindingInput([...openTo(4), ...churnTo(40)], WIDE, [await natOf({ profile: 'gcp-cloud-nat' })]), 'nat_held_after_close');
    expect(f.fix).toMatch(/^\(nginx config not read: a template, not checked against nginx's config\.\)/);
  });

  it('near miss: mostly open connections → no churn finding', async () => {
    expect(ids(natFindingInput([...openTo(50), ...churnTo(4)], WIDE, [await natOf({ profile: 'gcp-cloud-nat' })]))).toEqual(['nat_ports_short:warning']);
  });

  it('AWS documents no hold after close: nothing to blame on churn', async () => {
    expect(ids(natFindingInput([...openTo(200), ...churnTo(900)], WIDE, [await natOf({ profile: 'aws-nat-gateway', ports: 1000 })]))).toEqual(['nat_gateway_share:info']);
  });

  it('a provider API by its host name: the private endpoint of the NAT\'s own provider, never a guess from an address', async () => {
    const s3: ProxyPass = { ...pass, target: 'https://my-bucket.s3.us-east-1.amazonaws.com', upstream: null, host: 'my-bucket.s3.us-east-1.amazonaws.com', port: 443 };
    const aws = [await natOf({ profile: 'aws-nat-gateway', ports: 1000 })];
    const named = natFindingInput(openTo(300), WIDE, aws, { nginx: nginx(config([], [s3]), { [DEST]: { upstreams: [], direct: [s3] } }) });
    const f = one(named, 'nat_private_endpoint');
    expect(f.fix).toContain('aws ec2 create-vpc-endpoint --vpc-id VPC_ID --service-name com.amazonaws.us-east-1.s3 --route-table-ids ROUTE_TABLE_ID');
    expect(f.effect).toBe(`${DEST}: 300 mappings (30.0 % of the limit) leave the NAT.`);
    // The same address without a host name, or behind another provider's NAT: no finding.
    expect(ids(natFindingInput(openTo(300), WIDE, aws))).not.toContain('nat_private_endpoint:info');
    const gcp = natFindingInput(openTo(60), WIDE, [await natOf({ profile: 'gcp-cloud-nat' })], { nginx: nginx(config([], [s3]), { [DEST]: { upstreams: [], direct: [s3] } }) });
    expect(ids(gcp)).not.toContain('nat_private_endpoint:info');
  });

  it('Google APIs: Private Google Access', async () => {
    const g: ProxyPass = { ...pass, target: 'https://storage.googleapis.com', upstream: null, host: 'storage.googleapis.com', port: 443 };
    const input = natFindingInput(openTo(60), WIDE, [await natOf({ profile: 'gcp-cloud-nat' })], { nginx: nginx(config([], [g]), { [DEST]: { upstreams: [], direct: [g] } }) });
    expect(one(input, 'nat_private_endpoint').fix).toContain('gcloud compute networks subnets update SUBNET --region=REGION --enable-private-ip-google-access');
  });
});
