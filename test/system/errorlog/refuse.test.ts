/**
 * Anything that is not a regular file is refused, logged once, reported in
 * status, and never opened: the official nginx image links error.log to
 * /dev/stderr, and opening a FIFO or a tty would block or steal input. Other
 * files keep being tailed meanwhile.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWith } from '../../support/gate.js';
import { lines, MODES, startTailer, text, useScratch } from './support.js';

/** True when some process (us) holds the FIFO open for reading: a non-blocking writer open succeeds only then. */
function fifoHasReader(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw err;
  }
}

function fdsPointingAt(target: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  }).length;
}

describeWith(['linux', 'command:mkfifo'], 'error-log tailer refuses what is not a regular file', () => {
  const s = useScratch();

  describe.each(MODES)('driven by %s', (mode) => {
    it('refuses a symlink to /dev/stderr, a FIFO, a directory and a character device; tails the good file', async () => {
      const stderrLink = join(s.dir, 'stderr-error.log');
      symlinkSync('/dev/stderr', stderrLink);
      const fifo = join(s.dir, 'fifo-error.log');
      execFileSync('mkfifo', [fifo]);
      const directory = join(s.dir, 'dir-error.log');
      mkdirSync(directory);
      const nullLink = join(s.dir, 'null-error.log');
      symlinkSync('/dev/null', nullLink);
      const good = join(s.dir, 'good-error.log');
      writeFileSync(good, '');
      const opened: string[] = [];
      const devNullBefore = fdsPointingAt('/dev/null'); // the test runner's own stdin, say
      s.h = await startTailer(mode, {
        patterns: [join(s.dir, '*-error.log'), '/dev/null'],
        openFile: (p, flags) => {
          opened.push(p);
          return openSync(p, flags);
        },
      });
      appendFileSync(good, text(lines('good', 3)));
      await s.h.until(() => s.h!.linesOf(good).length >= 3, 'the good file');
      await s.h.quiesce();
      await s.h.quiesce();

      const byPath = new Map(s.h.tailer.status().map((s) => [s.path, s]));
      expect(byPath.get(good)).toMatchObject({ state: 'tailing', lines: 3 });
      expect(s.h.linesOf(good)).toEqual(lines('good', 3));
      expect(byPath.get(stderrLink)).toMatchObject({ state: 'refused', detail: expect.stringContaining('symlink to /dev/stderr') as unknown });
      expect(byPath.get(fifo)).toMatchObject({ state: 'refused', detail: expect.stringMatching(/^is a FIFO \(named pipe\); only regular files/) as unknown });
      expect(byPath.get(directory)).toMatchObject({ state: 'refused', detail: expect.stringMatching(/^is a directory/) as unknown });
      expect(byPath.get(nullLink)).toMatchObject({
        state: 'refused',
        detail: expect.stringMatching(/^is a character device \(symlink to \/dev\/null\)/) as unknown,
      });
      expect(byPath.get('/dev/null')).toMatchObject({ state: 'refused', detail: expect.stringMatching(/^is a character device;/) as unknown });

      // Never opened: not through the open seam, not held, and the FIFO never had a reader.
      expect([...new Set(opened)]).toEqual([good]);
      expect(fifoHasReader(fifo)).toBe(false);
      expect(fdsPointingAt('/dev/null')).toBe(devNullBefore);

      // One warning per refused path, however many passes ran.
      for (const p of [stderrLink, fifo, directory, nullLink, '/dev/null']) {
        const warnings = s.h.records.filter((r) => r.path === p && r.level === 40);
        expect(warnings, p).toHaveLength(1);
        expect(warnings[0]!.msg).toContain(`${p}: refused: is a`);
      }
    });
  });

  it('refuses a /proc/self/fd link even when it leads to a regular file (our own redirected stderr)', async () => {
    const ownOutput = join(s.dir, 'agent-output.txt');
    writeFileSync(ownOutput, 'the agent talking to itself\n');
    const fd = openSync(ownOutput, 'r');
    try {
      const link = join(s.dir, 'error.log');
      symlinkSync(`/proc/self/fd/${fd}`, link);
      const hop = join(s.dir, 'via-hop.log');
      symlinkSync(link, hop); // a chain: via-hop.log → error.log → /proc/self/fd/N
      s.h = await startTailer('manual', { patterns: [link, hop], fromStart: true });
      await s.h.tailer.reconcile();
      expect(s.h.tailer.status().map((s) => [s.state, s.detail])).toEqual([
        ['refused', `is a symlink to /proc/self/fd/${fd}, a process's standard stream, not a log file; set error_log to a file to tail it`],
        ['refused', `is a symlink to /proc/self/fd/${fd}, a process's standard stream, not a log file; set error_log to a file to tail it`],
      ]);
      expect(s.h.all()).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });

  it('closes the race: a file swapped for a FIFO between stat and open is closed again and refused', async () => {
    const log = join(s.dir, 'error.log');
    writeFileSync(log, '');
    let swapped = false;
    s.h = await startTailer('manual', {
      patterns: [log],
      openFile: (p, flags) => {
        if (!swapped) {
          swapped = true;
          unlinkSync(p);
          execFileSync('mkfifo', [p]);
        }
        return openSync(p, flags); // O_NONBLOCK: a FIFO opens for reading at once instead of hanging
      },
    });
    expect(swapped).toBe(true);
    expect(s.h.tailer.status()[0]).toMatchObject({ state: 'refused', detail: expect.stringMatching(/^is a FIFO/) as unknown });
    expect(fifoHasReader(log)).toBe(false);
    expect(fdsPointingAt(log)).toBe(0);
    // Put a regular file back: it is picked up from its start.
    unlinkSync(log);
    writeFileSync(log, text(lines('back', 2)));
    await s.h.tailer.reconcile();
    expect(s.h.linesOf(log)).toEqual(lines('back', 2));
    expect(s.h.tailer.status()[0]!.state).toBe('tailing');
  });

  it('a tailed file replaced by a symlink to /dev/stderr: the old file is drained, the link refused', async () => {
    const log = join(s.dir, 'error.log');
    writeFileSync(log, '');
    const w = openSync(log, 'a');
    try {
      s.h = await startTailer('manual', { patterns: [log] });
      appendFileSync(log, text(lines('file', 1)));
      await s.h.tailer.reconcile();
      unlinkSync(log);
      appendFileSync(`/proc/self/fd/${w}`, text(lines('file', 1, 1)));
      symlinkSync('/dev/stderr', log);
      await s.h.tailer.reconcile();
      expect(s.h.linesOf(log)).toEqual(lines('file', 2));
      expect(s.h.tailer.status()[0]).toMatchObject({ state: 'refused', draining: 1 });
    } finally {
      closeSync(w);
    }
  });
});
