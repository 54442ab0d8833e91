/**
 * What the hint engine takes in and gives out. Pure types and the small helpers
 * every rule shares.
 */
import type { DestinationHeadroom, HeadroomModel, KernelSettings } from '../sockets/model/headroom.js';
import type { ConnectRate } from '../sockets/model/rates.js';
import type { HostCounters, SysctlValues } from '../sockets/model/types.js';
import type { ErrorLogEvidence } from '../errorlog/model/evidence.js';
import type { NginxEvidence } from '../nginxconf/model/evidence.js';
import type { FindingId } from './catalogue.js';
import type { HostContext } from '../host/model/types.js';
import type { NatModel } from '../nat/model/nat.js';

export type { ErrorLogEvidence } from '../errorlog/model/evidence.js';
export type { DestinationRoute, NginxEvidence } from '../nginxconf/model/evidence.js';
export type { FindingId } from './catalogue.js';
export type { HostContext } from '../host/model/types.js';

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  id: FindingId;
  severity: Severity;
  /** One line. */
  summary: string;
  /** Observed facts, each a line a human can check against the machine: numbers with units, and where. */
  evidence: string[];
  /** The mechanism: why this happens. */
  why: string;
  /** The exact change (lines to paste, in context), or null where the finding is informational. */
  fix: string | null;
  /** What the fix changes, in numbers, where it can be computed; null otherwise. */
  effect: string | null;
  /** Destinations (`source → destination`) the finding is about, if any. */
  destinations: string[];
  /** nginx upstream groups the finding is about, if any. */
  upstreams: string[];
}

export interface Thresholds {
  warningHeadroomRatio: number;
  criticalHeadroomRatio: number;
}

export interface FindingInput {
  headroom: HeadroomModel;
  settings: KernelSettings;
  sysctls: SysctlValues;
  counters: HostCounters;
  thresholds: Thresholds;
  host: HostContext;
  errorLog?: ErrorLogEvidence;
  nginx?: NginxEvidence;
  /** The NATs in front of the host (config `nat`), as nat/model/ sees this sample; absent or empty without one. */
  nat?: readonly NatModel[];
}

export type DestinationLevel = 'exhausted' | 'critical' | 'warning' | 'ok';

/** Defaults: warning below 20 % headroom, critical below 5 % or at 0. */
export function destinationLevel(d: Pick<DestinationHeadroom, 'headroom' | 'headroomRatio'>, t: Thresholds): DestinationLevel {
  if (d.headroom <= 0) return 'exhausted';
  if (d.headroomRatio < t.criticalHeadroomRatio) return 'critical';
  if (d.headroomRatio < t.warningHeadroomRatio) return 'warning';
  return 'ok';
}

export function destinationName(d: Pick<DestinationHeadroom, 'sourceIp' | 'destination'>): string {
  return `${d.sourceIp} → ${d.destination}`;
}

export const pct = (r: number): string => `${(r * 100).toFixed(1)} %`;
/** A rate for humans: whole numbers from 100, one decimal from 1, two significant digits below (0.016, not 0.0). */
export const perSecond = (r: number): string => (r >= 100 ? r.toFixed(0) : r >= 1 || r === 0 ? r.toFixed(1) : Number(r.toPrecision(2)).toString());
/** A connect rate as the findings quote it: "at least 24.1" when it is only a lower bound (ConnectRate.lowerBound). */
/**
 * A lower bound of 0 says nothing (TIME_WAIT hidden by reuse, say, with no
 * socket left to count): it reads as unknown, never as "at least 0".
 */
const UNKNOWN_RATE = 'an unknown number of';
export const rateText = (rate: Pick<ConnectRate, 'perSecond' | 'lowerBound'>): string =>
  rate.lowerBound && rate.perSecond === 0 ? UNKNOWN_RATE : `${rate.lowerBound ? 'at least ' : ''}${perSecond(rate.perSecond)}`;
/** "about 24.1", or "at least 24.1" when the rate is only a lower bound. */
export const aboutRate = (rate: Pick<ConnectRate, 'perSecond' | 'lowerBound'>): string =>
  rate.lowerBound && rate.perSecond === 0 ? UNKNOWN_RATE : `${rate.lowerBound ? 'at least' : 'about'} ${perSecond(rate.perSecond)}`;
/** Findings list at most this many destinations in their evidence. */
export const MAX_LISTED = 5;
