/**
 * The host facts the hint engine takes as parameters, read here so the engine
 * reads nothing itself: the CPU count (for `worker_processes auto`) and the
 * time zone times are shown in.
 */
import { readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { HostContext } from './model/types.js';

/**
 * The agent's own time zone, as an IANA name: $TZ, else the zone /etc/localtime
 * links to (…/zoneinfo/Europe/Berlin), else what ICU says. ICU is asked last: its
 * first use loads its time-zone data, a sizeable part of a one-shot run's start.
 */
export function localTimeZone(): string {
  const tz = process.env['TZ'];
  if (tz !== undefined && tz !== '') return tz.startsWith(':') ? tz.slice(1) : tz;
  try {
    const target = readlinkSync('/etc/localtime');
    const at = target.indexOf('zoneinfo/');
    if (at >= 0) return target.slice(at + 'zoneinfo/'.length);
  } catch {
    // Not a link (a copied file, or none): ask ICU.
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function hostContext(nowMs: number, timeZone: string = localTimeZone()): HostContext {
  return { cpuCount: availableParallelism(), nowMs, timeZone };
}
