/**
 * The daemon's view of nginx: the version the error log announced at start-up
 * counts as soon as the tailer has seen it, in its place in the precedence,
 * without waiting for the next re-read of the configuration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
