/**
 * What the clouds' NATs allow per destination, from the providers' own
 * documentation: one profile per kind of NAT, with its default per-destination
 * limit, what that limit is counted against (scope), its timers, and the page
 * each figure comes from. Pure data; config.ts fills a NAT's defaults from here,
 * nat/model/ computes with it, and docs/nat.md explains it.
 *
 * Two scopes:
 * - host: the limit is this VM's own allocation (GCP static allocation, an Azure
 *   load balancer's outbound rule, App Service's per-instance SNAT ports). What
 *   this host uses is the whole story: its headroom joins diagnose's verdict.
 * - fleet: the limit belongs to a gateway every host of the routed subnets shares
 *   (AWS NAT Gateway, Azure NAT Gateway). One host sees only its share; the sum
 *   across hosts is Prometheus's to judge (rules/nginx-port-agent.rules.yml).
 */

export const NAT_PROFILES = ['aws-nat-gateway', 'gcp-cloud-nat', 'azure-lb-outbound', 'azure-nat-gateway', 'azure-app-service', 'custom'] as const;
export type NatProfileName = (typeof NAT_PROFILES)[number];
export type NatScope = 'host' | 'fleet';

export interface NatProfile {
  /** The product, as the provider names it. */
  title: string;
  scope: NatScope;
  /**
   * What `ports` counts: `per_ip` is a per-destination limit per NAT IP (the
   * capacity is ports × ips); `per_vm` is the VM's own allocation, which serves
   * each destination in full (the capacity is ports).
   */
  ports: 'per_ip' | 'per_vm';
  /** The default of `ports`, or null where the user must give it (custom). */
  defaultPorts: number | null;
  /** The most NAT IPs the product takes, or null when not limited here. */
  maxIps: number | null;
  /**
   * How long the NAT holds a closed connection's mapping before the same
   * destination may have it again, in seconds; null where the provider documents none.
   */
  timeWaitSeconds: number | null;
  /** How long an idle established connection keeps its mapping, in seconds; null when undocumented. */
  idleTimeoutSeconds: number | null;
  /** The page that documents the per-destination limit. */
  docsUrl: string;
}

/** Ports per NAT IP on Google Cloud NAT: the most static or dynamic allocations can draw on, per IP. */
export const GCP_PORTS_PER_IP = 64_512;
/** GCP static allocation: minPortsPerVm bounds. */
export const GCP_STATIC_MIN_PORTS = { low: 2, high: 57_344 } as const;
/** GCP dynamic allocation: minPortsPerVm and maxPortsPerVm bounds (powers of 2, max above min). */
export const GCP_DYNAMIC_MIN_PORTS = { low: 32, high: 32_768, default: 32 } as const;
export const GCP_DYNAMIC_MAX_PORTS = { low: 64, high: 65_536, default: 65_536 } as const;
/**
 * Azure load balancer SNAT ports per frontend IP: "When a public IP address is added
 * as a frontend IP to a load balancer, 64,000 ports are eligible for SNAT."
 * (https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections).
 */
export const AZURE_LB_PORTS_PER_IP = 64_000;
/** Azure NAT Gateway SNAT ports per public IP (its per-destination limit is lower: 50 000). */
export const AZURE_NAT_GATEWAY_PORTS_PER_IP = 64_512;

/**
 * Azure load balancer default port allocation per VM per frontend IP, by backend
 * pool size (https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections,
 * "Default port allocation"): "Backends will receive the number of ports defined
 * by the table, per frontend IP, up to a maximum of 1024 ports."
 */
export const AZURE_LB_DEFAULT_TABLE: readonly { upTo: number; ports: number }[] = [
  { upTo: 50, ports: 1024 },
  { upTo: 100, ports: 512 },
  { upTo: 200, ports: 256 },
  { upTo: 400, ports: 128 },
  { upTo: 800, ports: 64 },
  { upTo: 1000, ports: 32 },
];
/** "MIN(# of default SNAT ports provided based on pool size * number of frontend IPs associated with the pool, 1024)" (same page). */
export const AZURE_LB_DEFAULT_CAP = 1024;

/** The default ports per VM for a pool of `poolSize` instances behind `ips` frontend IPs, or null past the table (1 000 instances). */
export function azureDefaultPorts(poolSize: number, ips: number): number | null {
  const row = AZURE_LB_DEFAULT_TABLE.find((r) => poolSize <= r.upTo);
  return row === undefined ? null : Math.min(row.ports * ips, AZURE_LB_DEFAULT_CAP);
}

