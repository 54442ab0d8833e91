/**
 * A mount point where every lookup hangs (test/system/helpers/stuck-fuse.mjs), to
 * make a reader block inside the kernel the way a hung procfs or network file
 * system does. Root only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('../system/helpers/stuck-fuse.mjs', import.meta.url));

export interface StuckFs {
  /** The mount point: any path under it blocks its caller. */
  dir: string;
  /** Names looked up so far (each one a caller left blocked). */
  lookups: string[];
  /**
   * Ends the file system: the helper exits, the kernel aborts the connection and
   * every blocked caller gets ENOTCONN; then the mount point is removed. Idempotent.
   */
  release(): Promise<void>;
}

export async function mountStuckFs(): Promise<StuckFs> {
  if (!existsSync('/dev/fuse')) throw new Error('needs /dev/fuse (the fuse kernel module)');
  const dir = mkdtempSync(join(tmpdir(), 'npa-stuck-'));
  const child: ChildProcess = spawn(process.execPath, [HELPER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lookups: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => { r(); }));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`stuck-fuse did not start: ${stderr}`)); }, 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { event: string; name?: string; message?: string };
      if (msg.event === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (msg.event === 'lookup') lookups.push(msg.name ?? '');
      else if (msg.event === 'error') {
        clearTimeout(timer);
        reject(new Error(`stuck-fuse: ${msg.message ?? ''}`));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`stuck-fuse exited before it was ready: ${stderr}`));
    });
  });
  let released: Promise<void> | null = null;
  const release = (): Promise<void> => {
    released ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      // Lazy: a caller that has not noticed the abort yet must not make this fail.
      spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
      try {
        rmdirSync(dir);
      } catch {
        // Still busy: left for the system's tmp cleaning; it holds nothing.
      }
    })();
    return released;
  };
  try {
    await ready;
  } catch (err) {
    await release();
    throw err;
  }
  return { dir, lookups, release };
}
