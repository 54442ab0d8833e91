/**
 * Follows nginx error logs through rotation and hands on every complete line,
 * once. I/O only: the lines go to onLine, classification happens elsewhere.
 *
 * The truth is a stat-based reconcile pass that runs on a timer: for every path it
 * stats the path and compares device, inode and size with the file it has open.
 * It must be, and is, correct with no watcher events at all. chokidar events
 * (watching the patterns' directories) only wake the same pass early, so a line
 * is usually handed on within milliseconds of its write instead of within
 * reconcileIntervalMs.
 *
 * What one pass concludes, per path:
 *   - same dev/ino, size ≥ offset: read on from the offset.
 *   - same dev/ino, size < offset, or the bytes just before the offset changed:
 *     copytruncate. Start again at 0 (see COPYTRUNCATE LOSS WINDOW below).
 *   - another dev/ino at the path, or nothing at the path: the open file was
 *     rotated away. It is "retired": kept open and drained to its end before the
 *     new file is read, and drained again on every pass for rotateWaitMs, because
 *     nginx keeps writing into it until it reopens its logs (logrotate's
 *     postrotate sends USR1; the reopen is not instant). Link count 0 on the open
 *     fd means the file was deleted ('recreate'), otherwise renamed ('rename').
 *     A retired file that shrinks or whose bytes before our offset change (a
 *     copy landed on its new name) is no longer the log we followed: closed.
 *   - the new file is read from its start: it appeared after we started.
 *
 * COPYTRUNCATE LOSS WINDOW. logrotate's copytruncate copies the file, then
 * truncates it in place; the writer never reopens. The bytes appended after our
 * last read and before the truncate went into the copy (whose name we do not
 * know) and are gone from the file we hold: those lines are lost. The window is
 * the time between two reads, so at most reconcileIntervalMs of log when no
 * watcher event arrives, usually a few milliseconds with one. Everything written
 * after the truncate is read, even if the file grew back to our old offset or past
 * it before we looked: we remember the file's first bytes and the last bytes
 * before the offset and check both before reading on, so a regrown file is not
 * mistaken for the old one (which would skip its first `offset` bytes and start
 * mid-line). The last bytes alone can match by chance when lines repeat with the
 * same length; the first bytes of a rotated nginx log carry a later timestamp. nginx's own rotation (rename +
 * USR1) has no such window, which is why it is the recommended setup.
 *
 * Files are opened only after stat() says "regular file", with O_NONBLOCK (a FIFO
 * swapped in between the stat and the open must not block the daemon) and the fd
 * is fstat()ed again to close that race: the official nginx image links
 * error.log to /dev/stderr, which must be refused, never read.
 *
 * Reads are synchronous preads of 64 KiB into one buffer, with a yield to the
 * event loop every MiB, so a large backlog does not stall the HTTP server.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { compilePatterns, entryPath, patternProblems, type ErrorLogPatterns } from '../parse/patterns.js';
import { matchingEntries } from '../../io/directories.js';
import {
  describeFileError,
  errnoCode,
  fileKind,
  goesToContainerOutput,
  isMissing,
  kindOf,
  NotRegularFileError,
  openVerified,
  stdStreamLink,
  symlinkTarget,
  type FileKind,
  type KindWording,
  type OpenFileSync,
} from '../../io/files.js';
import { LineSplitter } from './lineSplitter.js';

export type RotationType = 'rename' | 'copytruncate' | 'recreate';
export const ROTATION_TYPES: readonly RotationType[] = ['rename', 'copytruncate', 'recreate'];

export type TailState = 'tailing' | 'waiting' | 'refused' | 'error';

export interface TailedFileStatus {
  /** The configured path, or the file a glob pattern matched. */
  path: string;
  /** waiting = does not exist (yet). */
  state: TailState;
  /** Why refused or in error, e.g. "permission denied, retrying in 4 s". */
  detail?: string;
  /** Lines handed to onLine. */
  lines: number;
  /** Bytes read, including discarded ones. */
  bytes: number;
  discarded: {
    /** Lines longer than maxLineBytes. */
    too_long: number;
    /** Incomplete last lines dropped because their file was truncated or closed before the newline came. */
    partial: number;
  };
  rotations: Record<RotationType, number>;
  /** Rotated-away files still held open and read (for rotateWaitMs after the rotation). */
  draining: number;
}

