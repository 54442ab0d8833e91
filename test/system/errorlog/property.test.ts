/**
 * Nothing lost, nothing duplicated: random sequences of writes and rotations
 * against a model of what was written where.
 *
 * The writer behaves like nginx: it holds one fd opened O_APPEND and keeps writing
 * into it after a rename or a delete, until it "reopens" (USR1). Ops: whole-line
 * appends, partial appends (a line, possibly a multi-byte character, split across
 * writes), rename rotations, deletes, reopens, copytruncates, pauses and
 * reconcile() calls.
 *
 * The model cuts what was written into segments: the lines of one inode between
 * truncations. Every segment's lines must come out in order, exactly once, with
 * no fragments. Two allowances, both explicit:
 *   - a segment ended by a copytruncate may lose its tail: the lines written after
 *     the last read (the tailer's documented loss window). The test bounds it: at
 *     least the lines complete at the last reconcile() must have come out. Most
 *     runs reconcile() right before each copytruncate, so they lose nothing.
 *   - a file must be seen at its path by one pass before it is rotated away: a
 *     path-based tailer cannot follow a file it never saw. The model forces a
 *     reconcile() in that case (real logs live for hours between rotations).
 * Runs use reconcile() alone, the timer alone, or chokidar plus the timer.
 */
import { closeSync, copyFileSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeWith } from '../../support/gate.js';
import { captureLogger, tempDir, type Mode } from './support.js';
import { Tailer } from '../../../agent/errorlog/tail/tailer.js';

type Op =
  | { kind: 'append'; n: number; len: number }
  | { kind: 'partial'; len: number; cut: number }
  | { kind: 'complete' }
  | { kind: 'rename' }
  | { kind: 'delete' }
  | { kind: 'reopen' }
  | { kind: 'copytruncate' }
  | { kind: 'pause'; ms: number }
  | { kind: 'reconcile' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 5 }), len: fc.nat({ max: 150 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('partial' as const), len: fc.integer({ min: 2, max: 150 }), cut: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'complete' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'rename' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'copytruncate' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'reconcile' as const }) },
);

const runArb = fc.record({
  mode: fc.constantFrom<Mode>('manual', 'manual', 'timer', 'watcher'),
  fromStart: fc.boolean(),
  existsAtStart: fc.boolean(),
  preLines: fc.nat({ max: 3 }),
  /** Most runs read everything right before a copytruncate; the others exercise the loss window. */
  reconcileBeforeCopytruncate: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.boolean())),
  ops: fc.array(opArb, { minLength: 5, maxLength: 40 }),
});

interface Segment {
  id: number;
  lines: string[];
  /** Lines written before start() when reading from the end: not expected. */
  skip: number;
  /** Ended by a copytruncate: may lose lines after mustHave. */
  truncated: boolean;
  /** Lines that were complete when the last reconcile() that could read this segment was called. */
  mustHave: number;
}

/** A line of `len` characters naming its segment and number, with multi-byte characters in it. */
function makeLine(seg: number, n: number, len: number): string {
  const alphabet = 'abcdefghij é€ xyz';
  let payload = '';
  for (let i = 0; i < len; i++) payload += alphabet[(seg * 31 + n * 7 + i * 13) % alphabet.length]!;
  return `${seg}.${n} ${payload}`;
}

/** 80 runs take about a second; ERRORLOG_PROPERTY_RUNS=2000 for a longer hunt. */
const RUNS = Number(process.env['ERRORLOG_PROPERTY_RUNS'] ?? 80);

