/**
 * Which files the configured error-log patterns name right now: the literal path,
 * or the matches of a wildcard in the file-name part. The built-in default
 * (/var/log/nginx/error.log) counts only when it exists.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ERROR_LOG } from '../../config.js';
import { globToRegExp, hasGlob, splitPattern } from '../tail/glob.js';

export function expandErrorLogPatterns(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const pattern of patterns) {
    const { dir, name } = splitPattern(pattern);
    if (!hasGlob(name)) {
      if (pattern !== DEFAULT_ERROR_LOG || existsSync(pattern)) out.push(pattern);
      continue;
    }
    const re = globToRegExp(name);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue; // a missing directory matches nothing (yet)
    }
    for (const e of entries.filter((x) => re.test(x)).sort()) out.push(join(dir, e));
  }
  return [...new Set(out)];
}

/** Whether these patterns are only the built-in default, so that a missing file is not a problem. */
export function onlyDefault(patterns: readonly string[]): boolean {
  return patterns.length === 1 && patterns[0] === DEFAULT_ERROR_LOG;
}
