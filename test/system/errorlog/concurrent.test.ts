/**
 * A writer in another process, writing as fast as it can (sometimes a line in
 * two write() calls) while the tailer reads: real concurrency, which the
 * in-process property test cannot give. The writer rotates like nginx under
 * logrotate (rename or delete, a few more lines into the old fd, then reopen) when
 * the test asks, and the test asks only once the tailer has seen the current
 * file, so every line written must come out exactly once, in order per file.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWith } from '../../support/gate.js';
import { type Mode, startTailer, useScratch } from './support.js';

const WRITER = `
const fs = require('node:fs');
const P = process.argv[1];
let gen = 0;
const counts = [0];
let fd = fs.openSync(P, 'a');
let stopping = false;
const line = () => 'g' + gen + ' ' + counts[gen]++ + ' ' + 'x'.repeat((counts[gen] * 37) % 300) + '\\n';
const queue = [];
process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) !== -1) { queue.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
});
function tick() {
  const cmd = queue.shift();
  if (cmd === 'rename' || cmd === 'delete') {
    if (cmd === 'rename') fs.renameSync(P, P + '.' + gen); else fs.unlinkSync(P);
    for (let k = 0; k < 3; k++) fs.writeSync(fd, line()); // nginx before its reopen
    fs.closeSync(fd);
    fd = fs.openSync(P, 'a');
    gen++;
    counts.push(0);
  } else if (cmd === 'stop') {
    stopping = true;
  }
  const l = Buffer.from(line());
  if (counts[gen] % 5 === 0) {
    const cut = 1 + (counts[gen] % (l.length - 1));
    fs.writeSync(fd, l.subarray(0, cut));
    fs.writeSync(fd, l.subarray(cut));
  } else fs.writeSync(fd, l);
  if (stopping) { process.stdout.write(JSON.stringify(counts)); process.exit(0); }
  setTimeout(tick, counts[gen] % 3 === 0 ? 1 : 0);
}
tick();
`;

describeWith(['linux'], 'error-log tailer with a concurrent writer process', () => {
  const s = useScratch();

  describe.each<Mode>(['timer', 'watcher'])('driven by %s', (mode) => {
    it('gets every line exactly once through 20 rename/delete rotations', async () => {
      const log = join(s.dir, 'error.log');
      writeFileSync(log, '');
      s.h = await startTailer(mode, { patterns: [log], ...(mode === 'timer' ? { reconcileIntervalMs: 20 } : {}) });
      const child = spawn(process.execPath, ['-e', WRITER, log], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = once(child, 'exit');
      const rotations = 20;
      try {
        for (let g = 0; g < rotations; g++) {
          await s.h.until(() => s.h!.linesOf(log).some((l) => l.startsWith(`g${g} `)), `a line of file ${g}`);
          child.stdin.write(g % 3 === 2 ? 'delete\n' : 'rename\n');
        }
        await s.h.until(() => s.h!.linesOf(log).some((l) => l.startsWith(`g${rotations} `)), 'a line of the last file');
        child.stdin.write('stop\n');
        await exited;
      } finally {
        child.kill();
      }
      const counts = JSON.parse(out) as number[];
      const total = counts.reduce((a, b) => a + b, 0);
      await s.h.until(() => s.h!.linesOf(log).length >= total, `${total} lines`, 10_000);
      await s.h.quiesce();
      const got = s.h.linesOf(log);
      expect(got).toHaveLength(total);
      counts.forEach((n, g) => {
        const mine = got.filter((l) => l.startsWith(`g${g} `)).map((l) => Number(l.split(' ')[1]));
        expect(mine, `file ${g}`).toEqual(Array.from({ length: n }, (_, i) => i));
      });
      const st = s.h.tailer.status()[0]!;
      expect(st.rotations.rename + st.rotations.recreate).toBe(rotations);
      expect(st.rotations.recreate).toBe(Array.from({ length: rotations }, (_, g) => g % 3 === 2).filter(Boolean).length);
      expect(st.discarded).toEqual({ too_long: 0, partial: 0 });
      console.log(`concurrent writer (${mode}): ${total} lines over ${rotations + 1} files, all once, in order`);
    });
  });
});
