/**
 * The tailer's rotation rules without a file system: each branch of
 * model/rotation.ts's header, as a table. test/system/errorlog/ holds the same
 * rules to real renames, deletes and truncates.
 */
import { describe, expect, it } from 'vitest';
import {
  decideRetired,
  decideRotation,
  MAX_RETIRED_PER_PATH,
  sweepRetired,
  type HeldFile,
  type PathAction,
  type PathStat,
} from '../../../agent/errorlog/model/rotation.js';

const HELD_ID = '2049:1001';

/** A held file at offset 100 whose checks answer as told, and which counts how often it was asked. */
function held(o: { fingerprint?: boolean; nlink?: number | null } = {}): HeldFile & { asked: { fingerprint: number; nlink: number } } {
  const asked = { fingerprint: 0, nlink: 0 };
  return {
    id: HELD_ID,
    offset: 100,
    asked,
    fingerprintHolds: () => (asked.fingerprint++, o.fingerprint ?? true),
    linkCount: () => (asked.nlink++, o.nlink === undefined ? 1 : o.nlink),
  };
}

const regular = (size: number, id = HELD_ID): PathStat => ({ kind: 'regular', id, size });
const MISSING: PathStat = { kind: 'missing' };
const FAILED: PathStat = { kind: 'failed' };
const NOT_REGULAR: PathStat = { kind: 'not-regular' };

describe('decideRotation: one stat() of a path against the file held there', () => {
  it.each<[string, ReturnType<typeof held> | null, PathStat, PathAction]>([
    ['nothing held, nothing at the path', null, MISSING, { action: 'wait' }],
    ['nothing held, a regular file appeared', null, regular(0, '2049:7'), { action: 'open-new' }],
    ['nothing held, a FIFO, socket, device or directory', null, NOT_REGULAR, { action: 'refuse' }],
    ['nothing held, stat() failed (EACCES on the directory)', null, FAILED, { action: 'stat-failed' }],
    ['same dev/ino, grown past the offset', held(), regular(250), { action: 'read-on' }],
    ['same dev/ino, size = offset', held(), regular(100), { action: 'read-on' }],
    ['same dev/ino, size < offset: copytruncate', held(), regular(40), { action: 'copytruncate' }],
    ['same dev/ino, equal size, bytes before the offset or head changed', held({ fingerprint: false }), regular(100), { action: 'copytruncate' }],
    ['same dev/ino, grown back past the offset with other bytes', held({ fingerprint: false }), regular(5000), { action: 'copytruncate' }],
    ['another dev/ino at the path, old file still linked: rename', held(), regular(0, '2049:1002'), { action: 'retire', rotation: 'rename', then: 'open-new' }],
    ['another dev/ino at the path, old file deleted (nlink 0): recreate', held({ nlink: 0 }), regular(0, '2049:1002'), { action: 'retire', rotation: 'recreate', then: 'open-new' }],
    ['same inode number on another device', held(), regular(100, '2050:1001'), { action: 'retire', rotation: 'rename', then: 'open-new' }],
    ['nothing at the path, old file renamed away', held(), MISSING, { action: 'retire', rotation: 'rename', then: 'wait' }],
    ['nothing at the path, old file deleted (nlink 0)', held({ nlink: 0 }), MISSING, { action: 'retire', rotation: 'recreate', then: 'wait' }],
    ['not a regular file at the path any more (a /dev/stderr link)', held(), NOT_REGULAR, { action: 'retire', rotation: 'rename', then: 'refuse' }],
    ['fstat() of the held file failed: taken as a rename', held({ nlink: null }), MISSING, { action: 'retire', rotation: 'rename', then: 'wait' }],
    ['stat() failed while a file is held: read on, no rotation', held(), FAILED, { action: 'stat-failed' }],
  ])('%s', (_what, file, seen, expected) => {
    expect(decideRotation(file, seen)).toEqual(expected);
  });

  it('reads the held file only when the answer depends on it', () => {
    const shrunk = held();
    decideRotation(shrunk, regular(40));
    expect(shrunk.asked).toEqual({ fingerprint: 0, nlink: 0 }); // the size alone says copytruncate
    const replaced = held();
    decideRotation(replaced, regular(0, '2049:1002'));
    expect(replaced.asked).toEqual({ fingerprint: 0, nlink: 1 });
    const same = held();
    decideRotation(same, regular(100));
    expect(same.asked).toEqual({ fingerprint: 1, nlink: 0 });
  });
});

describe('decideRetired: a rotated-away file, on every pass', () => {
  it.each<[string, ReturnType<typeof held>, number | null, 'drain' | 'close']>([
    ['grew (nginx still writing before its reopen)', held(), 180, 'drain'],
    ['unchanged', held(), 100, 'drain'],
    ['shrank: truncated after it was rotated away', held(), 99, 'close'],
    ['same size, bytes before the offset changed: a copy landed on it', held({ fingerprint: false }), 100, 'close'],
    ['fstat() failed: the read reports it', held({ fingerprint: false }), null, 'drain'],
  ])('%s → %s', (_what, file, size, expected) => {
    expect(decideRetired(file, size)).toBe(expected);
  });
});

describe('sweepRetired: which rotated-away files a pass closes', () => {
  const NOW = 100_000;
  const WAIT = 5000;
  const file = (name: string, retiredAgoMs: number, drained = true) => ({ name, retiredAt: NOW - retiredAgoMs, drained });
  const names = (r: { keep: { name: string }[]; close: { name: string }[] }) => ({ keep: r.keep.map((f) => f.name), close: r.close.map((f) => f.name) });

  it.each([
    ['drained, within rotateWaitMs: kept (nginx may not have reopened yet)', [file('a', 4999)], { keep: ['a'], close: [] }],
    ['drained, wait over: closed', [file('a', 5000)], { keep: [], close: ['a'] }],
    ['wait over but the budget stopped its drain: kept until read', [file('a', 60_000, false)], { keep: ['a'], close: [] }],
    [`a storm: beyond ${MAX_RETIRED_PER_PATH} the oldest drained ones go`, ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => file(n, 10)), { keep: ['c', 'd', 'e', 'f'], close: ['a', 'b'] }],
    [
      'a storm: never one with unread lines, nor any after it',
      [file('a', 10), file('b', 10, false), file('c', 10), file('d', 10), file('e', 10), file('f', 10)],
      { keep: ['b', 'c', 'd', 'e', 'f'], close: ['a'] },
    ],
  ])('%s', (_what, retired, expected) => {
    expect(names(sweepRetired(retired, NOW, WAIT))).toEqual(expected);
  });
});
