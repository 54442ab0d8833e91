/**
 * A cloud provider's own API reached through the NAT, recognised by the host name
 * nginx's configuration gives it (an address alone says nothing certain), and the
 * private path the provider offers instead, which bypasses the NAT. Pure.
 *
 * - AWS (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html): "If most
 *   traffic through your NAT gateway is to AWS services that support interface
 *   endpoints or gateway endpoints, consider creating an interface endpoint or
 *   gateway endpoint for these services." S3 and DynamoDB have gateway endpoints.
 * - Google (https://docs.cloud.google.com/nat/docs/overview): "Traffic sent to Google
 *   APIs and services are routed through Private Google Access even if the VM
 *   instance initiating the connections uses Public NAT."
 * - Azure (https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections):
 *   "…you can use Azure Private Link to avoid SNAT entirely."; with App Service and a
 *   NAT gateway, "all traffic to Azure Storage must be using private endpoint or
 *   service endpoint" (https://learn.microsoft.com/azure/app-service/networking/nat-gateway-integration).
 */
import type { NatProfileName } from '../core/natProfiles.js';

export type Provider = 'aws' | 'gcp' | 'azure';

export interface ProviderApi {
  provider: Provider;
  host: string;
  /** The service, as the provider's endpoint names it (s3, sqs, storage, blob…). */
  service: string;
  /** The change that takes this traffic off the NAT, as commands or steps. */
  fix: string[];
}

const PROVIDER_OF: Partial<Record<NatProfileName, Provider>> = {
  'aws-nat-gateway': 'aws',
  'gcp-cloud-nat': 'gcp',
  'azure-lb-outbound': 'azure',
  'azure-nat-gateway': 'azure',
  'azure-app-service': 'azure',
};

const AWS_REGION = /\.((?:[a-z]{2}|us-gov)-[a-z]+-\d)\.amazonaws\.com$/;
const AZURE_STORAGE = /\.(blob|file|queue|table|dfs)\.core\.windows\.net$/;
const AZURE_PRIVATE_LINK = /\.(database\.windows\.net|vault\.azure\.net|servicebus\.windows\.net|azurecr\.io|documents\.azure\.com|azurewebsites\.net)$/;

function aws(host: string): ProviderApi | null {
  if (!host.endsWith('.amazonaws.com')) return null;
  const region = AWS_REGION.exec(host)?.[1] ?? 'REGION';
  const labels = host.split('.');
  const service = labels.includes('s3') || labels.some((l) => l.startsWith('s3-')) ? 's3' : labels.includes('dynamodb') ? 'dynamodb' : (labels[labels.length - 4] ?? labels[0] ?? 'SERVICE');
  const gateway = service === 's3' || service === 'dynamodb';
  return {
    provider: 'aws',
    host,
    service,
    fix: gateway
      ? [
          `# a gateway endpoint for ${service} (no charge): the route tables of nginx's subnets send ${service} traffic to it, not to the NAT gateway`,
          `aws ec2 create-vpc-endpoint --vpc-id VPC_ID --service-name com.amazonaws.${region}.${service} --route-table-ids ROUTE_TABLE_ID`,
        ]
      : [
          `# an interface endpoint (PrivateLink) for ${service}: with private DNS, ${host} resolves to it inside the VPC`,
          `aws ec2 create-vpc-endpoint --vpc-id VPC_ID --vpc-endpoint-type Interface --service-name com.amazonaws.${region}.${service} --subnet-ids SUBNET_ID --private-dns-enabled`,
        ],
  };
}

function gcp(host: string): ProviderApi | null {
  if (!host.endsWith('.googleapis.com')) return null;
  return {
    provider: 'gcp',
    host,
    service: host.slice(0, -'.googleapis.com'.length),
    fix: [
      "# Private Google Access on nginx's subnet: Google APIs are then reached without Cloud NAT",
      'gcloud compute networks subnets update SUBNET --region=REGION --enable-private-ip-google-access',
      "# (if it is on already, this traffic does not pass the NAT: leave the API's addresses out of the NAT's destinations)",
    ],
  };
}

function azure(host: string): ProviderApi | null {
  const storage = AZURE_STORAGE.exec(host);
  const linked = storage === null ? AZURE_PRIVATE_LINK.exec(host) : null;
  if (storage === null && linked === null) return null;
  const service = storage?.[1] ?? linked?.[1] ?? 'service';
  return {
    provider: 'azure',
    host,
    service,
    fix: [
      `# a private endpoint (Private Link) for ${host}: traffic to it stays in the virtual network, without SNAT`,
      `az network private-endpoint create --resource-group RESOURCE_GROUP --name PRIVATE_ENDPOINT --vnet-name VNET --subnet SUBNET --private-connection-resource-id RESOURCE_ID --group-id ${storage !== null ? service : 'GROUP_ID'} --connection-name CONNECTION`,
      ...(storage !== null ? ['# (or a service endpoint for Microsoft.Storage on the subnet)'] : []),
    ],
  };
}

/** The provider API a host name belongs to, when it is the same provider as the NAT's (a custom NAT: any); else null. */
export function providerApi(host: string, profile: NatProfileName): ProviderApi | null {
  const h = host.toLowerCase().replace(/\.$/, '');
  const api = aws(h) ?? gcp(h) ?? azure(h);
  if (api === null) return null;
  const own = PROVIDER_OF[profile];
  return own === undefined || own === api.provider ? api : null;
}
