/**
 * The providers' own changes for a NAT short of mappings, with what each changes
 * in numbers. Pure. Commands name the NAT by its configured name when it has
 * one of its own (a name other than the profile's), and leave the provider's
 * other identifiers as placeholders in capitals.
 *
 * Sources (docs/nat.md cites them in full):
 * - gcloud compute routers nats update: --min-ports-per-vm, --[no-]enable-dynamic-port-allocation,
 *   --max-ports-per-vm, --[no-]enable-endpoint-independent-mapping, --tcp-time-wait-timeout
 *   (https://cloud.google.com/sdk/gcloud/reference/compute/routers/nats/update).
 * - az network lb outbound-rule update --outbound-ports (https://learn.microsoft.com/cli/azure/network/lb/outbound-rule).
 * - AWS AssociateNatGatewayAddress, "By default, you can associate up to 2 Elastic IP addresses
 *   per public NAT gateway" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateNatGatewayAddress.html).
 * - Azure NAT Gateway: "up to a total of 16 IP addresses" (nat-gateway-resource).
 */
import {
  AZURE_LB_PORTS_PER_IP,
  GCP_DYNAMIC_MAX_PORTS,
  GCP_DYNAMIC_MIN_PORTS,
  GCP_PORTS_PER_IP,
  GCP_STATIC_MIN_PORTS,
  PROFILES,
} from '../core/natProfiles.js';
import type { NatDestination, NatModel } from '../nat/model/nat.js';
import { pct } from './types.js';

export interface NatFix {
  fix: string;
  effect: string | null;
}

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const clamp = (n: number, low: number, high: number): number => Math.min(high, Math.max(low, n));

/** The NAT's resource name for a command: the configured name when it is the user's own, else a placeholder. */
export function resourceName(nat: NatModel, placeholder: string): string {
  return nat.name !== nat.profile ? nat.name : placeholder;
}

/** What a new capacity does for the worst destination at today's use. */
function capacityEffect(d: NatDestination, next: number): string {
  const free = Math.max(0, next - d.used);
  return `${d.destination}: ${d.capacity} → ${next} ports; at today's ${d.used} in use, free ${d.headroom ?? Math.max(0, d.capacity - d.used)} → ${free} (${pct(next > 0 ? free / next : 0)})`;
}

/** Ports that leave the worst destination at most half used, with room over today's allocation. */
const wanted = (nat: NatModel, d: NatDestination): number => Math.max(2 * d.used, 2 * nat.capacityPerDestination);

