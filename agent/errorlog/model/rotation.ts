/**
 * The error-log tailer's rotation rules as pure decisions: what one stat() of a
 * path says about the file the tailer holds open there, and what to do. The
 * tailer (tail/tailer.ts) stats and performs; nothing here touches the disk, so
 * every rule is table-tested (test/unit/errorlog/rotation.test.ts).
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
 *   - not a regular file at the path: refused (and a file held there retired).
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
 */

export type RotationType = 'rename' | 'copytruncate' | 'recreate';
export const ROTATION_TYPES: readonly RotationType[] = ['rename', 'copytruncate', 'recreate'];

/** What one stat() of the path found. */
export type PathStat =
  /** ENOENT or ENOTDIR: nothing there (yet). */
  | { kind: 'missing' }
  /** Any other stat() error, e.g. the directory lost its x bit. */
  | { kind: 'failed' }
  /** A FIFO, socket, device or directory (stat() follows symlinks). */
  | { kind: 'not-regular' }
  | { kind: 'regular'; /** dev:ino */ id: string; size: number };

/**
 * The file the tailer holds open for a path. The two checks read or fstat the
 * open descriptor, so they are asked lazily, only when the decision depends on
 * them.
 */
export interface HeldFile {
  /** dev:ino of the open file. */
  readonly id: string;
  /** The next byte to read. */
  readonly offset: number;
  /** The bytes just before the offset, and the file's first bytes, are still the ones read there. */
  fingerprintHolds(): boolean;
  /** st_nlink of the open descriptor (0 once the file was deleted); null when fstat() failed. */
  linkCount(): number | null;
}

export type PathAction =
  /** The same file, nothing cut: read on from the offset. */
  | { action: 'read-on' }
  /** The same file, truncated in place (or rewritten): read it again from 0. */
  | { action: 'copytruncate' }
  /** The held file was rotated away: keep draining it, then open / wait / refuse for what is at the path now. */
  | { action: 'retire'; rotation: 'rename' | 'recreate'; then: 'open-new' | 'wait' | 'refuse' }
  /** Nothing held, a regular file at the path: open it. */
  | { action: 'open-new' }
  /** Nothing held, nothing at the path. */
  | { action: 'wait' }
  /** Nothing held, not a regular file at the path. */
  | { action: 'refuse' }
  /** stat() failed: a held file is read on; without one, the open backs off. */
  | { action: 'stat-failed' };

/** How a held file left its path: deleted (link count 0) or renamed. A failed fstat() is taken as a rename, the safe guess. */
export function retirement(held: HeldFile): 'rename' | 'recreate' {
  return held.linkCount() === 0 ? 'recreate' : 'rename';
}

/** What to do with a path after one stat(), given the file held open there (if any). */
export function decideRotation(held: HeldFile | null, seen: PathStat): PathAction {
  if (seen.kind === 'failed') return { action: 'stat-failed' };
  const next = seen.kind === 'missing' ? 'wait' : seen.kind === 'not-regular' ? 'refuse' : 'open-new';
  if (held === null) return { action: next };
  if (seen.kind !== 'regular' || seen.id !== held.id) return { action: 'retire', rotation: retirement(held), then: next };
  // Checked at equal size too: a file truncated and rewritten to exactly the old
  // length before we looked still starts with other bytes.
  if (seen.size < held.offset || !held.fingerprintHolds()) return { action: 'copytruncate' };
  return { action: 'read-on' };
}

/**
 * A rotated-away file, on every pass: drained while nothing was cut from it and
 * the bytes before the offset are the ones read; otherwise it was truncated or
 * rewritten after it was rotated away (a copy landed on it), is no longer the log
 * we followed, and reading on would start mid-line: closed. `size` is its fstat()
 * size, null when fstat() failed (then the read that follows reports the error).
 */
export function decideRetired(retired: Pick<HeldFile, 'offset' | 'fingerprintHolds'>, size: number | null): 'drain' | 'close' {
  if (size === null) return 'drain';
  return size >= retired.offset && retired.fingerprintHolds() ? 'drain' : 'close';
}

/** nginx reopens within milliseconds of USR1; more retired files than this per path means a rotation storm. */
export const MAX_RETIRED_PER_PATH = 4;

export interface RetiredFile {
  /** When its rotation was seen (the tailer's clock). */
  retiredAt: number | null;
  /** The last drain reached the end of the file (not stopped by the per-pass budget). */
  drained: boolean;
}

/**
 * After a pass: which retired files to close. A file is kept while its last
 * drain stopped short (it still has unread lines) or while it is within
 * rotateWaitMs of its rotation; beyond MAX_RETIRED_PER_PATH the oldest drained
 * ones go, but never one with unread lines nor any after it (order is rotation
 * order, so lines keep their order).
 */
export function sweepRetired<T extends RetiredFile>(retired: readonly T[], now: number, rotateWaitMs: number): { keep: T[]; close: T[] } {
  const keep = retired.filter((file) => !file.drained || (file.retiredAt !== null && now - file.retiredAt < rotateWaitMs));
  const firstUndrained = keep.findIndex((file) => !file.drained);
  const excess = Math.min(keep.length - MAX_RETIRED_PER_PATH, firstUndrained === -1 ? keep.length : firstUndrained);
  const close = retired.filter((file) => !keep.includes(file)).concat(excess > 0 ? keep.splice(0, excess) : []);
  return { keep, close };
}
