/**
 * Follows nginx error logs through rotation and hands on every complete line,
 * once. I/O only: the lines go to onLine, classification happens elsewhere.
 *
 * The tailer is discovery and bookkeeping, split the way mtail splits its
 * tailer (internal/tailer/tail.go, logstream/filestream.go, waker/):
 *   - this file expands the patterns, keeps one entry per path (its open
 *     stream, the rotated-away streams still drained, counts, state, back-off)
 *     and runs the passes;
 *   - model/rotation.ts decides, purely, what a stat() of a path means: read
 *     on, copytruncate, retire (rename or recreate), open, wait, refuse; its
 *     header has the rotation semantics and the COPYTRUNCATE LOSS WINDOW;
 *   - fileStream.ts is one open file: offset, line splitter, fingerprint, reads;
 *   - waker.ts is what starts a pass early: the timer, chokidar, or a test.
 *
 * The truth is a stat-based reconcile pass that runs on a timer: for every path it
 * stats the path and compares device, inode and size with the file it has open.
 * It must be, and is, correct with no watcher events at all. chokidar events
 * (watching the patterns' directories) only wake the same pass early, so a line
 * is usually handed on within milliseconds of its write instead of within
 * reconcileIntervalMs.
 *
 * One pass, in order: look at every path and retire open files that are no
 * longer there (no opens yet, so a file renamed from one matched name to another
 * is seen as held); open what is new, adopting files already held under another
 * name; read rotated-away files to their end first, then the current one; close
 * rotated-away files whose wait is over.
 */
import { openSync, statSync, type BigIntStats } from 'node:fs';
import type { Logger } from 'pino';
import { matchingEntries } from '../../io/directories.js';
import {
  describeFileError,
  errnoCode,
  fileKind,
  goesToContainerOutput,
  isMissing,
  kindOf,
  NotRegularFileError,
  stdStreamLink,
  symlinkTarget,
  type FileKind,
  type KindWording,
  type OpenFileSync,
} from '../../io/files.js';
import { decideRetired, decideRotation, sweepRetired, type PathStat, type RotationType } from '../model/rotation.js';
import { compilePatterns, entryPath, patternProblems, type ErrorLogPatterns } from '../parse/patterns.js';
import { FileStream, idOf, ReadBuffers } from './fileStream.js';
import { combineWakers, IntervalWaker, WatchWaker, type Waker } from './waker.js';
import { systemClock } from '../../io/clock.js';

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
  /** Paths; wildcards (* ? [..], glob(3) rules) are allowed in the file-name part: /var/log/nginx/*error.log. */
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
  /** Wakes the pass instead of the timer and chokidar (watch and reconcileIntervalMs then start neither): tests. */
  waker?: Waker;
  /** How long a rotated-away file is kept open and read after its rotation was seen. */
  rotateWaitMs?: number;
  /** First delay after a failed open; doubles per failure up to backoffMaxMs. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Replaces fs.openSync, for tests. */
  openFile?: OpenFile;
  /** Reads a large backlog (a file read from its start) another way than line by line here: see BacklogReader. */
  backlog?: BacklogReader;
}

/**
 * What reads a stream's backlog when it is at least minBytes, from a line's start:
 * the lines of [from, to) of the open descriptor `fd` (the tailer's own, so the
 * same file whatever its name is now), handed on as onLine would have had them,
 * up to `end`, a line's start it chooses, from minEnd to `to` (the tailer goes on
 * from there); null when it handed on nothing. `stopped` says the tailer is
 * stopping. errorlog/backlog.ts reads in worker threads.
 */
export interface BacklogReader {
  readonly minBytes: number;
  read(path: string, fd: number, from: number, to: number, minEnd: number, stopped: () => boolean): Promise<BacklogRead | null>;
}

export interface BacklogRead {
  end: number;
  /** Lines handed on (too long ones are not). */
  lines: number;
  /** Lines longer than maxLineBytes, discarded. */
  tooLong: number;
}

export const TAILER_DEFAULTS = Object.freeze({
  fromStart: false,
  maxLineBytes: 64 * 1024,
  reconcileIntervalMs: 500,
  rotateWaitMs: 5000,
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
});

type ResolvedOptions = Required<Omit<TailerOptions, 'logger' | 'waker' | 'backlog'>> & { waker: Waker | null; backlog: BacklogReader | null };

