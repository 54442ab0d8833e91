/**
 * The daemon's view of nginx: the version the error log announced at start-up
 * counts as soon as the tailer has seen it, in its place in the precedence,
 * without waiting for the next re-read of the configuration; and a reload of
 * nginx (new workers under its master) is noticed within about a second.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VersionFinding } from '../../../agent/nginxconf/model/versionSource.js';
import { NginxWatcher } from '../../../agent/nginxconf/watch.js';

let scratch = '';
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'npa-watch-'));
  writeFileSync(join(scratch, 'nginx.conf'), 'events {}\nhttp {\n  upstream backend { server 127.0.0.2:9000; }\n}\n');
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('NginxWatcher and the error log\'s version', () => {
  it('unknown until the start-up line is seen, then that version; a flag still wins', async () => {
    let seen: VersionFinding | null = null;
    const settings = { nginxConf: join(scratch, 'nginx.conf'), nginxVersion: '', nginxBin: '', nginxRoot: '', dnsTimeoutMs: 100, procRoot: join(scratch, 'proc'), nginxConfReloadMs: 3_600_000 };
    const w = new NginxWatcher(settings, pino({ level: 'silent' }), () => seen);
    await w.start();
    try {
      expect(w.evidence([], 0)?.version).toBeNull();
      seen = { from: 'error-log', product: 'nginx', version: '1.30.6', detail: 'the start-up line' };
      expect(w.evidence([], 0)?.version).toBe('1.30.6');
      expect(w.current()).toMatchObject({ versionFrom: 'error-log' });
    } finally {
      await w.stop();
    }
    const flagged = new NginxWatcher({ ...settings, nginxVersion: '1.22.1' }, pino({ level: 'silent' }), () => seen);
    await flagged.start();
    try {
      expect(flagged.evidence([], 0)?.version).toBe('1.22.1');
    } finally {
      await flagged.stop();
    }
  });
});

describe('NginxWatcher and nginx reloads', () => {
  /** A master (pid 10) and its serving workers, started `ticks` after boot; the machine up 1 000 s. */
  function writeProc(root: string, workers: Record<number, number>): void {
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'uptime'), '1000.00 1.00\n');
    const all: Record<number, [string, number]> = { 10: ['nginx: master process nginx', 100], ...Object.fromEntries(Object.entries(workers).map(([p, t]) => [p, ['nginx: worker process', t]])) };
    for (const [pid, [title, ticks]] of Object.entries(all)) {
      mkdirSync(join(root, pid, 'task', pid), { recursive: true });
      writeFileSync(join(root, pid, 'comm'), 'nginx\n');
      writeFileSync(join(root, pid, 'cmdline'), `${title}\0`);
      writeFileSync(join(root, pid, 'stat'), `${pid} (nginx) S ${pid === '10' ? 1 : 10} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${ticks} 0 0\n`);
    }
    writeFileSync(join(root, '10', 'task', '10', 'children'), Object.keys(workers).join(' '));
  }

  it('re-reads the config when the master starts new workers, without waiting for the periodic re-read', async () => {
    const root = join(scratch, 'proc');
    writeProc(root, { 11: 50_000 });
    const now = { t: 2_000_000_000_000 };
    const settings = { nginxConf: join(scratch, 'nginx.conf'), nginxVersion: '1.22.1', nginxBin: '', nginxRoot: '', dnsTimeoutMs: 100, procRoot: root, nginxConfReloadMs: 3_600_000 };
    const w = new NginxWatcher(settings, pino({ level: 'silent' }), () => null, { now: () => now.t });
    await w.start();
    try {
      // Workers started at 500 s after boot, 500 s ago.
      expect(w.current()?.configLoad).toMatchObject({ atMs: now.t - 500_000, masterPid: 10 });
      expect(w.current()?.read?.model.upstreams.map((u) => u.name)).toEqual(['backend']);
      // nginx -s reload: the new config, new workers 2 s ago.
      writeFileSync(join(scratch, 'nginx.conf'), 'events {}\nhttp {\n  upstream api { server 127.0.0.2:9000; keepalive 8; }\n}\n');
      writeProc(root, { 11: 50_000, 12: 99_800 });
      const deadline = Date.now() + 5000;
      while (w.current()?.read?.model.upstreams[0]?.name !== 'api' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(w.current()?.read?.model.upstreams.map((u) => u.name)).toEqual(['api']);
      expect(w.current()?.configLoad).toMatchObject({ atMs: now.t - 2000, detail: 'nginx worker pid 12 started 2.0 s ago' });
    } finally {
      await w.stop();
    }
  });
});
