/**
 * The daemon wired in-process with an inline sampler on the captured exhaustion
 * and a fake clock: samples, findings and the HTTP answers carry the clock's time,
 * and the loop takes its next sample one interval later (fake timers, no sleeping).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startDaemon, type Daemon } from '../../../agent/commands/run.js';
import { resolveConfig, type Config } from '../../../agent/config.js';
import { InlineSampler } from '../../../agent/sockets/sampler.js';
import { FakeClock } from '../../support/fakeClock.js';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';
const NOW = Date.UTC(2026, 10, 21, 8, 44, 0);

async function config(errorLogs: string[] = ['/nonexistent/error.log']): Promise<Config> {
  const r = await resolveConfig({ env: {}, flags: { procRoot: PROC, listen: '127.0.0.1:0', nginxConf: '', errorLogs, sampleIntervalMs: 5000 } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

describe('the daemon with a fake clock', () => {
  let daemon: Daemon | null = null;
  afterEach(async () => {
    vi.useRealTimers();
    await daemon?.shutdown('test over');
    daemon = null;
  });

  it("samples at the clock's now, again one interval later, and serves findings and metrics stamped with that time", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const clock = new FakeClock(NOW);
    const sampler = new InlineSampler({ procRoot: PROC, endianness: 'LE', rateWindowSeconds: 60 });
    const taken: number[] = [];
    const sample = sampler.sample.bind(sampler);
    sampler.sample = (nowMs: number) => {
      taken.push(nowMs);
      return sample(nowMs);
    };
    daemon = await startDaemon(await config(), pino({ level: 'silent' }), { sampler, installSignalHandlers: false, clock });
    await vi.advanceTimersByTimeAsync(0);
    expect(taken).toEqual([NOW]);

    clock.advance(5000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(taken).toEqual([NOW, NOW + 5000]);

    vi.useRealTimers();
    const base = `http://${daemon.address.replace(/^http:\/\//, '')}`;
    const findings = (await (await fetch(`${base}/api/findings`)).json()) as { generatedAt: string; status: string; findings: { id: string }[] };
    expect(findings.generatedAt).toBe(new Date(NOW + 5000).toISOString());
    expect(findings.status).toBe('CRITICAL');
    expect(findings.findings.map((f) => f.id)).toContain('headroom_exhausted');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`nginx_port_last_sample_timestamp_seconds ${(NOW + 5000) / 1000}`);
  });

  it('starts with no error log at all (an empty list), serving findings with no error-log evidence and no error-log source', async () => {
    const clock = new FakeClock(NOW);
    const sampler = new InlineSampler({ procRoot: PROC, endianness: 'LE', rateWindowSeconds: 60 });
    daemon = await startDaemon(await config([]), pino({ level: 'silent' }), { sampler, installSignalHandlers: false, clock });
    const base = `http://${daemon.address.replace(/^http:\/\//, '')}`;
    const findings = (await (await fetch(`${base}/api/findings`)).json()) as { status: string };
    expect(findings.status).toBe('CRITICAL');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/source="error_log:/);
  });
});
