import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_PROC = fileURLToPath(new URL('../fixtures/real-tw-exhaustion/proc', import.meta.url));

/** A scratch copy of the captured proc tree that a test may break. */
export function scratchProc(): { root: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'npa-proc-'));
  const root = join(dir, 'proc');
  cpSync(FIXTURE_PROC, root, { recursive: true });
  return { root, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}