/** Open a file read-only; the flags include O_NONBLOCK. A seam for tests (inject EACCES as root). */
export type OpenFile = OpenFileSync;

export interface TailerOptions {
  /** Paths; wildcards (* ? [..]) are allowed in the file-name part: /var/log/nginx/*error.log. */
  patterns: string[];
  /** Backfill: read files present at start from their beginning. false: from their end. */
  fromStart: boolean;
  /** Longer lines are discarded and counted (see TAILER_DEFAULTS). */
  maxLineBytes: number;
  /** The stat-based pass, 1–500 ms. 0 = no timer: the caller drives reconcile() (tests). */
  reconcileIntervalMs: number;
  logger: Logger;
  onLine: (path: string, line: string) => void;
  /** Clock for back-off and the rotate wait. */
  now?: () => number;
  /** chokidar events wake the pass early. false: the timer (or reconcile()) alone. Default true. */
  watch?: boolean;
  /** How long a rotated-away file is kept open and read after its rotation was seen. */
  rotateWaitMs?: number;
  /** First delay after a failed open; doubles per failure up to backoffMaxMs. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Replaces fs.openSync, for tests. */
  openFile?: OpenFile;
}

export const TAILER_DEFAULTS = Object.freeze({
  fromStart: false,
  maxLineBytes: 64 * 1024,
  reconcileIntervalMs: 500,
  rotateWaitMs: 5000,
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
});

/** nginx reopens within milliseconds of USR1; more retired files than this per path means a rotation storm. */
const MAX_RETIRED_PER_PATH = 4;
const READ_CHUNK_BYTES = 64 * 1024;
const YIELD_EVERY_BYTES = 1 << 20;
/** Per file per pass, so one file written faster than we read cannot hold the pass forever. */
const PASS_BUDGET_BYTES = 32 << 20;
/** Bytes before the offset remembered to notice a truncated file that grew back past the offset. */
const FINGERPRINT_BYTES = 32;
/**
 * The file's first bytes, remembered too: after a truncate the file starts with
 * new lines (a later timestamp, in nginx's case), while the bytes just before an
 * old offset can match by chance when lines repeat with the same length.
 */
const HEAD_BYTES = 64;

interface Generation {
  fd: number;
  id: string;
  /** Next byte to read. */
  offset: number;
  splitter: LineSplitter;
  /** The last fpLength bytes before offset, as read. */
  fingerprint: Buffer;
  fpLength: number;
  /** The file's first headLength bytes (at most HEAD_BYTES, never past the offset). */
  head: Buffer;
  headLength: number;
  retiredAt: number | null;
  /** The last drain reached the end of the file (not stopped by the per-pass budget). */
  drained: boolean;
}

interface Tracked {
  path: string;
  /** Named by a pattern without wildcards: reported even while missing. */
  literal: boolean;
  current: Generation | null;
  retired: Generation[];
  state: TailState;
  detail: string | null;
  /** The state and reason last logged, so a retry that fails the same way logs nothing. */
  logged: string;
  lines: number;
  bytes: number;
  tooLong: number;
  partial: number;
  rotations: Record<RotationType, number>;
  /** How the last open file left: counted when the next one is opened. */
  pendingRotation: RotationType | null;
  /** dev:ino and size seen at the path by the first pass: that file is read from there on. */
  startId: string | null;
  startSize: number;
  failures: number;
  retryAt: number;
}

function idOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

/** Said of a FIFO: its other name, for readers who know it by that one. */
const TAILER_KIND_WORDING: KindWording = { FIFO: 'a FIFO (named pipe)' };

/** "is a character device (symlink to /dev/stderr); only regular files are tailed"; never opens the path. */
function describeNotRegular(path: string, kind: FileKind): string {
  const target = symlinkTarget(path);
  let via = '';
  if (target !== null) {
    via = ` (symlink to ${target})`;
    if (goesToContainerOutput(target)) via += '; the log goes to the container output, set error_log to a file to tail it';
  }
  return `is ${kindOf(kind, TAILER_KIND_WORDING)}${via}; only regular files are tailed`;
}

