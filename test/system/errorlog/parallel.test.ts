/**
 * `agent diagnose` reading one large error log with several threads (the built
 * CLI, real worker threads): the report's error-log section must be the one a
 * single thread gives, byte for byte, whatever the window: all of the file, a
 * window that starts in the newest part, a line older than the window in the
 * newest part (one thread stops reading there, so the merge must stop there
 * too), a past window in the middle (its end found by bisection, its start in an
 * older part), and one that reaches past the file's start into its rotated
 * predecessor.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateErrorLog } from '../../../bench/errorlog/generate.js';
import { runAgent } from '../../support/agentProcess.js';
import { describeWith } from '../../support/gate.js';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';

describeWith(['built'], 'diagnose reads a large error log with several threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npa-parallel-'));
  const log = join(dir, 'error.log');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  beforeAll(() => {
    // 200 000 lines, about 64 MB: over the 32 MiB from which a file is read in parts.
    // The generator stamps them from 2026-11-21 06:00 UTC, about two hours' worth.
    generateErrorLog(log, { lines: 200_000, seed: 7 });
    // One line out of order, three quarters down (in one of the newer 8 MiB parts): stamped
    // 05:30, before any other. A window from 05:45 stops at it, read backwards, in one thread or many.
    const text = readFileSync(log);
    const at = text.indexOf(0x0a, Math.floor(text.length * 0.75)) + 1;
    const stray = Buffer.from('2026/11/21 05:30:00 [error] 1#1: *2 connect() failed (113: No route to host) while connecting to upstream, client: 10.0.0.1, server: a, request: "GET / HTTP/1.1", upstream: "http://10.9.9.8:80/", host: "a"\n');
    writeFileSync(log, Buffer.concat([text.subarray(0, at), stray, text.subarray(at)]));
    writeFileSync(`${log}.1`, '2026/11/21 05:59:58 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: a, request: "GET / HTTP/1.1", upstream: "http://10.9.9.9:80/", host: "a"\n');
  });

  /**
   * The error-log section of `diagnose --json` with these window flags and
   * threads (on the command line, or null: from the environment, where the
   * entry's early scan thread cannot see it; read/scanWorker.ts).
   */
  async function errorLogOf(window: string[], threads: number, envThreads: number | null = null): Promise<Record<string, unknown>> {
    const r = await runAgent(
      [
        'diagnose',
        '--json',
        '--proc-root',
        PROC,
        '--rate-interval-ms',
        '0',
        '--error-log',
        log,
        '--error-log-timezone',
        'UTC',
        ...(envThreads === null ? ['--error-log-read-threads', String(threads)] : []),
        ...window,
      ],
      envThreads === null ? {} : { NGINX_PORT_AGENT_ERROR_LOG_READ_THREADS: String(envThreads) },
      60_000,
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe('');
    const section = (JSON.parse(r.stdout) as { errorLog: Record<string, unknown> }).errorLog;
    // Now, for a window that runs to now: the one field a second run moves.
    if (!window.includes('--until')) delete section['until'];
    return section;
  }

  it.each<[string, string[], (lines: number, files: string[]) => boolean]>([
    // Every line (a few of the generator's hold a newline of their own) and the one line of error.log.1.
    ['the whole file, and the rotated predecessor before it', ['--from', '2026-11-21T05:00:00Z'], (n, files) => n > 199_000 && files.length === 2],
    ['a line older than the window in the newest part: the scan stops there', ['--from', '2026-11-21T05:45:00Z'], (n, files) => n > 40_000 && n < 60_000 && files.length === 1],
    ['a window that starts in the newest part', ['--from', '2026-11-21T07:45:00Z'], (n, files) => n > 0 && n < 50_000 && files.length === 1],
    ['a past window in the middle', ['--from', '2026-11-21T06:30:00Z', '--until', '2026-11-21T07:00:00Z'], (n) => n > 40_000 && n < 120_000],
  ])('%s: the same report with 1, 2 and 4 threads', { timeout: 120_000 }, async (_name, window, covers) => {
    const one = await errorLogOf(window, 1);
    expect(covers(one['lines'] as number, one['files'] as string[]), `lines: ${String(one['lines'])}, files: ${JSON.stringify(one['files'])}`).toBe(true);
    expect(await errorLogOf(window, 2)).toEqual(one);
    expect(await errorLogOf(window, 4)).toEqual(one);
  });

  // The command line names a large log and no thread count, so the entry starts
  // a scan thread early; the environment asks for one thread, so diagnose reads
  // alone and ends that worker unused. The report is still the one-thread one.
  it('one thread set in the environment, after the entry started a scan thread: the one-thread report', { timeout: 120_000 }, async () => {
    const window = ['--from', '2026-11-21T05:00:00Z'];
    expect(await errorLogOf(window, 1, 1)).toEqual(await errorLogOf(window, 1));
  });
});
