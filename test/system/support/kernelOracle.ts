/**
 * The kernel's own view, for tests that hold the agent's numbers to it: `ss`
 * counts by state inside a namespace, and the Tcp counters of its
 * /proc/net/snmp (PassiveOpens in the upstream's namespace counts every
 * connection nginx opened to it, whatever became of it).
 */
import { snmpCounters } from '../../../agent/sockets/collectors/snmp.js';
import type { Netns } from './netns.js';

/** `ss` state names (ss(8), "STATE-FILTER") of the kernel states the agent reports. */
export const SS_STATE = {
  established: 'established',
  syn_sent: 'syn-sent',
  fin_wait1: 'fin-wait-1',
  fin_wait2: 'fin-wait-2',
  time_wait: 'time-wait',
  close_wait: 'close-wait',
  last_ack: 'last-ack',
} as const;
export type OracleState = keyof typeof SS_STATE;

/**
 * Sockets in `ns` towards `dst` in `state` whose local port lies in the
 * namespace's ip_local_port_range (the ones that take ports from it), as `ss`
 * counts them. `ss` reports a timewait socket in substate FIN_WAIT2 as FIN-WAIT-2,
 * as /proc/net/tcp does.
 */
export async function ssCount(ns: Netns, state: OracleState, dst: string): Promise<number> {
  const [low, high] = (await ns.readSysctl('net.ipv4.ip_local_port_range')).split(/\s+/);
  const out = await ns.run('ss', ['-Htan', 'state', SS_STATE[state], `dst ${dst} and sport >= :${low} and sport <= :${high}`]);
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

/** Sockets in `ns` towards `dst` in any state whose local port lies in the namespace's ip_local_port_range: the ports they take. */
export async function ssPortsUsed(ns: Netns, dst: string): Promise<number> {
  const [low, high] = (await ns.readSysctl('net.ipv4.ip_local_port_range')).split(/\s+/);
  const out = await ns.run('ss', ['-Htan', `dst ${dst} and sport >= :${low} and sport <= :${high}`]);
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

/** Tcp PassiveOpens of the namespace: connections it accepted since it was made, with the time it was read. */
export async function passiveOpens(ns: Netns): Promise<{ value: number; atMs: number }> {
  const atMs = Date.now();
  const { values } = snmpCounters(await ns.run('cat', ['/proc/net/snmp']));
  if (values.passiveOpens === null) throw new Error(`${ns.name}: no Tcp PassiveOpens in /proc/net/snmp`);
  return { value: values.passiveOpens, atMs };
}

/** Connections per second accepted between two PassiveOpens readings. */
export const acceptRate = (a: { value: number; atMs: number }, b: { value: number; atMs: number }): number => (b.value - a.value) / ((b.atMs - a.atMs) / 1000);
