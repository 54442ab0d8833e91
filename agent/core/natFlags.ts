/**
 * The flags of the one-NAT case and the field each sets. Apart from the schema
 * (natConfig.ts) so the CLI and config.ts name them without loading zod.
 */
export const NAT_FLAGS = {
  profile: '--nat-profile',
  name: '--nat-name',
  ports: '--nat-ports',
  ips: '--nat-ips',
  destinations: '--nat-destinations',
  timeWaitSeconds: '--nat-time-wait-seconds',
} as const;
export type NatFlagField = keyof typeof NAT_FLAGS;
