/**
 * snmp: the Tcp counters of /proc/net/snmp (ActiveOpens, PassiveOpens,
 * AttemptFails). ActiveOpens counts connect() calls that sent a SYN: the sampler
 * turns it into the connect-attempt rate, and diagnose reads it a second time
 * (readActiveOpens) to measure that rate in one run.
 */
import { counter, parseHeaderValuePairs } from '../parse/procNetCounters.js';
import { readProcText } from '../read/procfs.js';
import type { HostCounters } from '../model/types.js';
import { optionalFileFailed, type Collector } from './collector.js';

export type SnmpCounters = Pick<HostCounters, 'activeOpens' | 'passiveOpens' | 'attemptFails'>;

/** The Tcp counters in net/snmp's text, and what was wrong with it. */
export function snmpCounters(text: string): { values: SnmpCounters; problems: string[] } {
  const parsed = parseHeaderValuePairs(text);
  const values: SnmpCounters = {
    activeOpens: counter(parsed.groups, 'Tcp', 'ActiveOpens'),
    passiveOpens: counter(parsed.groups, 'Tcp', 'PassiveOpens'),
    attemptFails: counter(parsed.groups, 'Tcp', 'AttemptFails'),
  };
  return { values, problems: values.activeOpens === null ? [...parsed.problems, 'Tcp ActiveOpens missing'] : parsed.problems };
}

const EMPTY: SnmpCounters = { activeOpens: null, passiveOpens: null, attemptFails: null };

export const snmpCollector: Collector<'snmp', SnmpCounters> = {
  name: 'snmp',
  sources: ['snmp'],
  collect(ctx) {
    const r = ctx.buffer.readText(ctx.procRoot, 'net/snmp');
    if (!r.ok) return { status: [optionalFileFailed('snmp', r)], values: { ...EMPTY } };
    const { values, problems } = snmpCounters(r.value);
    // Without ActiveOpens the file is of no use to the agent: the source is down.
    const state = values.activeOpens === null ? 'error' : 'ok';
    return { status: [problems.length > 0 ? { source: 'snmp', state, detail: problems.join('; ') } : { source: 'snmp', state }], values };
  },
  empty: () => ({ ...EMPTY }),
};

/** Tcp ActiveOpens alone, for a second reading when measuring the connect-attempt rate. */
export function readActiveOpens(procRoot: string): number | null {
  const r = readProcText(procRoot, 'net/snmp');
  return r.ok ? snmpCounters(r.value).values.activeOpens : null;
}