export const PROFILES: Readonly<Record<NatProfileName, NatProfile>> = {
  /**
   * https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html:
   * "Each IPv4 address can support up to 55,000 simultaneous connections to each
   * unique destination. A unique destination is identified by a unique combination
   * of destination IP address, the destination port, and protocol (TCP/UDP/ICMP)."
   * "You can increase this limit by associating up to 8 IPv4 addresses to your NAT
   * Gateways (1 primary IPv4 address and 7 secondary IPv4 addresses)." The default
   * quota is 2 Elastic IPs per public NAT gateway
   * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
   * Idle timeout (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html):
   * "If a connection that's using a NAT gateway is idle for 350 seconds or more,
   * the connection times out." AWS documents no hold after close: null, so the
   * model counts open connections only unless the user sets a timer.
   * Shared by every instance whose subnet routes to it: fleet scope.
   */
  'aws-nat-gateway': {
    title: 'AWS NAT Gateway',
    scope: 'fleet',
    ports: 'per_ip',
    defaultPorts: 55_000,
    maxIps: 8,
    timeWaitSeconds: null,
    idleTimeoutSeconds: 350,
    docsUrl: 'https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html',
  },
  /**
   * https://cloud.google.com/nat/docs/ports-and-addresses ("Ports and connections"):
   * "The number of NAT source IP address and source port tuples that a Cloud NAT
   * gateway reserves for a VM limits the number of connections that the VM can make
   * to a unique destination (unique 3-tuple consisting of a destination IP address,
   * a destination port, and an IP protocol)." So the VM's ports serve each
   * destination in full: host scope, capacity = the VM's ports.
   * https://docs.cloud.google.com/nat/docs/set-up-network-address-translation:
   * "For static port allocation, the Minimum ports per VM instance field is set to
   * 64 … This value can be set from 2 to 57344." Dynamic allocation: "MIN_PORTS must
   * be a power of 2 and can be between 32 and 32768 . The default is 32 ." and
   * "MAX_PORTS must be a power of 2 and can be between 64 and 65536 . MAX_PORTS must
   * be greater than MIN_PORTS . The default is 65536 ." Each NAT IP offers 64,512
   * TCP ports (troubleshooting page: "maximum number of ephemeral source ports (64,512)").
   * TIME_WAIT (https://docs.cloud.google.com/nat/docs/release-notes#March_31_2026): 120 s
   * for gateways created before the regional rollout, 30 s for new ones (region by
   * region from 2026-06-30, everywhere from 2026-09-30); "A five-tuple (NAT source IP
   * address, source port, and destination 3-tuple) cannot be reused within the TCP
   * TIME_WAIT timeout" (https://docs.cloud.google.com/nat/docs/troubleshooting).
   * Established idle 1200 s ("Defaults to 1200s if not set.",
   * https://cloud.google.com/compute/docs/reference/rest/v1/routers).
   */
  'gcp-cloud-nat': {
    title: 'Google Cloud NAT',
    scope: 'host',
    ports: 'per_vm',
    defaultPorts: 64,
    maxIps: null,
    timeWaitSeconds: 120,
    idleTimeoutSeconds: 1200,
    docsUrl: 'https://cloud.google.com/nat/docs/ports-and-addresses',
  },
  /**
   * https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections:
   * "For TCP connections, the load balancer uses a single SNAT port for every
   * destination IP and port." and "The port is only reused if the destination IP or
   * port is different.": the VM's allocation serves each destination (IP, port) in
   * full. Default allocation by pool size (AZURE_LB_DEFAULT_TABLE), 1 024 for pools
   * of up to 50; manual ports per instance: "Number of frontend IPs * 64K / Number
   * of backend instances", in multiples of 8
   * (https://learn.microsoft.com/azure/load-balancer/outbound-rules: "If you provide
   * a value not divisible by 8, the configuration operation is rejected.").
   * "Outbound idle timeouts default to 4 minutes." (outbound-rules). Hold after
   * close: "If either server/client sends FINACK, SNAT port will be released after
   * 240 seconds." (the 2019 revision of load-balancer-outbound-connections, stated
   * today on App Service's page). Host scope.
   */
  'azure-lb-outbound': {
    title: 'Azure Load Balancer outbound rules',
    scope: 'host',
    ports: 'per_vm',
    defaultPorts: 1024,
    maxIps: null,
    timeWaitSeconds: 240,
    idleTimeoutSeconds: 240,
    docsUrl: 'https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections',
  },
  /**
   * https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource: "A NAT
   * gateway can support up to 50,000 concurrent connections per public IP address
   * to the same destination endpoint over the internet for TCP and UDP." "A NAT
   * gateway can use public IP addresses or prefixes in any combination up to a total
   * of 16 IP addresses." SNAT ports are "made available on-demand to all instances
   * within a subnet attached to the NAT gateway" (nat-gateway-snat): fleet scope.
   * Port reuse timers: "After a connection closes by a TCP FIN packet, a 65-second
   * timer is activated that holds down the SNAT port." (RST: 16 s; the timers
   * "are subject to change"). "A NAT gateway provides a configurable idle timeout
   * range of 4 minutes to 120 minutes for TCP protocols." (default 4 minutes).
   */
  'azure-nat-gateway': {
    title: 'Azure NAT Gateway',
    scope: 'fleet',
    ports: 'per_ip',
    defaultPorts: 50_000,
    maxIps: 16,
    timeWaitSeconds: 65,
    idleTimeoutSeconds: 240,
    docsUrl: 'https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource',
  },
  /**
   * https://learn.microsoft.com/azure/app-service/troubleshoot-intermittent-outbound-connection-errors:
   * "Each instance on Azure App service is initially given a preallocated number
   * of 128 SNAT ports. The SNAT port limit affects opening connections to the same
   * address and port combination." "The Azure Network load balancer reclaims SNAT
   * port from closed connections only after waiting for 4 minutes." "If either
   * server or client sends FINACK, the SNAT port will be released after 240
   * seconds." Per instance: host scope.
   */
  'azure-app-service': {
    title: 'Azure App Service outbound (platform SNAT)',
    scope: 'host',
    ports: 'per_vm',
    defaultPorts: 128,
    maxIps: null,
    timeWaitSeconds: 240,
    idleTimeoutSeconds: 240,
    docsUrl: 'https://learn.microsoft.com/azure/app-service/troubleshoot-intermittent-outbound-connection-errors',
  },
  /** Any other NAT: `ports` (required) per NAT IP, host scope unless set; no timer unless set. */
  custom: {
    title: 'custom NAT',
    scope: 'host',
    ports: 'per_ip',
    defaultPorts: null,
    maxIps: null,
    timeWaitSeconds: null,
    idleTimeoutSeconds: null,
    docsUrl: 'docs/nat.md#custom',
  },
};

