/**
 * The scan thread the agent's entry starts early for `diagnose`
 * (read/scanWorker.ts): when the command line asks for it, and how diagnose
 * takes it or ends it. That ScanThreads reads with it: test/system/errorlog/prestart.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { discardPrestarted, PARALLEL_MIN_BYTES, prestartScanWorker, scanPrestartWanted, takePrestarted } from '../../../agent/errorlog/read/scanWorker.js';

const BIG = PARALLEL_MIN_BYTES;
const sizes: Record<string, number | null> = { '/logs/big.log': BIG, '/logs/small.log': BIG - 1, '/logs/big.log.gz': BIG, '/logs/dir': null };
const sizeOf = (p: string): number | null => sizes[p] ?? null;

describe('scanPrestartWanted: a diagnose that will read an error log in parts', () => {
  it.each<[string, string[], number, boolean]>([
    ['a large plain log', ['diagnose', '--error-log', '/logs/big.log'], 2, true],
    ['--error-log=PATH', ['diagnose', '--json', '--error-log=/logs/big.log'], 2, true],
    ['one large log among several', ['diagnose', '--error-log', '/logs/small.log', '--error-log', '/logs/big.log'], 2, true],
    ['two or more threads asked for', ['diagnose', '--error-log', '/logs/big.log', '--error-log-read-threads', '2'], 1, true],
    ['0 threads (one per core) on two cores', ['diagnose', '--error-log', '/logs/big.log', '--error-log-read-threads=0'], 2, true],
    ['a small log', ['diagnose', '--error-log', '/logs/small.log'], 2, false],
    ['a .gz log (read as one stream)', ['diagnose', '--error-log', '/logs/big.log.gz'], 2, false],
    ['a pattern (expanded later, by diagnose)', ['diagnose', '--error-log', '/logs/*.log'], 2, false],
    ['not a plain file', ['diagnose', '--error-log', '/logs/dir'], 2, false],
    ['a missing file', ['diagnose', '--error-log', '/logs/missing.log'], 2, false],
    ['one thread asked for', ['diagnose', '--error-log', '/logs/big.log', '--error-log-read-threads', '1'], 4, false],
    ['the last of two thread settings counts', ['diagnose', '--error-log', '/logs/big.log', '--error-log-read-threads', '4', '--error-log-read-threads', '1'], 4, false],
    ['a thread setting that is not a number', ['diagnose', '--error-log', '/logs/big.log', '--error-log-read-threads', 'many'], 4, false],
    ['one core, threads unset', ['diagnose', '--error-log', '/logs/big.log'], 1, false],
    ['no --error-log (the logs come from settings the entry does not read)', ['diagnose', '--json'], 2, false],
    ['another command', ['run', '--error-log', '/logs/big.log'], 2, false],
    ['a path after --', ['diagnose', '--', '--error-log', '/logs/big.log'], 2, false],
  ])('%s', (_name, args, cores, wanted) => {
    expect(scanPrestartWanted(args, cores, sizeOf)).toBe(wanted);
  });
});

describe('the prestarted worker is taken once, by the module it runs, or ended', () => {
  // A worker that says it is up and stays up until it is ended (its port keeps it alive), in place of the scan's.
  const IDLE = new URL("data:text/javascript,import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {}); parentPort.postMessage('up');");
  const OTHER = new URL('data:text/javascript,export {};');
  const SLOT = Symbol.for('nginx-port-agent.prestartedScanWorker');
  const slotted = (): { started: { worker: import('node:worker_threads').Worker } } | undefined =>
    (globalThis as Record<symbol, { started: { worker: import('node:worker_threads').Worker } } | undefined>)[SLOT];

  afterEach(() => {
    discardPrestarted();
  });

  it('the same module: the worker itself, alive, and the slot empties', async () => {
    prestartScanWorker(IDLE);
    const w = slotted()!.started.worker;
    const taken = takePrestarted(IDLE);
    expect(taken?.worker).toBe(w);
    expect(taken?.failure).toBeNull();
    expect(takePrestarted(IDLE)).toBeNull();
    // Taken, it runs: it says so, and has not exited.
    const exited = new Promise<number>((r) => w.once('exit', r));
    expect(await new Promise((r) => w.once('message', r))).toBe('up');
    expect(taken?.failure).toBeNull();
    await w.terminate();
    await exited;
  });

  it('another module: nothing is taken, and the worker is ended', async () => {
    prestartScanWorker(IDLE);
    const w = slotted()!.started.worker;
    const exited = new Promise<number>((r) => w.once('exit', r));
    expect(takePrestarted(OTHER)).toBeNull();
    expect(slotted()).toBeUndefined();
    await exited;
  });

  it('nobody takes it: discardPrestarted ends it', async () => {
    prestartScanWorker(IDLE);
    const w = slotted()!.started.worker;
    const exited = new Promise<number>((r) => w.once('exit', r));
    discardPrestarted();
    expect(slotted()).toBeUndefined();
    await exited;
  });

  it('a second prestart while one waits starts no second worker', () => {
    prestartScanWorker(IDLE);
    const w = slotted()!.started.worker;
    prestartScanWorker(IDLE);
    expect(slotted()!.started.worker).toBe(w);
  });
});