function gcpFix(nat: NatModel, d: NatDestination): NatFix {
  const name = resourceName(nat, 'NAT_NAME');
  const cmd = `gcloud compute routers nats update ${name} --router=ROUTER --region=REGION`;
  const lines: string[] = [];
  const tail: string[] = [];
  if (nat.timeWaitSeconds !== null && nat.timeWaitSeconds > 30 && d.heldAfterClose > 0) {
    tail.push(
      `# ${d.heldAfterClose} of the ${d.used} are closed connections held for the gateway's TCP TIME_WAIT (${nat.timeWaitSeconds} s): ` +
        'a 30 s timeout (the default of gateways created since the 2026 rollout) frees them sooner:',
      `${cmd} --tcp-time-wait-timeout=30s`,
    );
  }
  if (!nat.dynamicPortAllocation) {
    const target = clamp(nextPow2(wanted(nat, d)), GCP_STATIC_MIN_PORTS.low, GCP_STATIC_MIN_PORTS.high);
    const min = clamp(nextPow2(nat.ports), GCP_DYNAMIC_MIN_PORTS.low, GCP_DYNAMIC_MIN_PORTS.high);
    const max = clamp(Math.max(nextPow2(2 * target), 2 * min), GCP_DYNAMIC_MAX_PORTS.low, GCP_DYNAMIC_MAX_PORTS.high);
    lines.push(
      '# Google Cloud NAT: give each VM more ports (static allocation: every VM of the gateway gets them)',
      `${cmd} --min-ports-per-vm=${target}`,
      `# or let the VMs that need more get more (dynamic allocation, doubling on demand up to the maximum${nat.endpointIndependentMapping ? '; it needs endpoint-independent mapping off' : ''}):`,
      `${cmd} --enable-dynamic-port-allocation --min-ports-per-vm=${min} --max-ports-per-vm=${max}${nat.endpointIndependentMapping ? ' --no-enable-endpoint-independent-mapping' : ''}`,
      ...tail,
    );
    const vmsPerIp = Math.floor(GCP_PORTS_PER_IP / target);
    return {
      fix: lines.join('\n'),
      effect:
        `${capacityEffect(d, Math.min(target, GCP_PORTS_PER_IP * nat.ips))}. Each VM then reserves ${target} ports, so one NAT IP (${GCP_PORTS_PER_IP} ports) ` +
        `serves ${vmsPerIp} VMs: with ${nat.ips} NAT IP${nat.ips === 1 ? '' : 's'} the gateway serves ${vmsPerIp * nat.ips} (add NAT IPs with --nat-external-ip-pool, or automatic allocation, for more).`,
    };
  }
  const ceiling = nat.maxPortsPerVm ?? GCP_DYNAMIC_MAX_PORTS.default;
  if (ceiling < GCP_DYNAMIC_MAX_PORTS.high) {
    const target = clamp(nextPow2(wanted(nat, d)), 2 * nat.ports, GCP_DYNAMIC_MAX_PORTS.high);
    lines.push('# Google Cloud NAT, dynamic allocation: raise the most ports a VM may get', `${cmd} --max-ports-per-vm=${target}`, ...tail);
    return { fix: lines.join('\n'), effect: `${capacityEffect(d, Math.min(target, GCP_PORTS_PER_IP * nat.ips))} (granted on demand while the gateway's NAT IPs have ports free).` };
  }
  const ips = Math.ceil(GCP_DYNAMIC_MAX_PORTS.high / GCP_PORTS_PER_IP);
  lines.push(
    `# ${GCP_DYNAMIC_MAX_PORTS.high} ports is the most Cloud NAT gives one VM${nat.ips < ips ? ` (and ${nat.ips} NAT IP holds ${GCP_PORTS_PER_IP}: add one with --nat-external-ip-pool)` : ''}:`,
    '# reuse connections (nat_held_after_close), or spread the load over more VMs',
    ...tail,
  );
  return { fix: lines.join('\n'), effect: null };
}

function azureLbFix(nat: NatModel, d: NatDestination): NatFix {
  const most = AZURE_LB_PORTS_PER_IP * nat.ips;
  const target = Math.min(Math.ceil(nextPow2(wanted(nat, d)) / 8) * 8, most);
  const lines = [
    '# Azure load balancer: allocate ports per instance on the outbound rule (multiples of 8; every backend instance gets them)',
    `az network lb outbound-rule update --resource-group RESOURCE_GROUP --lb-name LOAD_BALANCER --name ${resourceName(nat, 'OUTBOUND_RULE')} --outbound-ports ${target}`,
    `# frontend IPs × ${AZURE_LB_PORTS_PER_IP} ÷ backend instances is the most each can get: add frontend IPs for more;`,
    '# or give the subnet a NAT gateway ("the best method for outbound connectivity"): 50 000 connections per public IP to one destination',
  ];
  const pool = nat.backendPoolSize;
  const frontends = pool === null ? null : Math.ceil((pool * target) / AZURE_LB_PORTS_PER_IP);
  return {
    fix: lines.join('\n'),
    effect:
      `${capacityEffect(d, target)}.` +
      (frontends !== null ? ` ${pool} instances × ${target} ports need ${frontends} frontend IP${frontends === 1 ? '' : 's'} (${AZURE_LB_PORTS_PER_IP} ports each); the rule has ${nat.ips}.` : ''),
  };
}

