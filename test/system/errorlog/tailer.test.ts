/**
 * The error-log tailer against real files in a temp dir: start position, globs,
 * the three rotations, partial and over-long lines, binary garbage. Every
 * behaviour runs three ways (see support.ts): driven by reconcile() alone, by the
 * timer alone with no watcher, and with chokidar; so the stat-based pass is
 * proven correct without a single watcher event.
 */
import { appendFileSync, closeSync, copyFileSync, openSync, renameSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWith } from '../../support/gate.js';
import { lines, MODES, startTailer, text, useScratch } from './support.js';

describeWith(['linux'], 'error-log tailer on real files', () => {
  const fds: number[] = [];
  const s = useScratch(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
  });

  /** A writer that holds its fd like nginx does (O_APPEND), so it keeps writing into a rotated-away file. */
  function writer(path: string): (ls: readonly string[] | string | Uint8Array) => void {
    const fd = openSync(path, 'a');
    fds.push(fd);
    return (ls) => {
      if (ls instanceof Uint8Array) writeSync(fd, ls);
      else writeSync(fd, typeof ls === 'string' ? ls : text(ls));
    };
  }

  describe.each(MODES)('driven by %s', (mode) => {
    it('reads a file present at start from its end, and a file that appears later from its start', async () => {
      const a = join(s.dir, 'a.log');
      const b = join(s.dir, 'b.log');
      // The last line at start is still being written: it belongs to us once complete.
      writeFileSync(a, text(lines('a old', 3)) + 'a half');
      s.h = await startTailer(mode, { patterns: [a, b] });
      expect(s.h.tailer.status().map((s) => [s.path, s.state])).toEqual([
        [a, 'tailing'],
        [b, 'waiting'],
      ]);
      appendFileSync(a, ' done\n' + text(lines('a new', 2)));
      writeFileSync(b, text(lines('b', 4)));
      await s.h.until(() => s.h!.linesOf(a).length >= 3 && s.h!.linesOf(b).length >= 4, 'lines of a and b');
      await s.h.quiesce();
      expect(s.h.linesOf(a)).toEqual(['a half done', ...lines('a new', 2)]);
      expect(s.h.linesOf(b)).toEqual(lines('b', 4));
      expect(s.h.tailer.status().map((s) => s.state)).toEqual(['tailing', 'tailing']);
      expect(s.h.tailer.status()[1]!.rotations).toEqual({ rename: 0, copytruncate: 0, recreate: 0 });
    });

    it('backfills files present at start when fromStart is set', async () => {
      const a = join(s.dir, 'a.log');
      writeFileSync(a, text(lines('old', 3)));
      s.h = await startTailer(mode, { patterns: [a], fromStart: true });
      appendFileSync(a, text(lines('new', 1)));
      await s.h.until(() => s.h!.linesOf(a).length >= 4, 'four lines');
      await s.h.quiesce();
      expect(s.h.linesOf(a)).toEqual([...lines('old', 3), ...lines('new', 1)]);
    });

    it('picks up new files that match a glob, from their start; ignores names that do not match', async () => {
      const x = join(s.dir, 'x-error.log');
      writeFileSync(x, text(lines('x old', 2)));
      s.h = await startTailer(mode, { patterns: [join(s.dir, '*error.log')] });
      const y = join(s.dir, 'y-error.log');
      writeFileSync(y, text(lines('y', 3)));
      writeFileSync(join(s.dir, 'error.log.1'), text(lines('rotated', 1)));
      writeFileSync(join(s.dir, 'access.log'), text(lines('access', 1)));
      appendFileSync(x, text(lines('x new', 1)));
      await s.h.until(() => s.h!.linesOf(y).length >= 3 && s.h!.linesOf(x).length >= 1, 'x and y');
      await s.h.quiesce();
      expect(s.h.linesOf(x)).toEqual(lines('x new', 1));
      expect(s.h.linesOf(y)).toEqual(lines('y', 3));
      expect([...s.h.lines.keys()].sort()).toEqual([x, y]);
      expect(s.h.tailer.status().map((s) => s.path)).toEqual([x, y]);
    });

    it('emits a partial last line once, when its newline arrives', async () => {
      const a = join(s.dir, 'a.log');
      writeFileSync(a, '');
      s.h = await startTailer(mode, { patterns: [a] });
      appendFileSync(a, 'first\npart');
      await s.h.until(() => s.h!.linesOf(a).length >= 1, 'first');
      await s.h.quiesce();
      expect(s.h.linesOf(a)).toEqual(['first']);
      appendFileSync(a, 'ial');
      await s.h.quiesce();
      expect(s.h.linesOf(a)).toEqual(['first']);
      appendFileSync(a, ' line\n');
      await s.h.until(() => s.h!.linesOf(a).length >= 2, 'the completed line');
      await s.h.quiesce();
      expect(s.h.linesOf(a)).toEqual(['first', 'partial line']);
    });

    it('rename + create: drains the old file to its end before reading the new one from its start', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      const w1 = writer(log);
      s.h = await startTailer(mode, { patterns: [log] });
      w1(lines('old', 3));
      await s.h.until(() => s.h!.linesOf(log).length >= 3, 'first lines');
      // logrotate: rename, create; nginx writes into the old file until USR1 reopens.
      renameSync(log, `${log}.1`);
      w1(lines('old', 2, 3));
      const w2 = writer(log);
      w2(lines('new', 3));
      w1(lines('old', 1, 5)); // written after the new file exists, before the reopen
      await s.h.until(() => s.h!.linesOf(log).length >= 9, 'all nine lines');
      await s.h.quiesce();
      const got = s.h.linesOf(log);
      expect(got.filter((l) => l.startsWith('old'))).toEqual(lines('old', 6));
      expect(got.filter((l) => l.startsWith('new'))).toEqual(lines('new', 3));
      // Everything in the old file before the new one appeared came first.
      expect(got.indexOf('old line 4')).toBeLessThan(got.indexOf('new line 0'));
      if (mode === 'manual') expect(got).toEqual([...lines('old', 6), ...lines('new', 3)]);
      expect(s.h.tailer.status()[0]!.rotations).toEqual({ rename: 1, copytruncate: 0, recreate: 0 });
    });

    it('copytruncate read up to the truncate: starts again at 0, loses nothing, counted', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      const w = writer(log);
      s.h = await startTailer(mode, { patterns: [log] });
      w(lines('before', 5));
      await s.h.until(() => s.h!.linesOf(log).length >= 5, 'lines before');
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
      w(lines('after', 2)); // shorter than the old offset
      await s.h.until(() => s.h!.linesOf(log).length >= 7, 'lines after');
      w(lines('later', 1));
      await s.h.until(() => s.h!.linesOf(log).length >= 8, 'a later line');
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual([...lines('before', 5), ...lines('after', 2), ...lines('later', 1)]);
      expect(s.h.tailer.status()[0]!.rotations).toEqual({ rename: 0, copytruncate: 1, recreate: 0 });
    });

    it('copytruncate that grew back past the old offset before the tailer looked is still seen', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      const w = writer(log);
      s.h = await startTailer(mode, { patterns: [log] });
      w(lines('before', 2));
      await s.h.until(() => s.h!.linesOf(log).length >= 2, 'lines before');
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
      // One write, longer than everything before: size is above the old offset at once.
      w(lines('after the truncate, a longer line', 6));
      await s.h.until(() => s.h!.linesOf(log).length >= 8, 'lines after');
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual([...lines('before', 2), ...lines('after the truncate, a longer line', 6)]);
      expect(s.h.tailer.status()[0]!.rotations.copytruncate).toBe(1);
    });

    it('copytruncate that grew back with the very bytes that stood before the old offset is still seen (first bytes differ)', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      const w = writer(log);
      s.h = await startTailer(mode, { patterns: [log] });
      // Same-length lines that end alike, as a burst of one nginx error does.
      const body = ' connect() to 10.0.0.5:80 failed (99: Cannot assign requested address) while connecting to upstream';
      const before = [`2026/11/21 08:00:00${body}`, `2026/11/21 08:00:00${body}`];
      w(`${before.join('\n')}\n`);
      await s.h.until(() => s.h!.linesOf(log).length >= 2, 'lines before');
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
      // Three lines of the same length: the 32 bytes before the old offset are the same bytes again.
      const after = [`2026/11/21 08:05:00${body}`, `2026/11/21 08:05:00${body}`, `2026/11/21 08:05:01${body}`];
      w(`${after.join('\n')}\n`);
      await s.h.until(() => s.h!.linesOf(log).length >= 5, 'lines after');
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual([...before, ...after]);
      expect(s.h.tailer.status()[0]!.rotations.copytruncate).toBe(1);
    });

    it('delete + recreate: drains what is left in the old fd, then reads the new file from its start', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      const w1 = writer(log);
      s.h = await startTailer(mode, { patterns: [log] });
      w1(lines('old', 2));
      await s.h.until(() => s.h!.linesOf(log).length >= 2, 'first lines');
      unlinkSync(log);
      w1(lines('old', 2, 2)); // into the deleted file, through the writer's fd
      await s.h.until(() => s.h!.linesOf(log).length >= 4, 'lines written after the delete');
      expect(s.h.tailer.status()[0]).toMatchObject({ state: 'waiting', draining: 1 });
      const w2 = writer(log);
      w2(lines('new', 2));
      await s.h.until(() => s.h!.linesOf(log).length >= 6, 'lines of the new file');
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual([...lines('old', 4), ...lines('new', 2)]);
      expect(s.h.tailer.status()[0]!.rotations).toEqual({ rename: 0, copytruncate: 0, recreate: 1 });
    });

    it('delete + recreate with no pass in between still drains the old fd first', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      const w1 = writer(log);
      s.h = await startTailer(mode, { patterns: [log] });
      w1(lines('old', 1));
      await s.h.until(() => s.h!.linesOf(log).length >= 1, 'first line');
      unlinkSync(log);
      w1(lines('old', 2, 1));
      writer(log)(lines('new', 2));
      await s.h.until(() => s.h!.linesOf(log).length >= 5, 'all lines');
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual([...lines('old', 3), ...lines('new', 2)]);
      expect(s.h.tailer.status()[0]!.rotations.recreate).toBe(1);
    });

    it('discards a 10 MB line with bounded memory and keeps tailing', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      s.h = await startTailer(mode, { patterns: [log], maxLineBytes: 64 * 1024 });
      const w = writer(log);
      w('before\n');
      await s.h.until(() => s.h!.linesOf(log).length >= 1, 'before');
      const mb = Buffer.alloc(1 << 20, 0x78);
      const base = process.memoryUsage();
      let peakRss = base.rss;
      let peakBuffers = base.arrayBuffers;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
      }, 2);
      try {
        for (let i = 0; i < 10; i++) w(mb);
        w('\nafter\n');
        await s.h.until(() => s.h!.linesOf(log).length >= 2, 'after', 20_000);
      } finally {
        clearInterval(sampler);
      }
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual(['before', 'after']);
      expect(s.h.tailer.status()[0]).toMatchObject({ state: 'tailing', discarded: { too_long: 1, partial: 0 } });
      expect(s.h.tailer.status()[0]!.bytes).toBe(7 + 10 * (1 << 20) + 7);
      const rssGrowthMb = (peakRss - base.rss) / 2 ** 20;
      const bufferGrowthMb = (peakBuffers - base.arrayBuffers) / 2 ** 20;
      console.log(`10 MB line (${mode}): peak RSS growth ${rssGrowthMb.toFixed(1)} MB, peak ArrayBuffer growth ${bufferGrowthMb.toFixed(2)} MB`);
      // Buffering the line whole would cost ≥ 10 MB of ArrayBuffers (and twice that as a string).
      expect(bufferGrowthMb).toBeLessThan(4);
      expect(rssGrowthMb).toBeLessThan(20);
    });

    it('passes binary garbage and invalid UTF-8 through as U+FFFD, and carries on', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      s.h = await startTailer(mode, { patterns: [log] });
      const raw: number[][] = [
        [0xff, 0xfe, 0xfd],
        [0xc3, 0x28, 0x41],
        [0xe2, 0x82],
        [0x00, 0x01, 0x02, 0x1b, 0x5b, 0x33, 0x31, 0x6d],
        [0xf0, 0x9f, 0x92, 0xa9, 0xed, 0xa0, 0x80],
      ];
      let seed = 7;
      const noise = Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 255) + 1).map((b) => (b === 0x0a ? 0x0b : b));
      raw.push(noise);
      const bytes = Buffer.concat(raw.flatMap((r) => [Buffer.from(r), Buffer.from('\n')]));
      writer(log)(bytes);
      appendFileSync(log, 'plain\n');
      const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
      const expected = [...raw.map((r) => decoder.decode(new Uint8Array(r))), 'plain'];
      await s.h.until(() => s.h!.linesOf(log).length >= expected.length, 'all lines');
      await s.h.quiesce();
      expect(s.h.linesOf(log)).toEqual(expected);
      expect(s.h.linesOf(log)[0]).toBe('\uFFFD\uFFFD\uFFFD');
    });
  });

  it('chokidar alone (no timer) wakes the reader: appends and new glob matches arrive', async () => {
    const a = join(s.dir, 'a-error.log');
    writeFileSync(a, '');
    s.h = await startTailer('watcher', { patterns: [join(s.dir, '*error.log')], reconcileIntervalMs: 0 });
    appendFileSync(a, 'woken\n');
    await s.h.until(() => s.h!.linesOf(a).length >= 1, 'a line woken by a watcher event', 3000);
    const b = join(s.dir, 'b-error.log');
    writeFileSync(b, 'new file\n');
    await s.h.until(() => s.h!.linesOf(b).length >= 1, 'a new file woken by a watcher event', 3000);
    expect(s.h.all()).toEqual([
      [a, 'woken'],
      [b, 'new file'],
    ]);
  });

  it('copytruncate loss window: exactly the lines written after the last read and before the truncate are lost', async () => {
    const log = join(s.dir, 'error.log');
    writeFileSync(log, '');
    const w = writer(log);
    s.h = await startTailer('manual', { patterns: [log] });
    w(lines('read', 3));
    await s.h.tailer.reconcile(); // the last read before the truncate
    w(lines('unread', 4)); // the window
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    w(lines('after', 10)); // grows past the old offset before the next pass
    await s.h.tailer.reconcile();
    await s.h.quiesce();
    expect(s.h.linesOf(log)).toEqual([...lines('read', 3), ...lines('after', 10)]);
    expect(s.h.tailer.status()[0]!.rotations.copytruncate).toBe(1);
  });

  it('keeps a rotated-away file open for rotateWaitMs, then closes it', async () => {
    let clock = 1_000_000;
    const log = join(s.dir, 'error.log');
    writeFileSync(log, '');
    const w1 = writer(log);
    s.h = await startTailer('manual', { patterns: [log], now: () => clock, rotateWaitMs: 5000 });
    renameSync(log, `${log}.1`);
    writer(log)(lines('new', 1));
    await s.h.tailer.reconcile();
    expect(s.h.tailer.status()[0]).toMatchObject({ state: 'tailing', draining: 1 });
    clock += 4000;
    w1(lines('late', 1)); // nginx had not reopened yet
    await s.h.tailer.reconcile();
    expect(s.h.tailer.status()[0]!.draining).toBe(1);
    clock += 1001;
    await s.h.tailer.reconcile();
    expect(s.h.tailer.status()[0]!.draining).toBe(0);
    expect(s.h.linesOf(log)).toEqual(['new line 0', 'late line 0']);
  });

  it('rejects unusable patterns and intervals at construction, all problems at once', async () => {
    const { Tailer } = await import('../../../agent/errorlog/tail/tailer.js');
    const { captureLogger } = await import('./support.js');
    const mk = (patterns: string[], reconcileIntervalMs = 500) => () =>
      new Tailer({ patterns, fromStart: false, maxLineBytes: 1024, reconcileIntervalMs, logger: captureLogger().logger, onLine: () => undefined });
    expect(mk(['/var/log/*/error.log', '/var/log/nginx/'], 900)).toThrow(
      /wildcards are only supported in the file name.*names a directory.*reconcileIntervalMs must be 0–500/,
    );
    expect(mk([])).toThrow(/no error-log paths/);
    expect(mk(['/var/log/nginx/[error.log'])).toThrow(/unclosed/);
  });
});
