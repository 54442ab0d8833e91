/**
 * Which files the configured error-log patterns name right now: the literal path,
 * or the matches of a wildcard in the file-name part (parse/patterns.ts). The
 * built-in default (/var/log/nginx/error.log) counts only when it exists.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ERROR_LOG } from '../../config.js';
import { matchingEntries } from '../../io/directories.js';
import { compilePatterns } from '../parse/patterns.js';

export function expandErrorLogPatterns(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const pattern of patterns) {
    const { literals, globs } = compilePatterns([pattern]);
    for (const literal of literals) if (literal !== DEFAULT_ERROR_LOG || existsSync(literal)) out.push(literal);
    for (const { dir, name } of globs) for (const e of matchingEntries(dir, name)) out.push(join(dir, e));
  }
  return [...new Set(out)];
}

/** Whether these patterns are only the built-in default, so that a missing file is not a problem. */
export function onlyDefault(patterns: readonly string[]): boolean {
  return patterns.length === 1 && patterns[0] === DEFAULT_ERROR_LOG;
}