export class Tailer {
  private readonly o: Required<Omit<TailerOptions, 'logger' | 'onLine'>> & Pick<TailerOptions, 'onLine'>;
  private readonly log: Logger;
  private readonly patterns: ErrorLogPatterns;
  private readonly tracked = new Map<string, Tracked>();
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private readonly fpScratch = Buffer.allocUnsafe(FINGERPRINT_BYTES);
  private readonly headScratch = Buffer.allocUnsafe(HEAD_BYTES);
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Passes run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  /** A pass that is queued and has not started: later requests join it. */
  private queued: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private initialPassDone = false;
  private onLineFailed = false;

  constructor(options: TailerOptions) {
    const problems = patternProblems(options.patterns);
    if (!Number.isSafeInteger(options.maxLineBytes) || options.maxLineBytes < 1) problems.push('maxLineBytes must be a positive integer');
    if (!Number.isInteger(options.reconcileIntervalMs) || options.reconcileIntervalMs < 0 || options.reconcileIntervalMs > 500) {
      problems.push('reconcileIntervalMs must be 0–500 (0: no timer, the caller runs reconcile())');
    }
    if (problems.length > 0) throw new RangeError(`error-log tailer: ${problems.join('; ')}`);
    this.o = {
      patterns: options.patterns,
      fromStart: options.fromStart,
      maxLineBytes: options.maxLineBytes,
      reconcileIntervalMs: options.reconcileIntervalMs,
      onLine: options.onLine,
      now: options.now ?? Date.now,
      watch: options.watch ?? true,
      rotateWaitMs: options.rotateWaitMs ?? TAILER_DEFAULTS.rotateWaitMs,
      backoffInitialMs: options.backoffInitialMs ?? TAILER_DEFAULTS.backoffInitialMs,
      backoffMaxMs: options.backoffMaxMs ?? TAILER_DEFAULTS.backoffMaxMs,
      openFile: options.openFile ?? openSync,
    };
    this.log = options.logger.child({ component: 'errorlog-tailer' });
    this.patterns = compilePatterns(options.patterns);
  }

  /** Runs the first pass (which decides what "present at start" means), then starts the watcher and the timer. */
  async start(): Promise<void> {
    if (this.started) throw new Error('Tailer.start() called twice');
    this.started = true;
    await this.reconcile();
    if (this.o.watch && !this.isStopped()) await this.startWatcher();
    // stop() may have run during either await.
    if (this.o.reconcileIntervalMs > 0 && !this.isStopped()) {
      this.timer = setInterval(() => void this.reconcile(), this.o.reconcileIntervalMs);
      // The daemon's HTTP server keeps the process alive; the tailer alone must not.
      this.timer.unref();
    }
  }

