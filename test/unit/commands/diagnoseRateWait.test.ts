/**
 * `agent diagnose` reads the error logs during the connect-rate wait
 * (--rate-interval-ms), not after it: on a large log the default run took the
 * wait plus the scan. The two readers are wrapped to record the order they run
 * in; everything else is the real command on the captured exhaustion.
 */
import { describe, expect, it, vi } from 'vitest';
import { diagnose } from '../../../agent/commands/diagnose.js';
import { resolveConfig } from '../../../agent/config.js';
import type { Clock } from '../../../agent/io/clock.js';

const calls = vi.hoisted(() => [] as string[]);

vi.mock('../../../agent/sockets/collectors/snmp.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../agent/sockets/collectors/snmp.js')>();
  return {
    ...real,
    readActiveOpens: (procRoot: string) => {
      calls.push('ActiveOpens');
      return real.readActiveOpens(procRoot);
    },
  };
});

vi.mock('../../../agent/errorlog/read/recent.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../agent/errorlog/read/recent.js')>();
  return {
    ...real,
    readRecent: (...args: Parameters<typeof real.readRecent>) => {
      calls.push('error log');
      return real.readRecent(...args);
    },
  };
});

const FIXTURE = 'test/fixtures/real-tw-exhaustion';
const NOW = Date.UTC(2026, 10, 21, 8, 44, 0);

/** Starts at NOW (seven seconds after the captured lines) and runs as real time does: the rate needs time to pass. */
function runningFromNow(): Clock {
  const t0 = performance.now();
  return { now: () => NOW + Math.round(performance.now() - t0) };
}

describe('diagnose with a connect-rate wait', () => {
  it('reads the error log before the wait ends, and still measures the rate', async () => {
    const r = await resolveConfig({ env: {}, flags: { procRoot: `${FIXTURE}/proc`, nginxConf: '', errorLogs: [`${FIXTURE}/error.log`], since: '5m' } });
    if (!r.ok) throw new Error(r.problems.join('; '));
    const result = await diagnose(r.config, { format: 'json', rateIntervalMs: 200, hostFacts: false, clock: runningFromNow() });
    // The second ActiveOpens reading ends the wait: the error log was read before it.
    expect(calls.at(-1)).toBe('ActiveOpens');
    expect(calls).toContain('error log');
    expect(calls.indexOf('error log')).toBeLessThan(calls.lastIndexOf('ActiveOpens'));
    expect(result.report.hostSockets?.connectAttemptsPerSecond).not.toBeNull();
    expect(result.report.errorLog).toMatchObject({ lines: 40 });
  });
});
