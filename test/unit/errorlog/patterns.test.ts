import { describe, expect, it } from 'vitest';
import { compilePatterns, entryPath, patternProblems, splitPattern } from '../../../agent/errorlog/parse/patterns.js';

describe('error-log patterns: glob(3) in the file-name part', () => {
  it.each([
    ['*error.log', 'error.log', true],
    ['*error.log', 'x-error.log', true],
    ['*error.log', 'error.log.1', false],
    // glob(3) without GLOB_PERIOD, as nginx's include: a wildcard does not match a leading ".".
    ['*error.log', '.error.log', false],
    ['?error.log', '.error.log', false],
    ['[.x]error.log', '.error.log', false],
    ['.*error.log', '.error.log', true],
    ['.*error.log', '.x-error.log', true],
    ['error.log.[0-9]', 'error.log.3', true],
    ['error.log.[!0-9]', 'error.log.3', false],
    ['\\*error.log', '*error.log', true],
    ['\\*error.log', 'x-error.log', false],
    ['*.log', 'error-\u001b[31m\r\n.log', true],
  ])('%s matches %j: %s', (name, entry, expected) => {
    const { globs, all } = compilePatterns([`/var/log/nginx/${name}`]);
    expect(globs.map((g) => g.name.test(entry))).toEqual([expected]);
    expect(all.map((p) => p.matches(entry))).toEqual([expected]);
  });

  it('keeps literal paths apart, once each, and matches their names exactly', () => {
    const { literals, globs, all } = compilePatterns(['/a/error.log', '/b/*.log', '/a/error.log', 'rel.log']);
    expect(literals).toEqual(['/a/error.log', 'rel.log']);
    expect(globs.map((g) => g.dir)).toEqual(['/b']);
    expect(all.map((p) => [p.dir, p.matches('error.log'), p.matches('rel.log')])).toEqual([
      ['/a', true, false],
      ['.', false, true],
      ['/b', true, true],
    ]);
  });

  it.each([
    ['/var/log/nginx/error.log', { dir: '/var/log/nginx', name: 'error.log' }],
    ['/error.log', { dir: '/', name: 'error.log' }],
    ['error.log', { dir: '.', name: 'error.log' }],
  ])('splits %s at the last slash', (pattern, parts) => {
    expect(splitPattern(pattern)).toEqual(parts);
    expect(entryPath(parts.dir, parts.name)).toBe(pattern.includes('/') ? pattern : `./${pattern}`);
  });

  it('reports every unusable pattern, one sentence each', () => {
    expect(patternProblems(['/var/log/*/error.log', '/var/log/nginx/', '', '/var/log/nginx/[error.log', '/var/log/nginx/\\[error.log', '/ok/*.log'])).toEqual([
      '/var/log/*/error.log: wildcards are only supported in the file name, not in the directory part',
      "/var/log/nginx/: names a directory; give the log file's path",
      'an error-log path is empty',
      '/var/log/nginx/[error.log: unclosed "[" in [error.log',
    ]);
    expect(patternProblems([])).toEqual(['no error-log paths given']);
  });
});
