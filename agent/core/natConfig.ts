/**
 * The `nat` setting: the NATs in front of this host, each one filled in from its
 * profile (core/natProfiles.ts) and checked against what the provider accepts.
 * Pure; config.ts puts it in the one schema, and loads it with zod only when a
 * configuration names NATs. docs/nat.md explains each field.
 */
import { z } from 'zod';
import { destinationEntryProblem, PUBLIC } from './cidr.js';
import {
  azureDefaultPorts,
  AZURE_LB_PORTS_PER_IP,
  GCP_DYNAMIC_MAX_PORTS,
  GCP_DYNAMIC_MIN_PORTS,
  GCP_STATIC_MIN_PORTS,
  NAT_PROFILES,
  PROFILES,
  type NatConfig,
} from './natProfiles.js';

export { NAT_FLAGS, type NatFlagField } from './natFlags.js';

/** Strings from flags and the environment become numbers when they look like one. */
const int = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));
const bool = z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());
/** Seconds, or null (`unknown` from a flag) when the provider documents no timer. */
const seconds = z.preprocess(
  (v) => (v === 'unknown' || v === 'null' ? null : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
  z.number().int().min(0).max(86_400).nullable(),
);
/** A list from a flag may come comma-separated. */
const cidrList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '')
      : v,
  z
    .array(
      // Each entry on its own, so a bad block is reported even when the rest of the NAT is wrong too.
      z.string().superRefine((v, ctx) => {
        const problem = destinationEntryProblem(v);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      }),
    )
    .min(1, 'must name at least one CIDR block (or public)')
    .max(256),
);

/** Prometheus label values and report headings: short, no spaces or quotes. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

const isPowerOf2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export const natInput = z.strictObject({
  name: z.string().regex(NAME_RE, 'must be 1–64 letters, digits, _ . : - (it becomes a Prometheus label value)').optional(),
  profile: z.enum(NAT_PROFILES, { error: (issue) => `${issue.input === undefined ? 'required, ' : 'must be '}one of ${NAT_PROFILES.join(', ')}` }),
  scope: z.enum(['host', 'fleet']).optional(),
  ports: int(1, 10_000_000).optional(),
  ips: int(1, 1024).optional(),
  destinations: cidrList.optional(),
  timeWaitSeconds: seconds.optional(),
  idleTimeoutSeconds: seconds.optional(),
  endpointIndependentMapping: bool.optional(),
  dynamicPortAllocation: bool.optional(),
  maxPortsPerVm: int(1, 10_000_000).nullable().optional(),
  backendPoolSize: int(1, 100_000).nullable().optional(),
});
type NatInput = z.infer<typeof natInput>;

type Issue = { path: (string | number)[]; message: string };

/** What the provider would refuse, or what the agent cannot work out: every problem of one NAT. */
function natProblems(n: NatInput): Issue[] {
  const out: Issue[] = [];
  const profile = PROFILES[n.profile];
  const gcp = n.profile === 'gcp-cloud-nat';
  if (profile.defaultPorts === null && n.ports === undefined && !(n.profile === 'azure-lb-outbound' && n.backendPoolSize != null)) {
    out.push({ path: ['ports'], message: `the ${n.profile} profile has no default: give the NAT's per-destination limit (per NAT IP)` });
  }
  if (profile.maxIps !== null && n.ips !== undefined && n.ips > profile.maxIps) {
    out.push({ path: ['ips'], message: `${profile.title} takes at most ${profile.maxIps} IP addresses` });
  }
  if (!gcp && (n.endpointIndependentMapping === true || n.dynamicPortAllocation === true || n.maxPortsPerVm != null)) {
    const key = n.endpointIndependentMapping === true ? 'endpointIndependentMapping' : n.dynamicPortAllocation === true ? 'dynamicPortAllocation' : 'maxPortsPerVm';
    out.push({ path: [key], message: 'applies to the gcp-cloud-nat profile only' });
  }
  if (n.backendPoolSize != null && n.profile !== 'azure-lb-outbound') out.push({ path: ['backendPoolSize'], message: 'applies to the azure-lb-outbound profile only' });
  if (gcp) out.push(...gcpProblems(n));
  if (n.profile === 'azure-lb-outbound') {
    if (n.ports !== undefined && (n.ports % 8 !== 0 || n.ports > AZURE_LB_PORTS_PER_IP * (n.ips ?? 1))) {
      out.push({ path: ['ports'], message: `allocatedOutboundPorts must be a multiple of 8, at most ${AZURE_LB_PORTS_PER_IP} per frontend IP (outbound-rules)` });
    }
    if (n.ports === undefined && n.backendPoolSize != null && azureDefaultPorts(n.backendPoolSize, n.ips ?? 1) === null) {
      out.push({ path: ['backendPoolSize'], message: 'the default allocation table stops at 1000 instances: give ports (allocatedOutboundPorts)' });
    }
  }
  return out;
}

