/**
 * Shared set-up for the error-log tailer's file-system tests: a temp dir, a
 * Tailer whose lines and log records are captured, and the three ways of driving
 * it that every behaviour is checked under.
 *
 *   manual  — no watcher, no timer: the test calls reconcile(). Deterministic,
 *             and proves one stat-based pass is enough.
 *   timer   — no watcher, a 50 ms timer: the timer alone, zero watcher events.
 *   watcher — chokidar plus the production 500 ms timer.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { Tailer, type TailerOptions } from '../../../agent/errorlog/tail/tailer.js';

export type Mode = 'manual' | 'timer' | 'watcher';
export const MODES: readonly Mode[] = ['manual', 'timer', 'watcher'];

export interface LogRecord {
  level: number;
  msg: string;
  path?: string;
  state?: string;
  detail?: string;
}

export function tempDir(prefix = 'errorlog-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Per test: a fresh temp dir, and the tailer harness the test started, stopped afterwards. */
export interface Scratch {
  dir: string;
  h: Harness | undefined;
}

/** Registers beforeEach/afterEach for a Scratch; `also` runs after the harness stops, before the dir goes. */
export function useScratch(also: () => void = () => undefined): Scratch {
  const s: Scratch = { dir: '', h: undefined };
  let cleanup: () => void = () => undefined;
  beforeEach(() => {
    ({ dir: s.dir, cleanup } = tempDir());
  });
  afterEach(async () => {
    await s.h?.stop();
    s.h = undefined;
    also();
    cleanup();
  });
  return s;
}

/** A pino logger that keeps its records in memory, to assert on what was logged. */
export function captureLogger(): { logger: pino.Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => records.push(JSON.parse(s) as LogRecord) });
  return { logger, records };
}

export interface Harness {
  tailer: Tailer;
  mode: Mode;
  /** Lines per path, in arrival order. */
  lines: Map<string, string[]>;
  linesOf: (path: string) => string[];
  all: () => [string, string][];
  records: LogRecord[];
  /** Waits until pred holds: reconcile() in manual mode, the tailer's own wake-ups otherwise. */
  until: (pred: () => boolean, what?: string, timeoutMs?: number) => Promise<void>;
  /** Lets the tailer do whatever it would (a few passes), so an unwanted extra line would show. */
  quiesce: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function startTailer(mode: Mode, o: Partial<TailerOptions> & Pick<TailerOptions, 'patterns'>): Promise<Harness> {
  const { logger, records } = captureLogger();
  const lines = new Map<string, string[]>();
  const order: [string, string][] = [];
  const tailer = new Tailer({
    fromStart: false,
    maxLineBytes: 64 * 1024,
    reconcileIntervalMs: mode === 'manual' ? 0 : mode === 'timer' ? 50 : 500,
    watch: mode === 'watcher',
    logger,
    ...o,
    onLine: (path, line) => {
      let l = lines.get(path);
      if (l === undefined) lines.set(path, (l = []));
      l.push(line);
      order.push([path, line]);
      o.onLine?.(path, line);
    },
  });
  await tailer.start();
  const until = async (pred: () => boolean, what = 'condition', timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (mode === 'manual') await tailer.reconcile();
      if (pred()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(mode === 'manual' ? 1 : 10);
    }
  };
  return {
    tailer,
    mode,
    lines,
    linesOf: (p) => lines.get(p) ?? [],
    all: () => order,
    records,
    until,
    quiesce: async () => {
      if (mode === 'manual') {
        await tailer.reconcile();
        await tailer.reconcile();
      } else {
        await sleep(mode === 'timer' ? 200 : 700);
      }
    },
    stop: () => tailer.stop(),
  };
}

export function lines(prefix: string, n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix} line ${from + i}`);
}

export function text(ls: readonly string[]): string {
  return ls.map((l) => `${l}\n`).join('');
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
