/**
 * The tailer with an injected waker (test/support/testWaker.ts): no timer, no
 * watcher, one pass per wake() that the test awaits. Rotations run step by step,
 * nginx-style (the writer keeps its fd across the rotation), with no sleep.
 */
import { closeSync, copyFileSync, openSync, renameSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from '../../support/gate.js';
import { TestWaker } from '../../support/testWaker.js';
import { lines, startTailer, text, useScratch } from './support.js';

describeWith(['linux'], 'error-log tailer woken by an injected waker', () => {
  const fds: number[] = [];
  const s = useScratch(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
  });

  /** Appends through one O_APPEND fd, as nginx does until it reopens its log. */
  function writer(path: string): (ls: readonly string[]) => void {
    const fd = openSync(path, 'a');
    fds.push(fd);
    return (ls) => writeSync(fd, text(ls));
  }

  it('reads only when woken, and follows rename, recreate and copytruncate pass by pass', async () => {
    let clock = 0;
    const log = join(s.dir, 'error.log');
    writeFileSync(log, '');
    const waker = new TestWaker();
    s.h = await startTailer('manual', { patterns: [log], waker, now: () => clock, rotateWaitMs: 1000 });
    expect(waker.listeners).toBe(1);

    const first = writer(log);
    first(lines('first', 2));
    await Promise.resolve();
    expect(s.h.linesOf(log)).toEqual([]); // nothing runs a pass but wake()
    await waker.wake();
    expect(s.h.linesOf(log)).toEqual(lines('first', 2));

    // rename: nginx writes on into the old file until it reopens; both are read, old first.
    renameSync(log, `${log}.1`);
    first(lines('late', 1));
    const second = writer(log);
    second(lines('second', 1));
    await waker.wake();
    expect(s.h.linesOf(log).slice(2)).toEqual([...lines('late', 1), ...lines('second', 1)]);
    expect(s.h.tailer.status()[0]).toMatchObject({ state: 'tailing', draining: 1, rotations: { rename: 1, copytruncate: 0, recreate: 0 } });
    clock += 1000;
    await waker.wake();
    expect(s.h.tailer.status()[0]!.draining).toBe(0);

    // recreate: the file is deleted (link count 0) and a new one created.
    unlinkSync(log);
    const third = writer(log);
    third(lines('third', 1));
    await waker.wake();
    expect(s.h.tailer.status()[0]!.rotations).toEqual({ rename: 1, copytruncate: 0, recreate: 1 });

    // copytruncate: the same file, cut to 0 and written again past the old offset.
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    third(lines('after truncate', 3));
    await waker.wake();
    expect(s.h.linesOf(log)).toEqual([...lines('first', 2), ...lines('late', 1), ...lines('second', 1), ...lines('third', 1), ...lines('after truncate', 3)]);
    expect(s.h.tailer.status()[0]!.rotations).toEqual({ rename: 1, copytruncate: 1, recreate: 1 });

    await s.h.stop();
    expect(waker.closed).toBe(true);
  });
});