/**
 * Google Cloud NAT's own checks (set-up page): static minPortsPerVm 2–57344;
 * dynamic min a power of 2 in 32–32768, max a power of 2 in 64–65536 above min;
 * and "If set to true, … enableEndpointIndependentMapping cannot be set to true"
 * (RouterNat.enable_dynamic_port_allocation).
 */
function gcpProblems(n: NatInput): Issue[] {
  const out: Issue[] = [];
  if (n.dynamicPortAllocation === true) {
    if (n.endpointIndependentMapping === true) {
      out.push({ path: ['endpointIndependentMapping'], message: 'Cloud NAT does not allow endpoint-independent mapping with dynamic port allocation: turn one off' });
    }
    const min = n.ports ?? GCP_DYNAMIC_MIN_PORTS.default;
    const max = n.maxPortsPerVm ?? GCP_DYNAMIC_MAX_PORTS.default;
    if (!isPowerOf2(min) || min < GCP_DYNAMIC_MIN_PORTS.low || min > GCP_DYNAMIC_MIN_PORTS.high) {
      out.push({ path: ['ports'], message: `with dynamic allocation, minPortsPerVm must be a power of 2 from ${GCP_DYNAMIC_MIN_PORTS.low} to ${GCP_DYNAMIC_MIN_PORTS.high}` });
    }
    if (!isPowerOf2(max) || max < GCP_DYNAMIC_MAX_PORTS.low || max > GCP_DYNAMIC_MAX_PORTS.high || max <= min) {
      out.push({ path: ['maxPortsPerVm'], message: `must be a power of 2 from ${GCP_DYNAMIC_MAX_PORTS.low} to ${GCP_DYNAMIC_MAX_PORTS.high}, above minPortsPerVm (${min})` });
    }
  } else {
    if (n.maxPortsPerVm != null) out.push({ path: ['maxPortsPerVm'], message: 'applies to dynamic port allocation only (dynamicPortAllocation: true)' });
    if (n.ports !== undefined && (n.ports < GCP_STATIC_MIN_PORTS.low || n.ports > GCP_STATIC_MIN_PORTS.high)) {
      out.push({ path: ['ports'], message: `minPortsPerVm must be from ${GCP_STATIC_MIN_PORTS.low} to ${GCP_STATIC_MIN_PORTS.high}` });
    }
  }
  return out;
}

/** The profile's defaults where the NAT leaves a field out. Idempotent: a filled NAT comes back unchanged. */
function fill(n: NatInput): NatConfig {
  const profile = PROFILES[n.profile];
  const ips = n.ips ?? 1;
  const dynamic = n.dynamicPortAllocation ?? false;
  const defaultPorts =
    n.profile === 'gcp-cloud-nat' && dynamic
      ? GCP_DYNAMIC_MIN_PORTS.default
      : n.profile === 'azure-lb-outbound' && n.backendPoolSize != null
        ? (azureDefaultPorts(n.backendPoolSize, ips) ?? 0)
        : (profile.defaultPorts ?? 0);
  return {
    name: n.name ?? n.profile,
    profile: n.profile,
    scope: n.scope ?? profile.scope,
    ports: n.ports ?? defaultPorts,
    ips,
    destinations: n.destinations ?? [PUBLIC],
    timeWaitSeconds: n.timeWaitSeconds === undefined ? profile.timeWaitSeconds : n.timeWaitSeconds,
    idleTimeoutSeconds: n.idleTimeoutSeconds === undefined ? profile.idleTimeoutSeconds : n.idleTimeoutSeconds,
    endpointIndependentMapping: n.endpointIndependentMapping ?? false,
    dynamicPortAllocation: dynamic,
    maxPortsPerVm: n.profile === 'gcp-cloud-nat' && dynamic ? (n.maxPortsPerVm ?? GCP_DYNAMIC_MAX_PORTS.default) : null,
    backendPoolSize: n.backendPoolSize ?? null,
  };
}

const natEntry = natInput
  .superRefine((n, ctx) => {
    for (const issue of natProblems(n)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .transform(fill);

/** One NAT or a list of them; each filled in from its profile; names unique. */
export const natSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v),
  z
    .array(natEntry)
    .max(16)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((n, i) => {
        if (seen.has(n.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${n.name}" names two NATs: give each its own name` });
        seen.add(n.name);
      });
    }),
);

/** The fields a NAT object takes (docs/configuration.md documents each). */
export const NAT_FIELDS = Object.keys(natInput.shape);
