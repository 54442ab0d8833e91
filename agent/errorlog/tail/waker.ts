/**
 * What wakes the tailer's stat-based pass: a timer (the truth: the pass must be,
 * and is, correct with no other wake-up at all) and chokidar's file-system
 * events, which only wake the same pass early, so a line is usually handed on
 * within milliseconds of its write instead of within reconcileIntervalMs.
 *
 * A Waker is injectable, as mtail's (internal/waker): a test hands the tailer
 * one that wakes when the test says so (test/support/testWaker.ts), and drives
 * rotations pass by pass without sleeping.
 */
import { resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { NamePattern } from '../parse/patterns.js';

export interface Waker {
  /** Registers what a wake-up runs (the tailer's reconcile()); a waker may wait for the promise. */
  onWake(callback: () => Promise<void>): void;
  /** No more wake-ups; releases timers and watches. */
  close(): Promise<void>;
}

/** Wakes every intervalMs. */
export class IntervalWaker implements Waker {
  private readonly callbacks: (() => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | null;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => {
      for (const callback of this.callbacks) void callback();
    }, intervalMs);
    // The daemon's HTTP server keeps the process alive; the tailer alone must not.
    this.timer.unref();
  }

  onWake(callback: () => Promise<void>): void {
    this.callbacks.push(callback);
  }

  close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return Promise.resolve();
  }
}

/** Several wakers as one; none at all is a waker that never wakes (the caller drives the passes). */
export function combineWakers(wakers: readonly Waker[]): Waker {
  return {
    onWake: (callback) => {
      for (const waker of wakers) waker.onWake(callback);
    },
    close: async () => {
      await Promise.all(wakers.map((waker) => waker.close()));
    },
  };
}

/** How long start-up waits for chokidar's first scan; events are only hints, so a slow scan must not hold up the daemon. */
const WATCH_READY_TIMEOUT_MS = 2000;

/**
 * Watches the patterns' directories (not the files: a file watch follows an
 * inode that rotation moves away) and wakes on any event for a name a pattern
 * matches. `ready` resolves once chokidar's first scan is done, or after 2 s.
 */
export class WatchWaker implements Waker {
  readonly ready: Promise<void>;
  private readonly callbacks: (() => Promise<void>)[] = [];
  private readonly watcher: FSWatcher;
  private closed = false;

  constructor(patterns: readonly NamePattern[], log: Logger) {
    const dirs = new Map<string, ((name: string) => boolean)[]>();
    for (const { dir, matches } of patterns) {
      const abs = resolve(dir);
      dirs.set(abs, [...(dirs.get(abs) ?? []), matches]);
    }
    /** abs is an entry of a watched directory whose name one of our patterns matches. */
    const matches = (abs: string): boolean => {
      const slash = abs.lastIndexOf('/');
      const tests = dirs.get(slash <= 0 ? '/' : abs.slice(0, slash));
      const name = abs.slice(slash + 1);
      return tests !== undefined && tests.some((test) => test(name));
    };
    const wake = () => {
      this.wake();
    };
    this.watcher = watch([...dirs.keys()], {
      persistent: false,
      ignoreInitial: true,
      depth: 0,
      // Watch the link, not /dev/stderr behind it.
      followSymlinks: false,
      // No delayed unlink/add pairing: any event is only a wake-up call.
      atomic: false,
      ignorePermissionErrors: true,
      // Only our directories and the names our patterns match: a busy /var/log
      // must not cost a watch per file.
      ignored: (p: string) => {
        const abs = resolve(p);
        return !(dirs.has(abs) || isAncestor(abs, dirs) || matches(abs));
      },
    });
    this.watcher.on('all', wake);
    // chokidar's own events follow paths, not inodes: after a rename its watch on
    // the file stays on the old inode and the new file at the same name may never
    // be announced. The raw inotify events of the directory watch report every
    // write to every entry, so they are the better wake-up call; filtered to our
    // names, so a busy access.log next door does not run passes.
    this.watcher.on('raw', (_event, evPath, details) => {
      const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
      if (typeof watched !== 'string' || typeof evPath !== 'string') return;
      const abs = resolve(watched);
      if (dirs.has(abs) ? evPath.length === 0 || matches(resolve(abs, evPath)) : matches(abs)) wake();
    });
    this.watcher.on('error', (err) => {
      // A hint source failing is not a tailing failure: the timer still runs.
      log.debug({ err }, 'file watcher error; the timed pass carries on');
    });
    this.ready = new Promise<void>((done) => {
      const timeout = setTimeout(done, WATCH_READY_TIMEOUT_MS);
      timeout.unref();
      this.watcher.once('ready', () => {
        clearTimeout(timeout);
        done();
      });
    });
  }

  onWake(callback: () => Promise<void>): void {
    this.callbacks.push(callback);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher.close();
  }

  private wake(): void {
    if (this.closed) return;
    for (const callback of this.callbacks) void callback();
  }
}

function isAncestor(abs: string, dirs: Map<string, unknown>): boolean {
  for (const d of dirs.keys()) if (d === abs || d.startsWith(abs === '/' ? '/' : `${abs}/`)) return true;
  return false;
}
