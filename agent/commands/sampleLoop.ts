/**
 * The daemon's sample loop: one sample at a time, every sampleIntervalMs, each
 * landing in the metrics. A failed or abandoned sample is counted, marks the
 * sources down and is logged once per change of state; the loop carries on.
 */
import type { Logger } from 'pino';
import { describeError, AgentError } from '../errors.js';
import type { AgentMetrics } from '../export/metrics.js';
import { withHostRateEvidence } from '../sockets/model/hostRates.js';
import { counterRate, type CounterReading } from '../sockets/model/rates.js';
import { SOURCES, type SocketSample, type SourceName } from '../sockets/model/types.js';
import type { Sampler } from '../sockets/sampler.js';
import type { NatConfig } from '../core/natProfiles.js';
import { computeNat, natTimeWaitThresholdsMs, type NatModel } from '../nat/model/nat.js';

export interface SampleLoopOptions {
  intervalMs: number;
  now: () => number;
  /** Called after each sample has landed in the metrics (the findings are computed here). */
  onSample?: (sample: SocketSample, connectAttemptsPerSecond: number | null, nat: readonly NatModel[]) => void;
  /** The NATs in front of the host (config `nat`): each sample's NAT model goes to the metrics and onSample. */
  nat?: readonly NatConfig[];
}

export class SampleLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private prevActiveOpens: CounterReading | null = null;
  private readonly sourceState = new Map<SourceName, string>();
  private lastFailure: string | null = null;
  samplesOk = 0;

  constructor(
    private readonly sampler: Sampler,
    private readonly metrics: AgentMetrics,
    private readonly logger: Logger,
    private readonly opts: SampleLoopOptions,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = null;
      });
    }, delayMs);
  }

  /** Takes one sample and applies it. Exposed for tests. */
  async runOnce(): Promise<void> {
    const started = this.opts.now();
    try {
      const sample = await this.sampler.sample(started);
      this.apply(sample);
    } catch (err) {
      const timeout = err instanceof AgentError && err.code === 'AGENT_ERR_SAMPLE_TIMEOUT';
      this.metrics.sampleFailed(timeout ? 'timeout' : 'error', SOURCES);
      const msg = describeError(err);
      if (msg !== this.lastFailure) this.logger.error({ err }, `socket sample failed: ${msg}`);
      this.lastFailure = msg;
    }
    const elapsed = this.opts.now() - started;
    this.schedule(Math.max(0, this.opts.intervalMs - elapsed));
  }

  private apply(taken: SocketSample): void {
    if (this.lastFailure !== null) this.logger.info('socket sampling recovered');
    this.lastFailure = null;
    const cur = taken.counters.activeOpens === null ? null : { value: taken.counters.activeOpens, atMs: taken.takenAtMs };
    const connectAttemptsPerSecond = counterRate(this.prevActiveOpens, cur);
    this.prevActiveOpens = cur;
    // Where TIME_WAIT hides a destination's connect rate, the ActiveOpens rate since the last sample stands in for it.
    const sample = withHostRateEvidence(taken, connectAttemptsPerSecond);
    const nats = this.opts.nat ?? [];
    // The sampler counted TIME_WAIT under the same thresholds (run.ts gives it natTimeWaitThresholdsMs of these NATs).
    const nat = nats.length > 0 && sample.headroom !== null ? computeNat(nats, sample.headroom, natTimeWaitThresholdsMs(nats)) : [];
    this.metrics.update({ sample, connectAttemptsPerSecond, nat });
    try {
      this.opts.onSample?.(sample, connectAttemptsPerSecond, nat);
    } catch (err) {
      // The findings are an addition to the metrics: a bug there must not stop sampling.
      this.logger.error({ err }, `computing findings failed: ${describeError(err)}`);
    }
    for (const s of sample.sources) {
      const prev = this.sourceState.get(s.source);
      const now = `${s.state}:${s.state === 'error' ? (s.detail ?? '') : ''}`;
      if (prev !== now) {
        if (s.state === 'error') this.logger.error({ source: s.source, code: s.code }, `source ${s.source} failed: ${s.detail ?? ''}`);
        else if (prev?.startsWith('error') === true) this.logger.info({ source: s.source }, `source ${s.source} recovered`);
        else if (s.state === 'unavailable' && prev === undefined) this.logger.info({ source: s.source }, `source ${s.source} unavailable: ${s.detail ?? ''}`);
        this.sourceState.set(s.source, now);
      }
    }
    if (sample.headroom !== null) this.samplesOk++;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
  }
}
