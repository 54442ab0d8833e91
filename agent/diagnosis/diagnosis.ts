/**
 * The one way findings are made: `agent diagnose` and the daemon both call
 * assess() on a sample and what the error log and nginx's config add. Pure.
 */
import { computeFindings, statusOf, type ErrorLogEvidence, type Finding, type HostContext, type NginxEvidence, type Status, type Thresholds } from '../hints/findings.js';
import type { SocketSample } from '../sockets/model/types.js';
import type { NatModel } from '../nat/model/nat.js';
import { buildReport, type Report, type ReportInput } from './report.js';

export interface AssessmentInput {
  sample: SocketSample;
  thresholds: Thresholds;
  host: HostContext;
  errorLog?: ErrorLogEvidence;
  nginx?: NginxEvidence;
  /** The NATs' view of this sample (nat/model/); absent without a NAT. */
  nat?: readonly NatModel[];
}

export interface Assessment {
  findings: Finding[];
  /** UNKNOWN when the sample has no headroom model (a required source failed). */
  status: Status;
}

export function assess(input: AssessmentInput): Assessment {
  const { sample } = input;
  const findings =
    sample.headroom !== null && sample.settings !== null
      ? computeFindings({
          headroom: sample.headroom,
          settings: sample.settings,
          sysctls: sample.sysctls,
          counters: sample.counters,
          thresholds: input.thresholds,
          host: input.host,
          ...(input.errorLog !== undefined ? { errorLog: input.errorLog } : {}),
          ...(input.nginx !== undefined ? { nginx: input.nginx } : {}),
          ...(input.nat !== undefined ? { nat: input.nat } : {}),
        })
      : [];
  return { findings, status: statusOf(findings, sample.headroom !== null) };
}

export type DiagnosisInput = Omit<ReportInput, 'findings'> & { context: HostContext };

/** Findings and the report for one sample: what `agent diagnose` prints. */
export function diagnoseSample(input: DiagnosisInput): Report {
  const { context, ...reportInput } = input;
  const { findings } = assess({
    sample: input.sample,
    thresholds: input.thresholds,
    host: context,
    ...(input.errorLog !== undefined ? { errorLog: input.errorLog.summary } : {}),
    ...(input.nginx !== undefined ? { nginx: input.nginx.evidence } : {}),
    ...(input.nat !== undefined ? { nat: input.nat } : {}),
  });
  return buildReport({ ...reportInput, findings });
}