  /** Stops the watcher and the timer, waits for a running pass, closes every file. Status stays readable. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const w = this.watcher;
    this.watcher = null;
    await w?.close();
    await this.chain;
    for (const t of this.tracked.values()) {
      for (const g of t.retired) this.close(t, g);
      t.retired = [];
      if (t.current !== null) this.close(t, t.current);
      t.current = null;
    }
  }

  /**
   * One full stat-based pass that starts after this call: discover, detect
   * rotations, read everything written so far. Calls made while a pass is
   * queued share it.
   */
  reconcile(): Promise<void> {
    if (this.queued !== null) return this.queued;
    const pass = this.chain.then(async () => {
      this.queued = null;
      if (this.stopped) return;
      try {
        await this.pass();
      } catch (err) {
        // A bug here must not stop the timer from trying again.
        this.log.error({ err }, `error-log pass failed: ${describeFileError(err)}`);
      }
    });
    this.queued = pass;
    this.chain = pass;
    return pass;
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  status(): TailedFileStatus[] {
    return [...this.tracked.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((t) => ({
        path: t.path,
        state: t.state,
        ...(t.detail !== null ? { detail: t.detail } : {}),
        lines: t.lines,
        bytes: t.bytes,
        discarded: { too_long: t.tooLong, partial: t.partial },
        rotations: { ...t.rotations },
        draining: t.retired.length,
      }));
  }

  private async startWatcher(): Promise<void> {
    const dirs = new Map<string, ((name: string) => boolean)[]>();
    for (const { dir, matches } of this.patterns.all) {
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
    const w = watch([...dirs.keys()], {
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
    const wake = () => {
      if (!this.stopped) void this.reconcile();
    };
    w.on('all', wake);
    // chokidar's own events follow paths, not inodes: after a rename its watch on
    // the file stays on the old inode and the new file at the same name may never
    // be announced. The raw inotify events of the directory watch report every
    // write to every entry, so they are the better wake-up call; filtered to our
    // names, so a busy access.log next door does not run passes.
    w.on('raw', (_event, evPath, details) => {
      const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
      if (typeof watched !== 'string' || typeof evPath !== 'string') return;
      const abs = resolve(watched);
      if (dirs.has(abs) ? evPath.length === 0 || matches(resolve(abs, evPath)) : matches(abs)) wake();
    });
    w.on('error', (err) => {
      // A hint source failing is not a tailing failure: the timer still runs.
      this.log.debug({ err }, 'file watcher error; the timed pass carries on');
    });
    this.watcher = w;
    await new Promise<void>((done) => {
      const t = setTimeout(done, 2000);
      t.unref();
      w.once('ready', () => {
        clearTimeout(t);
        done();
      });
    });
  }

  /** The paths the patterns name now: literals always, glob matches as listed. */
  private expand(): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const p of this.patterns.literals) out.set(p, true);
    for (const { dir, name } of this.patterns.globs) {
      // No directory, no matches; literal paths report their own state.
      for (const entry of matchingEntries(dir, name)) {
        const path = entryPath(dir, entry);
        if (!out.has(path)) out.set(path, false);
      }
    }
    return out;
  }

  private track(path: string, literal: boolean): Tracked {
    let t = this.tracked.get(path);
    if (t === undefined) {
      t = {
        path,
        literal,
        current: null,
        retired: [],
        state: 'waiting',
        detail: null,
        logged: '',
        lines: 0,
        bytes: 0,
        tooLong: 0,
        partial: 0,
        rotations: { rename: 0, copytruncate: 0, recreate: 0 },
        pendingRotation: null,
        startId: null,
        startSize: 0,
        failures: 0,
        retryAt: 0,
      };
      this.tracked.set(path, t);
    }
    return t;
  }

  private async pass(): Promise<void> {
    const now = this.o.now();
    const initial = !this.initialPassDone;
    this.initialPassDone = true;
    for (const [path, literal] of this.expand()) this.track(path, literal);

    // 1. Look at every path; retire open files that are no longer there. No opens
    //    yet, so a file renamed from one matched name to another is seen as held.
    const seen = new Map<Tracked, BigIntStats | null>();
    for (const t of this.tracked.values()) seen.set(t, this.observe(t, now, initial));

    // 2. Open what is new, adopting files we already hold under another name.
    for (const [t, st] of seen) if (st !== null && t.current === null) this.openAt(t, st, now);

    // 3. Read: rotated-away files to their end first, then the current one.
    let more = false;
    for (const t of this.tracked.values()) {
      let retiredDone = true;
      for (const g of t.retired) g.drained = false; // set again by a drain that reaches the end
      for (const g of [...t.retired]) {
        if (!this.stillAppendOnly(g)) {
          // Truncated or rewritten after it was rotated away (a copy landed on it):
          // no longer the log we followed, and reading on would start mid-line.
          this.log.debug({ path: t.path }, 'a rotated-away file was rewritten; no longer reading it');
          this.close(t, g);
          t.retired.splice(t.retired.indexOf(g), 1);
          continue;
        }
        if ((await this.drain(t, g)) === 'more') retiredDone = false;
        if (this.stopped) return;
      }
      if (!retiredDone) {
        more = true;
        continue;
      }
      if (t.current !== null && (await this.drain(t, t.current)) === 'more') more = true;
      if (this.stopped) return;
    }

    // 4. Close rotated-away files once their wait is over (they were just drained
    //    to their end; one the budget stopped short waits for the next pass).
    for (const t of this.tracked.values()) {
      const keep = t.retired.filter((g) => !g.drained || (g.retiredAt !== null && now - g.retiredAt < this.o.rotateWaitMs));
      const firstUndrained = keep.findIndex((g) => !g.drained);
      const excess = Math.min(keep.length - MAX_RETIRED_PER_PATH, firstUndrained === -1 ? keep.length : firstUndrained);
      const closing = t.retired.filter((g) => !keep.includes(g)).concat(excess > 0 ? keep.splice(0, excess) : []);
      for (const g of closing) this.close(t, g);
      t.retired = keep;
      // A glob match that is gone and holds nothing is forgotten; if the name comes
      // back it is a new file, read from its start.
      if (!t.literal && t.current === null && t.retired.length === 0 && t.state === 'waiting') this.tracked.delete(t.path);
    }

    if (more && !this.stopped) setImmediate(() => void this.reconcile());
  }

  /**
   * Stats the path. Returns the stats when a regular file is there that is not the
   * one open (so step 2 should open it), else null. Detects copytruncate on the
   * open file.
   */
  private observe(t: Tracked, now: number, initial: boolean): BigIntStats | null {
    let st: BigIntStats;
    try {
      st = statSync(t.path, { bigint: true });
    } catch (err) {
      if (isMissing(err)) {
        if (t.current !== null) this.retire(t, now);
        t.failures = 0;
        t.retryAt = 0;
        this.setState(t, 'waiting', null, 'info', 'does not exist (yet); waiting for it');
        return null;
      }
      // e.g. the directory lost its x bit. An open file keeps being read.
      if (t.current === null) this.failed(t, now, err);
      else this.setState(t, 'error', `${describeFileError(err)} (still reading the open file)`, 'warn');
      return null;
    }
    if (!st.isFile()) {
      if (t.current !== null) this.retire(t, now);
      t.failures = 0;
      t.retryAt = 0;
      const why = describeNotRegular(t.path, fileKind(st));
      this.setState(t, 'refused', why, 'warn', `refused: ${why}`);
      return null;
    }
    const id = idOf(st);
    if (initial) {
      t.startId = id;
      t.startSize = Number(st.size);
    }
    const cur = t.current;
    if (cur === null) return st;
    if (cur.id !== id) {
      this.retire(t, now);
      return st;
    }
    if (t.state !== 'tailing') this.setState(t, 'tailing', null, 'info', 'tailing');
    const size = Number(st.size);
    // Checked at equal size too: a file truncated and rewritten to exactly the old
    // length before we looked still starts with other bytes.
    if (size < cur.offset || !this.fingerprintHolds(cur)) {
      this.truncated(t, cur);
    }
    return null;
  }

  /** Nothing was cut from the file, and the bytes before the offset are the ones we read. */
  private stillAppendOnly(g: Generation): boolean {
    let size: number;
    try {
      size = fstatSync(g.fd).size;
    } catch {
      return true;
    }
    return size >= g.offset && this.fingerprintHolds(g);
  }

  /** The bytes just before the offset, and the file's first bytes, are still the ones we read there. */
  private fingerprintHolds(g: Generation): boolean {
    try {
      if (g.fpLength > 0) {
        const n = readSync(g.fd, this.fpScratch, 0, g.fpLength, g.offset - g.fpLength);
        if (n !== g.fpLength || this.fpScratch.compare(g.fingerprint, 0, g.fpLength, 0, g.fpLength) !== 0) return false;
      }
      if (g.headLength > 0) {
        const n = readSync(g.fd, this.headScratch, 0, g.headLength, 0);
        if (n !== g.headLength || this.headScratch.compare(g.head, 0, g.headLength, 0, g.headLength) !== 0) return false;
      }
    } catch {
      return true; // the read that follows will report the error
    }
    return true;
  }

  private truncated(t: Tracked, g: Generation): void {
    if (g.splitter.reset() > 0) t.partial++;
    g.offset = 0;
    g.fpLength = 0;
    g.headLength = 0;
    t.rotations.copytruncate++;
    this.log.debug({ path: t.path }, 'truncated in place (copytruncate); reading again from the start');
  }

  private retire(t: Tracked, now: number): void {
    const g = t.current;
    if (g === null) return;
    t.current = null;
    let type: RotationType = 'rename';
    try {
      if (fstatSync(g.fd).nlink === 0) type = 'recreate';
    } catch {
      // fstat on an fd we hold does not fail in practice; 'rename' is the safe guess.
    }
    t.pendingRotation = type;
    g.retiredAt = now;
    t.retired.push(g);
    this.log.debug({ path: t.path, rotation: type }, 'rotated away; draining the old file');
  }

  private openAt(t: Tracked, st: BigIntStats, now: number): void {
    const id = idOf(st);
    // A file we hold as rotated-away that shows up under a matched name (a rename
    // between two names a glob matches) is the same file: carry on where we were.
    for (const other of this.tracked.values()) {
      const i = other.retired.findIndex((g) => g.id === id);
      if (i !== -1) {
        const [g] = other.retired.splice(i, 1);
        g!.retiredAt = null;
        t.current = g!;
        this.opened(t);
        return;
      }
      if (other !== t && other.current?.id === id) {
        this.setState(t, 'refused', `is the same file as ${other.path}`, 'warn');
        return;
      }
    }
    const std = stdStreamLink(t.path);
    if (std !== null) {
      const why = `is a symlink to ${std}, a process's standard stream, not a log file; set error_log to a file to tail it`;
      this.setState(t, 'refused', why, 'warn', `refused: ${why}`);
      return;
    }
    if (now < t.retryAt) return;
    let fd: number;
    let fst: BigIntStats;
    try {
      ({ fd, stats: fst } = openVerified(t.path, this.o.openFile));
    } catch (err) {
      if (err instanceof NotRegularFileError) {
        // Swapped for something else between the stat and the open.
        const why = describeNotRegular(t.path, err.kind);
        this.setState(t, 'refused', why, 'warn', `refused: ${why}`);
      } else if (errnoCode(err) === 'ENOENT') this.setState(t, 'waiting', null, 'info', 'does not exist (yet); waiting for it');
      else this.failed(t, now, err);
      return;
    }
    const g: Generation = {
      fd,
      id: idOf(fst),
      offset: 0,
      splitter: new LineSplitter(this.o.maxLineBytes),
      fingerprint: Buffer.alloc(FINGERPRINT_BYTES),
      fpLength: 0,
      head: Buffer.alloc(HEAD_BYTES),
      headLength: 0,
      retiredAt: null,
      drained: false,
    };
    // "From the end" means the end as of start(): a file present then but opened
    // only later (permission denied at first) still yields what was written since.
    if (!this.o.fromStart && g.id === t.startId) this.seekToEnd(g, Math.min(t.startSize, Number(fst.size)));
    t.current = g;
    if (t.pendingRotation !== null) t.rotations[t.pendingRotation]++;
    t.pendingRotation = null;
    this.opened(t);
  }

  private opened(t: Tracked): void {
    t.failures = 0;
    t.retryAt = 0;
    this.setState(t, 'tailing', null, 'info', 'tailing');
  }

  /**
   * Starts at the end, but at the start of the last line if it is incomplete (a
   * write in progress): a line that is finished after we started is a new line.
   */
  private seekToEnd(g: Generation, size: number): void {
    const span = Math.min(size, this.o.maxLineBytes + 1);
    const tail = Buffer.allocUnsafe(span);
    let n = 0;
    try {
      n = readSync(g.fd, tail, 0, span, size - span);
    } catch {
      // Read errors surface on the first real read.
    }
    try {
      // The first bytes of a file we start at the end of: what a truncate would replace.
      g.headLength = readSync(g.fd, g.head, 0, Math.min(HEAD_BYTES, size), 0);
    } catch {
      g.headLength = 0;
    }
    const nl = tail.subarray(0, n).lastIndexOf(0x0a);
    if (nl !== -1) g.offset = size - span + nl + 1;
    else if (size <= this.o.maxLineBytes) g.offset = 0;
    else {
      g.offset = size;
      g.splitter.skipToNextLine();
    }
    this.remember(g, tail.subarray(0, nl === -1 ? 0 : nl + 1));
  }

  /** Keeps the last FINGERPRINT_BYTES bytes ending at the offset; `bytes` end at the offset. */
  private remember(g: Generation, bytes: Uint8Array): void {
    const keep = Math.min(FINGERPRINT_BYTES, bytes.length);
    if (keep === FINGERPRINT_BYTES) {
      g.fingerprint.set(bytes.subarray(bytes.length - keep));
      g.fpLength = keep;
      return;
    }
    const old = Math.min(g.fpLength, FINGERPRINT_BYTES - keep);
    g.fingerprint.copy(g.fingerprint, 0, g.fpLength - old, g.fpLength);
    g.fingerprint.set(bytes, old);
    g.fpLength = old + keep;
  }

  /** Reads g from its offset to its end (or the per-pass budget). */
  private async drain(t: Tracked, g: Generation): Promise<'done' | 'more'> {
    let total = 0;
    let sinceYield = 0;
    const emit = (line: string) => {
      t.lines++;
      try {
        this.o.onLine(t.path, line);
      } catch (err) {
        if (!this.onLineFailed) this.log.error({ err }, 'the error-log line handler threw; lines keep coming');
        this.onLineFailed = true;
      }
    };
    for (;;) {
      let n: number;
      try {
        n = readSync(g.fd, this.buf, 0, this.buf.length, g.offset);
      } catch (err) {
        this.setState(t, 'error', `read failed: ${describeFileError(err)}`, 'warn');
        return 'done';
      }
      if (n === 0) {
        g.drained = true;
        return 'done';
      }
      const chunk = this.buf.subarray(0, n);
      if (g.headLength < HEAD_BYTES && g.offset === g.headLength) {
        // Contiguous with the head kept so far: the file's first bytes, as read.
        const take = Math.min(HEAD_BYTES - g.headLength, n);
        g.head.set(chunk.subarray(0, take), g.headLength);
        g.headLength += take;
      }
      g.offset += n;
      t.bytes += n;
      this.remember(g, chunk);
      const before = g.splitter.discardedTooLong;
      g.splitter.push(chunk, emit);
      t.tooLong += g.splitter.discardedTooLong - before;
      total += n;
      sinceYield += n;
      if (total >= PASS_BUDGET_BYTES) {
        g.drained = false;
        return 'more';
      }
      if (sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        await yieldToEventLoop();
        if (this.stopped) return 'done';
      }
    }
  }

  private close(t: Tracked, g: Generation): void {
    if (g.splitter.reset() > 0) t.partial++;
    try {
      closeSync(g.fd);
    } catch {
      // Already closed would be our bug; nothing useful to do about it here.
    }
  }

  /** Open failed: back off (initial delay doubling to the maximum), log on a change of reason only. */
  private failed(t: Tracked, now: number, err: unknown): void {
    if (now < t.retryAt) return; // still backing off from the last failure
    t.failures++;
    const delay = Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** Math.min(t.failures - 1, 30));
    t.retryAt = now + delay;
    const why = describeFileError(err);
    this.setState(t, 'error', `${why}, retrying in ${formatDelay(delay)}`, 'warn', `cannot open: ${why}; retrying with back-off`);
  }

  /**
   * Sets state and detail; logs only when the state or the logged message
   * changes, so a retry that fails the same way is silent.
   */
  private setState(t: Tracked, state: TailState, detail: string | null, level: 'info' | 'warn' = 'info', message?: string): void {
    t.state = state;
    t.detail = detail;
    const msg = message ?? (detail === null ? state : `${state}: ${detail}`);
    const key = `${state}\u0000${msg}`;
    if (key === t.logged) return;
    t.logged = key;
    this.log[level]({ path: t.path, state, ...(detail !== null ? { detail } : {}) }, `${t.path}: ${msg}`);
  }
}

function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function isAncestor(abs: string, dirs: Map<string, unknown>): boolean {
  for (const d of dirs.keys()) if (d === abs || d.startsWith(abs === '/' ? '/' : `${abs}/`)) return true;
  return false;
}
