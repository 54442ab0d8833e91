import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tcp6 } from './procText.js';

export const FIXTURE_PROC = fileURLToPath(new URL('../fixtures/real-tw-exhaustion/proc', import.meta.url));

/** A scratch copy of the captured proc tree that a test may break. */
export function scratchProc(): { root: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'npa-proc-'));
  const root = join(dir, 'proc');
  cpSync(FIXTURE_PROC, root, { recursive: true });
  return { root, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * A proc root of synthetic sockets: the captured tree's sysctls and counters, with
 * these /proc/net/tcp and tcp6 tables and port range. Fixtures may name any
 * public address: nothing is ever sent to it.
 */
export function syntheticProc(tables: { tcp: string; tcp6?: string; portRange?: string }): { root: string; cleanup: () => void } {
  const scratch = scratchProc();
  writeFileSync(join(scratch.root, 'net/tcp'), tables.tcp);
  writeFileSync(join(scratch.root, 'net/tcp6'), tables.tcp6 ?? tcp6([]));
  writeFileSync(join(scratch.root, 'sys/net/ipv4/ip_local_port_range'), `${tables.portRange ?? '32768\t60999'}\n`);
  return scratch;
}
