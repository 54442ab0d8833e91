/**
 * Listing directories for patterns: the disk half of a glob(3) expansion whose
 * matching rules are pure (agent/core/glob.ts).
 */
import { readdirSync } from 'node:fs';
import { compareGlobOrder } from '../core/glob.js';

/**
 * The entries of dir whose names match, in glob(3) order. A directory that cannot
 * be read matches nothing (yet), as glob() without GLOB_ERR skips it.
 */
export function matchingEntries(dir: string, name: RegExp): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.filter((e) => name.test(e)).sort(compareGlobOrder);
}