/** One path a pattern names, and everything the tailer knows about it. */
interface TrackedPath {
  path: string;
  /** Named by a pattern without wildcards: reported even while missing. */
  literal: boolean;
  current: FileStream | null;
  /** Rotated away, still drained; oldest first. */
  retired: FileStream[];
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

/**
 * The most of a backlog one pass hands to the backlog reader (a second or two of
 * work): the passes run one at a time, and the other files and the rotation
 * checks wait for this one.
 */
const BACKLOG_BYTES_PER_PASS = 1 << 30;

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
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly patterns: ErrorLogPatterns;
  private readonly tracked = new Map<string, TrackedPath>();
  private readonly buffers = new ReadBuffers();
  private waker: Waker | null = null;
  /** Passes run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  /** A pass that is queued and has not started: later requests join it. */
  private queued: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private initialPassDone = false;
  private onLineFailed = false;
  /** Set once start()'s first pass is done: backlogs go to the backlog reader from then on. */
  private backlogPasses = false;
  /** Streams whose backlog the reader would not read whole: read line by line from then on. */
  private readonly backlogDeclined = new WeakSet<FileStream>();

  constructor(options: TailerOptions) {
    const problems = patternProblems(options.patterns);
    if (!Number.isSafeInteger(options.maxLineBytes) || options.maxLineBytes < 1) problems.push('maxLineBytes must be a positive integer');
    if (!Number.isInteger(options.reconcileIntervalMs) || options.reconcileIntervalMs < 0 || options.reconcileIntervalMs > 500) {
      problems.push('reconcileIntervalMs must be 0–500 (0: no timer, the caller runs reconcile())');
    }
    if (problems.length > 0) throw new RangeError(`error-log tailer: ${problems.join('; ')}`);
    this.options = {
      patterns: options.patterns,
      fromStart: options.fromStart,
      maxLineBytes: options.maxLineBytes,
      reconcileIntervalMs: options.reconcileIntervalMs,
      onLine: options.onLine,
      now: options.now ?? (() => systemClock.now()),
      watch: options.watch ?? true,
      waker: options.waker ?? null,
      rotateWaitMs: options.rotateWaitMs ?? TAILER_DEFAULTS.rotateWaitMs,
      backoffInitialMs: options.backoffInitialMs ?? TAILER_DEFAULTS.backoffInitialMs,
      backoffMaxMs: options.backoffMaxMs ?? TAILER_DEFAULTS.backoffMaxMs,
      openFile: options.openFile ?? openSync,
      backlog: options.backlog ?? null,
    };
    this.log = options.logger.child({ component: 'errorlog-tailer' });
    this.patterns = compilePatterns(options.patterns);
  }

  /** Runs the first pass (which decides what "present at start" means), then lets the waker (watcher and timer) start passes. */
  async start(): Promise<void> {
    if (this.started) throw new Error('Tailer.start() called twice');
    this.started = true;
    await this.reconcile();
    this.backlogPasses = true;
    // stop() may have run during the first pass.
    if (this.isStopped()) return;
    const { waker, ready } = this.options.waker !== null ? { waker: this.options.waker, ready: Promise.resolve() } : this.startWakers();
    this.waker = waker;
    waker.onWake(() => (this.stopped ? Promise.resolve() : this.reconcile()));
    await ready;
  }

  /** Stops the waker, waits for a running pass, closes every file. Status stays readable. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const waker = this.waker;
    this.waker = null;
    await waker?.close();
    await this.chain;
    for (const tracked of this.tracked.values()) {
      for (const stream of tracked.retired) this.close(tracked, stream);
      tracked.retired = [];
      if (tracked.current !== null) this.close(tracked, tracked.current);
      tracked.current = null;
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

  status(): TailedFileStatus[] {
    return [...this.tracked.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((tracked) => ({
        path: tracked.path,
        state: tracked.state,
        ...(tracked.detail !== null ? { detail: tracked.detail } : {}),
        lines: tracked.lines,
        bytes: tracked.bytes,
        discarded: { too_long: tracked.tooLong, partial: tracked.partial },
        rotations: { ...tracked.rotations },
        draining: tracked.retired.length,
      }));
  }

  /** A read of `stopped` the compiler does not narrow across an await. */
  private isStopped(): boolean {
    return this.stopped;
  }

  /** chokidar (resolves `ready` after its first scan) and the interval timer, as the options ask; neither: reconcile() alone. */
  private startWakers(): { waker: Waker; ready: Promise<void> } {
    const wakers: Waker[] = [];
    let ready = Promise.resolve();
    if (this.options.watch) {
      const watcher = new WatchWaker(this.patterns.all, this.log);
      wakers.push(watcher);
      ready = watcher.ready;
    }
    if (this.options.reconcileIntervalMs > 0) wakers.push(new IntervalWaker(this.options.reconcileIntervalMs));
    return { waker: combineWakers(wakers), ready };
  }

