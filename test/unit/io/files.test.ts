import { closeSync, constants, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeFileError,
  describeReadFailure,
  fileKind,
  kindOf,
  openReadOnly,
  openRegularFile,
  openRegularFileAsync,
  READ_ONLY_FLAGS,
  stdStreamLink,
  type FileKind,
} from '../../../agent/io/files.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '/x'`), { code });
}

/** A stat result that says it is `kind`. */
function statOf(kind: FileKind): Parameters<typeof fileKind>[0] {
  return {
    isFile: () => kind === 'regular file',
    isDirectory: () => kind === 'directory',
    isCharacterDevice: () => kind === 'character device',
    isBlockDevice: () => kind === 'block device',
    isFIFO: () => kind === 'FIFO',
    isSocket: () => kind === 'socket',
  };
}

describe('one errno → phrase table, worded per caller', () => {
  it.each([
    ['ENOENT', 'does not exist', 'does not exist'],
    ['ENOTDIR', 'does not exist (a component of the path is not a directory)', 'does not exist (a component of the path is not a directory)'],
    ['EISDIR', 'is a directory', 'is a directory'],
    ['ENOTREG', 'is not a regular file', 'is not a regular file'],
    ['EACCES', 'permission denied', 'cannot be read: permission denied'],
    ['EPERM', 'permission denied', 'cannot be read: permission denied'],
    ['ELOOP', 'too many levels of symbolic links', 'cannot be read: too many levels of symbolic links'],
    ['EIO', "EIO: something, open '/x'", "cannot be read: EIO: something, open '/x'"],
  ])('%s: "%s", or with the config reader\'s prefix "%s"', (code, plain, prefixed) => {
    expect(describeFileError(errno(code))).toBe(plain);
    expect(describeFileError(errno(code), { reasonPrefix: 'cannot be read: ' })).toBe(prefixed);
  });

  it('names the file and says whether it is missing', () => {
    expect(describeReadFailure('/p', errno('ENOTDIR'))).toEqual({ ok: false, missing: true, path: '/p', error: '/p: does not exist (a component of the path is not a directory)' });
    expect(describeReadFailure('/p', errno('EACCES'))).toMatchObject({ missing: false, error: '/p: permission denied' });
  });

  it.each<[FileKind, string, string]>([
    ['directory', 'a directory', 'a directory'],
    ['character device', 'a character device', 'a device'],
    ['block device', 'a block device', 'a device'],
    ['FIFO', 'a FIFO', 'a FIFO (named pipe)'],
    ['socket', 'a socket', 'a socket'],
  ])('a %s is "%s", or in a caller\'s words "%s"', (kind, plain, worded) => {
    expect(fileKind(statOf(kind))).toBe(kind);
    expect(kindOf(statOf(kind))).toBe(plain);
    expect(kindOf(kind, { 'character device': 'a device', 'block device': 'a device', FIFO: 'a FIFO (named pipe)' })).toBe(worded);
  });
});

describe('opening files the agent does not own', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'io-files-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a directory without opening it, as ENOTREG "is a directory"', () => {
    let opened = 0;
    expect(() =>
      openRegularFile(dir, () => {
        opened++;
        return -1;
      }),
    ).toThrow(expect.objectContaining({ code: 'ENOTREG', kind: 'directory', message: 'is a directory' }));
    expect(opened).toBe(0);
  });

  it('opens read-only, non-blocking, never as a controlling terminal', async () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    const flags: number[] = [];
    closeSync(openRegularFile(file, (p, f) => (flags.push(f), openSync(p, f))));
    const { handle } = await openRegularFileAsync(file, { openFile: (p, f) => (flags.push(f), openReadOnly(p, f)) });
    await handle.close();
    expect(flags).toEqual([READ_ONLY_FLAGS, READ_ONLY_FLAGS]);
    expect(READ_ONLY_FLAGS).toBe(constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  });

  it('refuses a file over maxBytes before opening it (EFBIG)', async () => {
    const file = join(dir, 'big');
    writeFileSync(file, 'x'.repeat(11));
    let opened = 0;
    const open = (p: string, f: number) => (opened++, openReadOnly(p, f));
    await expect(openRegularFileAsync(file, { openFile: open, maxBytes: 10 })).rejects.toMatchObject({ code: 'EFBIG' });
    expect(opened).toBe(0);
  });

  it('follows a chain of links to a standard stream, and nothing else', () => {
    symlinkSync('/dev/stderr', join(dir, 'stderr'));
    symlinkSync('stderr', join(dir, 'hop')); // relative, then absolute
    symlinkSync('/proc/1/fd/1', join(dir, 'pid-fd'));
    symlinkSync('/dev/null', join(dir, 'null'));
    writeFileSync(join(dir, 'plain'), '');
    expect(stdStreamLink(join(dir, 'stderr'))).toBe('/dev/stderr');
    expect(stdStreamLink(join(dir, 'hop'))).toBe('/dev/stderr');
    expect(stdStreamLink(join(dir, 'pid-fd'))).toBe('/proc/1/fd/1');
    expect(stdStreamLink(join(dir, 'null'))).toBeNull();
    expect(stdStreamLink(join(dir, 'plain'))).toBeNull();
    expect(stdStreamLink(join(dir, 'absent'))).toBeNull();
  });
});
