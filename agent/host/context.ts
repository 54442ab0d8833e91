/**
 * The host facts the hint engine takes as parameters, read here so the engine
 * reads nothing itself: the CPU count (for `worker_processes auto`) and the
 * time zone times are shown in.
 */
import { availableParallelism } from 'node:os';
import type { HostContext } from './model/types.js';

/** The agent's own time zone (TZ, else the system's), as an IANA name. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function hostContext(nowMs: number, timeZone: string = localTimeZone()): HostContext {
  return { cpuCount: availableParallelism(), nowMs, timeZone };
}