describeWith(['linux'], 'error-log tailer loses nothing and duplicates nothing (property)', () => {
  it('emits, per file segment, exactly the lines written, in order (bar the copytruncate window)', async () => {
    let runs = 0;
    let lostInWindow = 0;
    const modes: Record<Mode, number> = { manual: 0, timer: 0, watcher: 0 };
    await fc.assert(
      fc.asyncProperty(runArb, async (run) => {
        runs++;
        modes[run.mode]++;
        const { dir, cleanup } = tempDir('errorlog-prop-');
        const P = join(dir, 'error.log');
        const segments: Segment[] = [];
        const emitted: string[] = [];
        let rotated = 0;
        // Writer state: its fd, the segment its writes land in, a line in progress.
        let fd: number | null = null;
        let seg: Segment | null = null;
        let pending: { bytes: Buffer; written: number; line: string } | null = null;
        // The inode at P, as the segment currently there (null: P missing).
        let atPath: Segment | null = null;
        const seen = new Set<Segment>();
        const openFds: number[] = [];

        const newSegment = (): Segment => {
          const s: Segment = { id: segments.length, lines: [], skip: 0, truncated: false, mustHave: 0 };
          segments.push(s);
          return s;
        };
        const write = (buf: Buffer) => {
          writeSync(fd!, buf);
        };
        const reopen = () => {
          if (pending !== null) finishPending();
          if (fd !== null && atPath === seg) return; // same file: nginx's reopen changes nothing
          fd = openSync(P, 'a');
          openFds.push(fd);
          if (atPath === null) atPath = newSegment();
          seg = atPath;
        };
        const ensureWriter = () => {
          if (fd === null) reopen();
        };
        const finishPending = () => {
          const p = pending!;
          write(p.bytes.subarray(p.written));
          seg!.lines.push(p.line);
          pending = null;
        };

        const { logger, records } = captureLogger();
        let tailer: Tailer | null = null;
        const reconcile = async () => {
          const at = atPath;
          const complete = at?.lines.length ?? 0;
          await tailer!.reconcile();
          if (at !== null) {
            seen.add(at);
            at.mustHave = complete;
          }
        };

        try {
          if (run.existsAtStart) {
            reopen();
            for (let i = 0; i < run.preLines; i++) {
              const line = makeLine(seg!.id, i, 20);
              write(Buffer.from(`${line}\n`));
              seg!.lines.push(line);
            }
            if (!run.fromStart) seg!.skip = run.preLines;
          }
          tailer = new Tailer({
            patterns: [P],
            fromStart: run.fromStart,
            maxLineBytes: 4096,
            reconcileIntervalMs: run.mode === 'manual' ? 0 : run.mode === 'timer' ? 20 : 500,
            watch: run.mode === 'watcher',
            logger,
            now: () => 0, // rotated-away files are never closed for age during a run
            onLine: (path, line) => {
              expect(path).toBe(P);
              emitted.push(line);
            },
          });
          await tailer.start();
          // start() ran the first pass: it saw the file there was (closures hide atPath's type).
          const first = segments[0];
          if (run.existsAtStart && first !== undefined) seen.add(first);

          for (const op of run.ops) {
            switch (op.kind) {
              case 'append': {
                ensureWriter();
                if (pending !== null) finishPending();
                const ls = Array.from({ length: op.n }, (_, i) => makeLine(seg!.id, seg!.lines.length + i, op.len));
                write(Buffer.from(ls.map((l) => `${l}\n`).join('')));
                seg!.lines.push(...ls);
                break;
              }
              case 'partial': {
                ensureWriter();
                if (pending === null) {
                  const line = makeLine(seg!.id, seg!.lines.length, op.len);
                  pending = { bytes: Buffer.from(`${line}\n`), written: 0, line };
                }
                // Any byte boundary, even inside "€", but never the whole line.
                const left = pending.bytes.length - pending.written;
                if (left <= 1) break;
                const n = 1 + (op.cut % (left - 1));
                write(pending.bytes.subarray(pending.written, pending.written + n));
                pending.written += n;
                break;
              }
              case 'complete':
                if (pending !== null) finishPending();
                break;
              case 'rename':
              case 'delete': {
                if (atPath === null) break;
                if (!seen.has(atPath)) await reconcile();
                if (op.kind === 'rename') renameSync(P, `${P}.${++rotated}`);
                else unlinkSync(P);
                atPath = null;
                break;
              }
              case 'reopen':
                reopen();
                break;
              case 'copytruncate': {
                // logrotate copies and truncates the file at the path; the writer's
                // lines are whole (nginx writes each entry with one write()).
                reopen();
                if (pending !== null) finishPending();
                if (run.reconcileBeforeCopytruncate) await reconcile();
                copyFileSync(P, `${P}.c${++rotated}`);
                ftruncateSync(fd!, 0);
                seg!.truncated = true;
                atPath = seg = newSegment();
                break;
              }
              case 'pause':
                await sleep(op.ms);
                break;
              case 'reconcile':
                await reconcile();
                break;
            }
          }
          if (pending !== null) finishPending();
          await reconcile();
          await tailer.reconcile();

          // Group what came out by segment; check each against what was written.
          const bySeg = new Map<number, string[]>();
          for (const line of emitted) {
            const m = /^(\d+)\.\d+ /.exec(line);
            expect(m, `a fragment came out: ${JSON.stringify(line)}`).not.toBeNull();
            const id = Number(m![1]);
            bySeg.set(id, [...(bySeg.get(id) ?? []), line]);
          }
          for (const s of segments) {
            const want = s.lines.slice(s.skip);
            const got = bySeg.get(s.id) ?? [];
            if (!s.truncated) {
              expect(got, `segment ${s.id}`).toEqual(want);
              continue;
            }
            // The copytruncate window: a prefix, at least what a reconcile() had seen complete.
            expect(got, `segment ${s.id} (truncated)`).toEqual(want.slice(0, got.length));
            expect(got.length, `segment ${s.id}: lines lost before the last read`).toBeGreaterThanOrEqual(Math.max(0, s.mustHave - s.skip));
            if (run.reconcileBeforeCopytruncate) expect(got.length, `segment ${s.id}`).toBe(want.length);
            lostInWindow += want.length - got.length;
          }
          const status = tailer.status()[0]!;
          expect(status.lines).toBe(emitted.length);
          expect(status.discarded.too_long).toBe(0);
          // A line half read when the window closed is dropped and counted, once per truncate at most.
          const truncates = segments.filter((x) => x.truncated).length;
          if (run.reconcileBeforeCopytruncate) expect(status.discarded.partial).toBe(0);
          else expect(status.discarded.partial).toBeLessThanOrEqual(truncates);
        } catch (err) {
          const last = records.slice(-20).map((r) => r.msg);
          throw new Error(`${(err as Error).message}\nrun: ${JSON.stringify(run)}\nlast log records: ${JSON.stringify(last)}`, { cause: err });
        } finally {
          await tailer?.stop();
          for (const f of openFds) closeSync(f);
          cleanup();
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(`property: ${runs} runs (${JSON.stringify(modes)}), ${lostInWindow} lines lost in copytruncate windows`);
  }, 180_000);
});
