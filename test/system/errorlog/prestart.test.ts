/**
 * The scan thread the agent's entry starts before `diagnose` loads
 * (read/scanWorker.ts) is the one diagnose reads with: ScanThreads takes it
 * instead of starting a new one, it claims parts, and the result is what one
 * thread reads. The built modules, as the entry and diagnose load them (a
 * worker runs JavaScript, not the TypeScript the unit tests import).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, expect, it } from 'vitest';
import { generateErrorLog } from '../../../bench/errorlog/generate.js';
import { describeWith } from '../../support/gate.js';

type Recent = typeof import('../../../agent/errorlog/read/recent.js');
type Early = typeof import('../../../agent/errorlog/read/scanWorker.js');

const SLOT = Symbol.for('nginx-port-agent.prestartedScanWorker');
const slotted = (): { started: { worker: Worker } } | undefined => (globalThis as Record<symbol, { started: { worker: Worker } } | undefined>)[SLOT];

describeWith(['built'], 'a scan thread started early', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npa-prestart-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is taken by ScanThreads, reads parts, and the counts are one thread’s', { timeout: 60_000 }, async () => {
    const recentUrl = new URL('../../../dist/agent/errorlog/read/recent.js', import.meta.url);
    const recent = (await import(recentUrl.href)) as Recent;
    const early = (await import(new URL('../../../dist/agent/errorlog/read/scanWorker.js', import.meta.url).href)) as Early;
    const log = join(dir, 'error.log');
    // About 110 000 lines: over the size from which a file is read in parts.
    generateErrorLog(log, { lines: 110_000, seed: 11 });
    const window = { sinceMs: 0, untilMs: Number.POSITIVE_INFINITY };
    const one = await recent.readRecent(log, window, { maxScanBytes: Number.POSITIVE_INFINITY });

    early.prestartScanWorker(recentUrl);
    const w = slotted()!.started.worker;
    let exited = false;
    w.once('exit', () => {
      exited = true;
    });
    // What it answers: the parts it read.
    let partsRead = 0;
    w.on('message', (a: { ok?: boolean; parts?: unknown[] }) => {
      if (a.ok === true) partsRead += a.parts?.length ?? 0;
    });
    // Let it start, as it does while diagnose's modules load.
    await new Promise((r) => setTimeout(r, 200));

    const threads = new recent.ScanThreads(2);
    expect(slotted()).toBeUndefined();
    try {
      expect(await recent.readRecent(log, window, { maxScanBytes: Number.POSITIVE_INFINITY, threads })).toEqual(one);
      expect(partsRead).toBeGreaterThan(0);
      expect(exited).toBe(false);
    } finally {
      await threads.close();
    }
    // ScanThreads ended it: it was one of its own.
    expect(exited).toBe(true);
  });
});