function appServiceFix(d: NatDestination): NatFix {
  return {
    fix: [
      '# App Service: the 128 SNAT ports per instance cannot be raised. Reuse connections (nat_held_after_close), or send the',
      "# app's outbound traffic through a NAT gateway (regional virtual network integration, all traffic routed):",
      'az webapp vnet-integration add --resource-group RESOURCE_GROUP --name APP --vnet VNET --subnet SUBNET',
      'az network vnet subnet update --resource-group RESOURCE_GROUP --vnet-name VNET --name SUBNET --nat-gateway NAT_GATEWAY',
      'az webapp config set --resource-group RESOURCE_GROUP --name APP --vnet-route-all-enabled true',
      '# then describe that gateway to the agent: --nat-profile azure-nat-gateway',
    ].join('\n'),
    effect: `${d.destination}: 128 SNAT ports per instance → 50 000 connections per public IP of the NAT gateway, shared by the subnet's instances (fleet scope).`,
  };
}

/** A host-scope NAT short of ports towards `d` (its worst destination): the provider's change. */
export function allocationFix(nat: NatModel, d: NatDestination): NatFix {
  switch (nat.profile) {
    case 'gcp-cloud-nat':
      return gcpFix(nat, d);
    case 'azure-lb-outbound':
      return azureLbFix(nat, d);
    case 'azure-app-service':
      return appServiceFix(d);
    default: {
      const target = nextPow2(wanted(nat, d));
      return {
        fix: `# ${PROFILES[nat.profile].title}: raise this host's allocation towards ${d.destination} to ${target} (then set ports: ${target}), or add NAT IPs`,
        effect: `${capacityEffect(d, target)}.`,
      };
    }
  }
}

/** A shared gateway where this host's share is large: more NAT IPs, or more gateways. */
export function gatewayFix(nat: NatModel, d: NatDestination): NatFix {
  const maxIps = PROFILES[nat.profile].maxIps;
  const perIp = nat.capacityPerDestination / nat.ips;
  const ips = maxIps === null ? nat.ips + 1 : Math.min(maxIps, nat.ips + 1);
  const lines =
    nat.profile === 'aws-nat-gateway'
      ? [
          '# AWS NAT Gateway: attach secondary IPv4 addresses (up to 8 per gateway; the default quota is 2 Elastic IPs per public NAT gateway)',
          `aws ec2 associate-nat-gateway-address --nat-gateway-id ${resourceName(nat, 'NAT_GATEWAY_ID')} --allocation-ids EIPALLOC_ID`,
          '# or split the clients over more NAT gateways, each private subnet routed to its own',
        ]
      : nat.profile === 'azure-nat-gateway'
        ? [
            '# Azure NAT Gateway: add public IPs (up to 16 IPs or prefixes in all); the list replaces the current one',
            `az network nat gateway update --resource-group RESOURCE_GROUP --name ${resourceName(nat, 'NAT_GATEWAY')} --public-ip-addresses PUBLIC_IP_1 PUBLIC_IP_2`,
          ]
        : [`# ${PROFILES[nat.profile].title}: add NAT IPs (then set ips: ${nat.ips + 1}), or split the hosts over more gateways`];
  if (ips === nat.ips) {
    return { fix: [`# ${nat.ips} IPs is the most ${PROFILES[nat.profile].title} takes: split the hosts over more gateways`, ...lines.slice(2)].join('\n'), effect: null };
  }
  const next = perIp * ips;
  return {
    fix: lines.join('\n'),
    effect: `The limit towards ${d.destination}: ${nat.capacityPerDestination} → ${next} connections (${ips} IPs × ${perIp}); this host's share ${pct(d.share)} → ${pct(d.used / next)}, and the fleet's falls in the same proportion.`,
  };
}

/** GCP with endpoint-independent mapping: turning it off removes the conflicts. */
export function eimFix(nat: NatModel, d: NatDestination): NatFix {
  const cmd = `gcloud compute routers nats update ${resourceName(nat, 'NAT_NAME')} --router=ROUTER --region=REGION`;
  return {
    fix: [
      '# Google Cloud NAT: map each connection on its own (a new connection may then use another NAT port than its source port had)',
      `${cmd} --no-enable-endpoint-independent-mapping`,
      '# if you need endpoint-independent mapping, give each VM more ports instead (see nat_ports_short)',
    ].join('\n'),
    effect: `New connections towards ${d.destination} stop colliding on a source port's pinned NAT port: the estimated ${pct(d.endpointIndependenceConflictRisk ?? 0)} dropped now → none until the VM's ${d.capacity} ports run out.`,
  };
}
