/**
 * `agent run --error-log-backfill` reading a large log (the built daemon, real
 * worker threads): with 2 and 4 threads the backlog is read in parts
 * (errorlog/backlog.ts), and the error-log metrics and the status page's
 * error-log section must be the ones one thread gives, line by line. The log
 * holds what the merge must get right: a line not in nginx's format first,
 * nginx's start-up line and an over-long line in the middle, recent lines (in the
 * findings window) at the start, in the middle and at the end, and more
 * destinations than the label limit.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateErrorLog } from '../../../bench/errorlog/generate.js';
import { startDaemon } from '../../support/agentProcess.js';
import { describeWith } from '../../support/gate.js';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';

/** "YYYY/MM/DD HH:MM:SS" in UTC (the daemon reads the log with --error-log-timezone UTC). */
function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/-/g, '/').replace('T', ' ');
}

const recent = (ms: number, dest: string, cid: number): string =>
  `${utc(ms)} [crit] 7#7: *${cid} connect() to ${dest} failed (99: Cannot assign requested address) while connecting to upstream, client: 10.1.1.1, server: a, request: "GET / HTTP/1.1", upstream: "http://${dest}/", host: "a"`;

describeWith(['built'], 'the daemon reads a large backlog with several threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npa-backlog-'));
  const log = join(dir, 'error.log');
  let lines = 0;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  beforeAll(() => {
    // 300 000 lines, about 96 MB: the first pass reads 32 MiB line by line (start() waits for it), and
    // what is left is over the 32 MiB from which a backlog is read in parts.
    generateErrorLog(log, { lines: 300_000, seed: 11 });
    const text = readFileSync(log);
    const at = text.indexOf(0x0a, Math.floor(text.length / 2)) + 1;
    // A minute ago: inside the findings window for as long as the three daemons take.
    const now = Date.now() - 60_000;
    const middle = [`${utc(now - 3_600_000)} [notice] 1#1: nginx/1.22.1`, 'y'.repeat(70 * 1024), recent(now, '10.20.0.1:8080', 1), recent(now, '10.20.0.2:8080', 2)].join('\n');
    const end = [recent(now + 1000, '10.20.0.1:8080', 3), '(the last line: not nginx)'].join('\n');
    // Two recent lines first (their destinations take two of the five labels), out of order as nginx never writes.
    const first = ['(not a line nginx writes)', recent(now, '10.20.0.1:8080', 5), recent(now, '10.20.0.2:8080', 6)].join('\n');
    const all = Buffer.concat([Buffer.from(`${first}\n`), text.subarray(0, at), Buffer.from(`${middle}\n`), text.subarray(at), Buffer.from(`${end}\n`)]);
    writeFileSync(log, all);
    // Every newline ends a line handed on but the over-long one.
    lines = all.reduce((n, b) => (b === 0x0a ? n + 1 : n), 0) - 1;
  });

  /** The error-log metrics and the status page's error-log section once the daemon has read every line. */
  async function readWith(threads: number): Promise<{ metrics: string[]; errorLog: Record<string, unknown>; logs: string }> {
    const daemon = await startDaemon([
      '--proc-root', PROC,
      '--error-log', log,
      '--error-log-backfill',
      '--error-log-timezone', 'UTC',
      '--error-log-read-threads', String(threads),
      '--max-destinations', '5',
      '--sample-interval-ms', '250',
    ]);
    try {
      const deadline = Date.now() + 60_000;
      let metrics: string[] = [];
      for (;;) {
        metrics = (await (await fetch(`${daemon.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('nginx_port_error_log_'));
        if (metrics.includes(`nginx_port_error_log_lines_total ${lines}`)) break;
        if (Date.now() > deadline) throw new Error(`the daemon did not read ${lines} lines in 60 s: ${metrics.join('\n')}\n${daemon.logs()}`);
        await sleep(100);
      }
      // The status page's report is made at each sample: the first one after every line was read.
      const read = Date.now();
      let status: { report: { generatedAt: string; errorLog: Record<string, unknown> } };
      for (;;) {
        status = (await (await fetch(`${daemon.url}/api/status`)).json()) as typeof status;
        if (Date.parse(status.report.generatedAt) > read) break;
        if (Date.now() > deadline) throw new Error(`no sample after the lines were read: ${daemon.logs()}`);
        await sleep(100);
      }
      const errorLog = { ...status.report.errorLog };
      // The window's ends move with the clock; everything in it must not.
      delete errorLog['since'];
      delete errorLog['until'];
      return { metrics, errorLog, logs: daemon.logs() };
    } finally {
      await daemon.stop();
    }
  }

  it('counts, discards and windows every line as one thread does', { timeout: 180_000 }, async () => {
    const one = await readWith(1);
    expect(one.logs).not.toMatch(/of backlog .* in parts/);
    expect(one.metrics).toContain('nginx_port_error_log_discarded_lines_total{reason="too_long"} 1');
    expect(one.errorLog['byDestination']).toEqual({ '10.20.0.1:8080': { eaddrnotavail: 3 }, '10.20.0.2:8080': { eaddrnotavail: 2 } });
    expect(one.metrics.some((l) => l.includes('destination="other"'))).toBe(true);
    for (const threads of [2, 4]) {
      const many = await readWith(threads);
      expect(many.logs, `threads ${threads}`).toMatch(/read \d+\.\d MB of backlog \(\d+ lines\) in parts in/);
      expect(many.metrics, `threads ${threads}`).toEqual(one.metrics);
      expect(many.errorLog, `threads ${threads}`).toEqual(one.errorLog);
    }
  });
});
