/**
 * What the status page shows, and /api/status serves: the report the daemon
 * built for its last sample (the same report `agent diagnose --json` prints) and
 * the hour of history behind it. `agent diagnose --format html` makes the same
 * view without history. Pure types.
 */
import type { Thresholds } from '../hints/findings.js';
import type { HistorySnapshot } from './history.js';
import type { Report } from './report.js';

export interface StatusView {
  report: Report;
  /** The daemon's samples of the last hour; null for diagnose, which takes one sample. */
  history: HistorySnapshot | null;
  thresholds: Thresholds;
  /** The daemon's sample interval (the page refreshes at this pace); null for diagnose. */
  sampleIntervalMs: number | null;
  version: string;
  /** Sources beyond the socket sample, with whether each is up: each tailed error log, nginx's config. */
  agentSources: { source: string; up: boolean }[];
}
