import { describe, expect, it } from 'vitest';
import { AgentError } from '../../agent/errors.js';
import { InlineSampler, WorkerSampler } from '../../agent/sockets/sampler.js';
import { describeWith } from '../support/gate.js';

const OPTS = { procRoot: 'test/fixtures/real-tw-exhaustion/proc', endianness: 'LE' as const, rateWindowSeconds: 60 };
const worker = (name: string): URL => new URL(`../fixtures/workers/${name}.mjs`, import.meta.url);

describe('WorkerSampler deadlines', () => {
  it('abandons a sample that hangs, and the next sample gets a fresh thread', async () => {
    const s = new WorkerSampler(OPTS, 200, worker('hang'));
    const started = Date.now();
    await expect(s.sample(0)).rejects.toMatchObject({ code: 'AGENT_ERR_SAMPLE_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
    // terminate() of an idle JS thread completes quickly; then a new thread is used.
    await new Promise((r) => setTimeout(r, 200));
    await expect(s.sample(0)).rejects.toMatchObject({ code: 'AGENT_ERR_SAMPLE_TIMEOUT' });
    expect(s.starts).toBe(2);
    await s.close();
  });

  it('reports a crashed thread and recovers on the next sample', async () => {
    const s = new WorkerSampler(OPTS, 5000, worker('crash'));
    const err: unknown = await s.sample(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('AGENT_ERR_SAMPLER_FAILED');
    expect((err as AgentError).message).toMatch(/boom/);
    await expect(s.sample(0)).rejects.toMatchObject({ code: 'AGENT_ERR_SAMPLER_FAILED' });
    expect(s.starts).toBe(2);
    await s.close();
  });

  it('refuses overlapping samples', async () => {
    const s = new WorkerSampler(OPTS, 300, worker('hang'));
    const first = s.sample(0);
    await expect(s.sample(0)).rejects.toThrow(/already running/);
    await expect(first).rejects.toMatchObject({ code: 'AGENT_ERR_SAMPLE_TIMEOUT' });
    await s.close();
  });
});

describeWith(['built'], 'WorkerSampler with the real sampler thread', () => {
  it('returns the same sample as the inline sampler', async () => {
    const w = new WorkerSampler(OPTS, 10_000, new URL('../../dist/agent/sockets/worker.js', import.meta.url));
    const fromWorker = await w.sample(1000);
    const inline = await new InlineSampler(OPTS).sample(1000);
    await w.close();
    expect({ ...fromWorker, durationMs: 0 }).toEqual({ ...inline, durationMs: 0 });
    expect(fromWorker.headroom?.destinations[0]?.headroom).toBe(0);
  });
});
