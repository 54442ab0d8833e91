/** The host as the report header names it. Pure types. */

export interface HostFacts {
  hostname: string;
  kernel: string;
  distro: string;
  addresses: string[];
}

/** Facts about the host the rules need, given by the command (the engine reads nothing itself). */
export interface HostContext {
  /** Logical CPUs, for `worker_processes auto`; null when unknown. */
  cpuCount: number | null;
  /** Now, in Unix ms. */
  nowMs: number;
  /** The IANA time zone (or UTC offset) times are shown in. */
  timeZone: string;
}
