/**
 * Samplers hand the daemon one SocketSample at a time.
 *
 * WorkerSampler (the daemon's) runs takeSocketSample() in a worker thread, with a
 * deadline: a sample that overruns sampleTimeoutMs is abandoned, the thread is
 * terminated and a fresh one takes the next sample. InlineSampler runs it on the
 * calling thread, for one-shot use and tests.
 */
import { Worker } from 'node:worker_threads';
import { agentError } from '../errors.js';
import { ProcBuffer } from './read/procfs.js';
import { takeSocketSample, type SampleOptions } from './sample.js';
import { type SocketSample } from './model/types.js';

export interface Sampler {
  sample(nowMs: number): Promise<SocketSample>;
  close(): Promise<void>;
}

export interface WorkerRequest {
  id: number;
  options: SampleOptions;
  nowMs: number;
}

export type WorkerReply = { id: number; ok: true; sample: SocketSample } | { id: number; ok: false; error: string };

export class InlineSampler implements Sampler {
  private readonly buffer = new ProcBuffer();
  constructor(private readonly options: SampleOptions) {}

  sample(nowMs: number): Promise<SocketSample> {
    try {
      return Promise.resolve(takeSocketSample(this.options, this.buffer, nowMs));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  id: number;
  resolve: (s: SocketSample) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_WORKER_URL = new URL('./worker.js', import.meta.url);

export class WorkerSampler implements Sampler {
  private worker: Worker | null = null;
  private pending: Pending | null = null;
  /**
   * Threads abandoned after a timeout that have not exited yet. A thread stuck in a
   * system call cannot be interrupted; while one is stuck no new thread is started,
   * so a hung --proc-root costs one thread, not one per interval.
   */
  private readonly abandoned = new Set<Worker>();
  private nextId = 1;
  /** Threads started, including restarts after a timeout or crash. */
  starts = 0;

  constructor(
    private readonly options: SampleOptions,
    private readonly timeoutMs: number,
    private readonly workerUrl: URL = DEFAULT_WORKER_URL,
  ) {}

  private spawn(): Worker {
    // The thread's garbage is small and short-lived (the tables stream through a
    // fixed chunk; records live in typed arrays outside the JS heap), so a small
    // young generation keeps its resident memory down at no measurable cost.
    const w = new Worker(this.workerUrl, { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    this.starts++;
    // The HTTP server keeps the process alive; an idle sampler thread must not.
    w.unref();
    w.on('message', (reply: WorkerReply) => {
      const p = this.pending;
      if (p === null || p.id !== reply.id) return; // a reply to an abandoned sample
      this.pending = null;
      clearTimeout(p.timer);
      if (reply.ok) p.resolve(reply.sample);
      else p.reject(agentError('AGENT_ERR_SAMPLER_FAILED', 'sampleFailed', { reason: reply.error }));
    });
    w.on('error', (err) => {
      this.fail(w, agentError('AGENT_ERR_SAMPLER_FAILED', 'crashed', { reason: err.message }, { cause: err }));
    });
    w.on('exit', (code) => {
      this.abandoned.delete(w);
      this.fail(w, agentError('AGENT_ERR_SAMPLER_FAILED', 'exited', { exitCode: code }));
    });
    return w;
  }

  private fail(w: Worker, err: Error): void {
    if (this.worker !== w) return;
    this.worker = null;
    const p = this.pending;
    this.pending = null;
    if (p !== null) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  sample(nowMs: number): Promise<SocketSample> {
    if (this.pending !== null) {
      return Promise.reject(agentError('AGENT_ERR_SAMPLER_FAILED', 'busy'));
    }
    if (this.worker === null && this.abandoned.size > 0) {
      return Promise.reject(agentError('AGENT_ERR_SAMPLE_TIMEOUT', 'stillStuck', { procRoot: this.options.procRoot }));
    }
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    return new Promise<SocketSample>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = null;
        this.worker = null;
        this.abandoned.add(worker);
        void worker.terminate();
        reject(agentError('AGENT_ERR_SAMPLE_TIMEOUT', 'timedOut', { timeoutMs: this.timeoutMs, procRoot: this.options.procRoot }));
      }, this.timeoutMs);
      this.pending = { id, resolve, reject, timer };
      const request: WorkerRequest = { id, options: this.options, nowMs };
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (this.pending !== null) {
      clearTimeout(this.pending.timer);
      this.pending.reject(agentError('AGENT_ERR_SAMPLER_FAILED', 'closed'));
      this.pending = null;
    }
    if (w !== null) await w.terminate();
    for (const a of this.abandoned) void a.terminate();
  }
}