/** One NAT as the configuration resolves it: every default of its profile filled in. */
export interface NatConfig {
  /** How Prometheus and the report name it: hosts behind one gateway share the name. */
  name: string;
  profile: NatProfileName;
  scope: NatScope;
  /** The per-destination limit per NAT IP (shared gateways, custom), or the VM's allocation (host-scope profiles); for GCP dynamic allocation, minPortsPerVm. */
  ports: number;
  ips: number;
  /** CIDR blocks (or `public`) whose traffic goes through this NAT. */
  destinations: string[];
  /** The NAT's hold after close, in seconds; null when unknown (open connections only are counted). */
  timeWaitSeconds: number | null;
  idleTimeoutSeconds: number | null;
  /** GCP: endpoint-independent mapping (mutually exclusive with dynamic allocation). */
  endpointIndependentMapping: boolean;
  /** GCP: dynamic port allocation (ports is then minPortsPerVm, maxPortsPerVm the ceiling). */
  dynamicPortAllocation: boolean;
  maxPortsPerVm: number | null;
  /** Azure load balancer: the backend pool's size, for the default allocation's table; null when not given. */
  backendPoolSize: number | null;
}

/**
 * Connections this host may hold towards one destination through the NAT: per
 * the profile's scope and what its ports count. GCP's VM allocation cannot
 * exceed the tuples its NAT IPs have (64 512 per IP).
 */
export function capacityPerDestination(nat: Pick<NatConfig, 'profile' | 'ports' | 'ips' | 'dynamicPortAllocation' | 'maxPortsPerVm'>): number {
  if (nat.profile === 'gcp-cloud-nat') {
    const vm = nat.dynamicPortAllocation ? (nat.maxPortsPerVm ?? GCP_DYNAMIC_MAX_PORTS.default) : nat.ports;
    return Math.min(vm, GCP_PORTS_PER_IP * nat.ips);
  }
  return PROFILES[nat.profile].ports === 'per_ip' ? nat.ports * nat.ips : nat.ports;
}