  /** The paths the patterns name now: literals always, glob matches as listed. */
  private expand(): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const literal of this.patterns.literals) out.set(literal, true);
    for (const { dir, name } of this.patterns.globs) {
      // No directory, no matches; literal paths report their own state.
      for (const entry of matchingEntries(dir, name)) {
        const path = entryPath(dir, entry);
        if (!out.has(path)) out.set(path, false);
      }
    }
    return out;
  }

  private track(path: string, literal: boolean): TrackedPath {
    let tracked = this.tracked.get(path);
    if (tracked === undefined) {
      tracked = {
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
      this.tracked.set(path, tracked);
    }
    return tracked;
  }

  private async pass(): Promise<void> {
    const now = this.options.now();
    const initial = !this.initialPassDone;
    this.initialPassDone = true;
    for (const [path, literal] of this.expand()) this.track(path, literal);

    // 1. Look at every path; retire open files that are no longer there. No opens
    //    yet, so a file renamed from one matched name to another is seen as held.
    const seen = new Map<TrackedPath, BigIntStats | null>();
    for (const tracked of this.tracked.values()) seen.set(tracked, this.observe(tracked, now, initial));

    // 2. Open what is new, adopting files we already hold under another name.
    for (const [tracked, st] of seen) if (st !== null && tracked.current === null) this.openAt(tracked, st, now);

    // 3. Read: rotated-away files to their end first, then the current one.
    const more = await this.readAll();
    if (this.stopped) return;

    // 4. Close rotated-away files once their wait is over (they were just drained
    //    to their end; one the budget stopped short waits for the next pass).
    for (const tracked of this.tracked.values()) {
      const { keep, close } = sweepRetired(tracked.retired, now, this.options.rotateWaitMs);
      for (const stream of close) this.close(tracked, stream);
      tracked.retired = keep;
      // A glob match that is gone and holds nothing is forgotten; if the name comes
      // back it is a new file, read from its start.
      if (!tracked.literal && tracked.current === null && tracked.retired.length === 0 && tracked.state === 'waiting') this.tracked.delete(tracked.path);
    }

    if (more && !this.isStopped()) setImmediate(() => void this.reconcile());
  }

  /** Step 3 of a pass. Returns whether some file has more to read than one pass's budget. */
  private async readAll(): Promise<boolean> {
    let more = false;
    for (const tracked of this.tracked.values()) {
      const retiredDone = await this.drainRetired(tracked);
      if (this.stopped) return more;
      if (!retiredDone) {
        more = true;
        continue;
      }
      if (tracked.current !== null && (await this.drain(tracked, tracked.current)) === 'more') more = true;
      if (this.isStopped()) return more;
    }
    return more;
  }

  /** Drains the path's rotated-away files, oldest first; closes those rewritten since. Returns whether all reached their end. */
  private async drainRetired(tracked: TrackedPath): Promise<boolean> {
    let retiredDone = true;
    for (const stream of tracked.retired) stream.drained = false; // set again by a drain that reaches the end
    for (const stream of [...tracked.retired]) {
      if (decideRetired(stream, stream.size()) === 'close') {
        this.log.debug({ path: tracked.path }, 'a rotated-away file was rewritten; no longer reading it');
        this.close(tracked, stream);
        tracked.retired.splice(tracked.retired.indexOf(stream), 1);
        continue;
      }
      if ((await this.drain(tracked, stream)) === 'more') retiredDone = false;
      if (this.stopped) return retiredDone;
    }
    return retiredDone;
  }

  /**
   * Stats the path and performs what model/rotation.ts decides. Returns the stats
   * when a regular file is there that is not the one open (so step 2 should open
   * it), else null.
   */
  private observe(tracked: TrackedPath, now: number, initial: boolean): BigIntStats | null {
    let st: BigIntStats | null = null;
    let seen: PathStat;
    let statError: unknown = null;
    try {
      st = statSync(tracked.path, { bigint: true });
      seen = st.isFile() ? { kind: 'regular', id: idOf(st), size: Number(st.size) } : { kind: 'not-regular' };
    } catch (err) {
      statError = err;
      seen = isMissing(err) ? { kind: 'missing' } : { kind: 'failed' };
    }
    if (initial && seen.kind === 'regular') {
      tracked.startId = seen.id;
      tracked.startSize = seen.size;
    }
    const decision = decideRotation(tracked.current, seen);
    if (decision.action === 'retire') this.retire(tracked, decision.rotation, now);
    const next = decision.action === 'retire' ? decision.then : decision.action;
    switch (next) {
      case 'read-on':
      case 'copytruncate':
        if (tracked.state !== 'tailing') this.setState(tracked, 'tailing', null, 'info', 'tailing');
        if (next === 'copytruncate') this.restartAtZero(tracked, tracked.current!);
        return null;
      case 'open-new':
        return st;
      case 'wait':
        tracked.failures = 0;
        tracked.retryAt = 0;
        this.setState(tracked, 'waiting', null, 'info', 'does not exist (yet); waiting for it');
        return null;
      case 'refuse': {
        tracked.failures = 0;
        tracked.retryAt = 0;
        const why = describeNotRegular(tracked.path, fileKind(st!));
        this.setState(tracked, 'refused', why, 'warn', `refused: ${why}`);
        return null;
      }
      case 'stat-failed':
        // e.g. the directory lost its x bit. An open file keeps being read.
        if (tracked.current === null) this.failed(tracked, now, statError);
        else this.setState(tracked, 'error', `${describeFileError(statError)} (still reading the open file)`, 'warn');
        return null;
    }
  }

  private restartAtZero(tracked: TrackedPath, stream: FileStream): void {
    if (stream.restartAtZero()) tracked.partial++;
    tracked.rotations.copytruncate++;
    this.log.debug({ path: tracked.path }, 'truncated in place (copytruncate); reading again from the start');
  }

  private retire(tracked: TrackedPath, rotation: 'rename' | 'recreate', now: number): void {
    const stream = tracked.current;
    if (stream === null) return;
    tracked.current = null;
    tracked.pendingRotation = rotation;
    stream.retiredAt = now;
    tracked.retired.push(stream);
    this.log.debug({ path: tracked.path, rotation }, 'rotated away; draining the old file');
  }

  /**
   * A file we hold as rotated-away that shows up under a matched name (a rename
   * between two names a glob matches) is the same file: carry on where we were.
   * One another path holds open is refused. Returns whether either happened.
   */
  private adoptHeld(tracked: TrackedPath, id: string): boolean {
    for (const other of this.tracked.values()) {
      const i = other.retired.findIndex((stream) => stream.id === id);
      if (i !== -1) {
        const [stream] = other.retired.splice(i, 1);
        stream!.retiredAt = null;
        tracked.current = stream!;
        this.opened(tracked);
        return true;
      }
      if (other !== tracked && other.current?.id === id) {
        this.setState(tracked, 'refused', `is the same file as ${other.path}`, 'warn');
        return true;
      }
    }
    return false;
  }

  private openAt(tracked: TrackedPath, st: BigIntStats, now: number): void {
    if (this.adoptHeld(tracked, idOf(st))) return;
    const std = stdStreamLink(tracked.path);
    if (std !== null) {
      const why = `is a symlink to ${std}, a process's standard stream, not a log file; set error_log to a file to tail it`;
      this.setState(tracked, 'refused', why, 'warn', `refused: ${why}`);
      return;
    }
    if (now < tracked.retryAt) return;
    let opened: { stream: FileStream; size: number };
    try {
      opened = FileStream.open(tracked.path, this.options.openFile, this.options.maxLineBytes, this.buffers);
    } catch (err) {
      if (err instanceof NotRegularFileError) {
        // Swapped for something else between the stat and the open.
        const why = describeNotRegular(tracked.path, err.kind);
        this.setState(tracked, 'refused', why, 'warn', `refused: ${why}`);
      } else if (errnoCode(err) === 'ENOENT') this.setState(tracked, 'waiting', null, 'info', 'does not exist (yet); waiting for it');
      else this.failed(tracked, now, err);
      return;
    }
    const { stream, size } = opened;
    // "From the end" means the end as of start(): a file present then but opened
    // only later (permission denied at first) still yields what was written since.
    if (!this.options.fromStart && stream.id === tracked.startId) stream.seekToEnd(Math.min(tracked.startSize, size));
    tracked.current = stream;
    if (tracked.pendingRotation !== null) tracked.rotations[tracked.pendingRotation]++;
    tracked.pendingRotation = null;
    this.opened(tracked);
  }

  private opened(tracked: TrackedPath): void {
    tracked.failures = 0;
    tracked.retryAt = 0;
    this.setState(tracked, 'tailing', null, 'info', 'tailing');
  }

  /** Reads a stream from its offset to its end (or the per-pass budget), counting into the path's entry. */
  private async drain(tracked: TrackedPath, stream: FileStream): Promise<'done' | 'more'> {
    const onLine = this.options.onLine;
    const emit = (line: string) => {
      tracked.lines++;
      try {
        onLine(tracked.path, line);
      } catch (err) {
        if (!this.onLineFailed) this.log.error({ err }, 'the error-log line handler threw; lines keep coming');
        this.onLineFailed = true;
      }
    };
    if ((await this.readBacklog(tracked, stream)) === 'more') return 'more';
    if (this.isStopped()) return 'done';
    const outcome = await stream.drain(tracked, emit, () => this.stopped);
    if (outcome.status === 'failed') {
      this.setState(tracked, 'error', `read failed: ${describeFileError(outcome.error)}`, 'warn');
      return 'done';
    }
    return outcome.status;
  }

  /**
   * Hands a backlog of at least the reader's minBytes, from a line's start, to
   * the backlog reader (at most BACKLOG_BYTES_PER_PASS of it), and moves the
   * stream on to where the reader stopped. 'more': a backlog that large is left,
   * for the next pass. The first pass, which start() waits for, leaves it all to
   * the passes after it: the daemon starts as fast as without a backlog.
   */
  private async readBacklog(tracked: TrackedPath, stream: FileStream): Promise<'more' | 'none'> {
    const reader = this.options.backlog;
    if (reader === null) return 'none';
    const at = stream.lineStart();
    const size = at === null ? null : stream.size();
    if (at === null || size === null || size - at.offset < reader.minBytes || this.backlogDeclined.has(stream)) return 'none';
    if (!this.backlogPasses) return 'more';
    let read: BacklogRead | null;
    const started = performance.now();
    const to = Math.min(size, at.lineStart + BACKLOG_BYTES_PER_PASS);
    try {
      // From the start of the line the stream holds a piece of (a pass's budget ends anywhere).
      read = await reader.read(tracked.path, at.fd, at.lineStart, to, at.offset, () => this.stopped);
    } catch (err) {
      // Nothing was handed on: the lines are read here instead.
      this.log.warn({ err, path: tracked.path }, `reading the backlog in parts failed (${describeFileError(err)}); reading it line by line`);
      this.backlogDeclined.add(stream);
      return 'none';
    }
    // A reader that handed on nothing, or gave up before the end it was given (a part it would not
    // take: errorlog/backlog.ts), is not asked again about this file: the rest is read here, line by line.
    if (read === null || read.end + this.options.maxLineBytes < to) this.backlogDeclined.add(stream);
    if (read === null) return 'none';
    stream.skipTo(read.end, tracked);
    tracked.lines += read.lines;
    tracked.tooLong += read.tooLong;
    const mb = (read.end - at.offset) / 1e6;
    const seconds = (performance.now() - started) / 1000;
    const left = size - read.end;
    const rest = left >= reader.minBytes ? `; ${(left / 1e6).toFixed(1)} MB left` : left > this.options.maxLineBytes ? `; the ${(left / 1e6).toFixed(1)} MB after it line by line` : '';
    this.log.info(
      { path: tracked.path, bytes: read.end - at.offset, lines: read.lines, seconds: Number(seconds.toFixed(3)) },
      `${tracked.path}: read ${mb.toFixed(1)} MB of backlog (${read.lines} lines) in parts in ${seconds.toFixed(2)} s${rest}`,
    );
    return size - read.end >= reader.minBytes && !this.backlogDeclined.has(stream) ? 'more' : 'none';
  }

  private close(tracked: TrackedPath, stream: FileStream): void {
    if (stream.close()) tracked.partial++;
  }

  /** Open failed: back off (initial delay doubling to the maximum), log on a change of reason only. */
  private failed(tracked: TrackedPath, now: number, err: unknown): void {
    if (now < tracked.retryAt) return; // still backing off from the last failure
    tracked.failures++;
    const delay = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** Math.min(tracked.failures - 1, 30));
    tracked.retryAt = now + delay;
    const why = describeFileError(err);
    this.setState(tracked, 'error', `${why}, retrying in ${formatDelay(delay)}`, 'warn', `cannot open: ${why}; retrying with back-off`);
  }

  /**
   * Sets state and detail; logs only when the state or the logged message
   * changes, so a retry that fails the same way is silent.
   */
  private setState(tracked: TrackedPath, state: TailState, detail: string | null, level: 'info' | 'warn' = 'info', message?: string): void {
    tracked.state = state;
    tracked.detail = detail;
    const msg = message ?? (detail === null ? state : `${state}: ${detail}`);
    const key = `${state}\u0000${msg}`;
    if (key === tracked.logged) return;
    tracked.logged = key;
    this.log[level]({ path: tracked.path, state, ...(detail !== null ? { detail } : {}) }, `${tracked.path}: ${msg}`);
  }
}

function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
