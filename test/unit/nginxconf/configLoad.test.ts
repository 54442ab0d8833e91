/**
 * When nginx last loaded its config: the /proc parsers, the read over a proc
 * tree written here, the cheap re-read through the master's children, and the
 * rule that picks between the workers' start and the files' mtime. The parsers
 * are also checked against this very process's /proc entry, where the kernel
 * is the oracle: the age they give must match Node's own uptime.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configInEffectSince, nginxEvidence, type NginxSnapshot } from '../../../agent/nginxconf/model/evidence.js';
import { CLOCK_TICKS_PER_SECOND, isServingWorker, startedWithConfig, statFields, uptimeSeconds } from '../../../agent/nginxconf/parse/procfs.js';
import { readNginxLoad, readNginxLoadOfMaster } from '../../../agent/nginxconf/read/process.js';

const scratch = mkdtempSync(join(tmpdir(), 'npa-load-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A stat line with `comm`, the parent as field 4 and the start time in ticks as field 22. */
const stat = (pid: number, comm: string, startTicks: number, ppid = 1): string =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${startTicks} 12345678 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

describe('the /proc parsers', () => {
  it.each<[string, string, boolean]>([
    ['a serving worker', 'nginx: worker process\0', true],
    ['a worker with padding after the title', 'nginx: worker process\0\0\0', true],
    ['an old worker finishing after a reload', 'nginx: worker process is shutting down\0', false],
    ['the master', 'nginx: master process /usr/sbin/nginx\0', false],
    ['the cache manager', 'nginx: cache manager process\0', false],
    ['a title cut short, started through a loader', '/opt/nginx/loader/nginx\0--argv0\0nginx: worker proces\0\0/opt/nginx/nginx\0-p\0/srv/\0', true],
    ['something else', '/usr/bin/bash\0', false],
  ])('%s', (_name, cmdline, serving) => {
    expect(isServingWorker(cmdline)).toBe(serving);
  });

  it('reads ppid and starttime after the last ")", whatever the command name holds', () => {
    expect(statFields(stat(42, 'nginx', 123456, 7))).toEqual({ ppid: 7, startTicks: 123456 });
    expect(statFields(stat(42, 'a) b (c', 987))).toEqual({ ppid: 1, startTicks: 987 });
    expect(statFields('42 (nginx) S 1 2')).toBeNull();
    expect(statFields('garbage')).toBeNull();
    expect(uptimeSeconds('35.27 60.02\n')).toBe(35.27);
    expect(uptimeSeconds('')).toBeNull();
  });

  it.each<[string, string, string, boolean]>([
    ['-c with the same absolute path', 'nginx: master process /usr/sbin/nginx -p /srv/a/ -c /srv/a/nginx.conf\0', '/srv/a/nginx.conf', true],
    ['-c with another path', 'nginx: master process /usr/sbin/nginx -c /srv/b/nginx.conf\0', '/srv/a/nginx.conf', false],
    ['-c relative to the prefix', 'nginx: master process nginx -p /srv/a/ -c conf/nginx.conf\0', '/srv/a/conf/nginx.conf', true],
    ['no -c', 'nginx: master process /usr/sbin/nginx\0', '/etc/nginx/nginx.conf', false],
    ['a title cut short', 'nginx: master proces\0', '/etc/nginx/nginx.conf', false],
  ])('startedWithConfig: %s', (_name, cmdline, path, expected) => {
    expect(startedWithConfig(cmdline, path)).toBe(expected);
  });

  it("gives this process's age as the kernel counts it (Node's uptime is the oracle)", () => {
    if (process.platform !== 'linux') return expect.fail('Linux only');
    const before = process.uptime();
    const { startTicks: ticks, ppid } = statFields(readFileSync('/proc/self/stat', 'latin1'))!;
    expect(ppid).toBe(process.ppid);
    const up = uptimeSeconds(readFileSync('/proc/uptime', 'latin1'))!;
    const after = process.uptime();
    const age = up - ticks / CLOCK_TICKS_PER_SECOND;
    // Node's clock starts a little after the kernel created the process; /proc counts in 10 ms ticks.
    expect(age).toBeGreaterThanOrEqual(before - 0.02);
    expect(age).toBeLessThan(after + 1);
  });
});

/** A proc tree: uptime, and per pid comm, cmdline, stat; the master's children list when given. */
function proc(uptime: string, pids: Record<number, { cmdline: string; startTicks: number; ppid?: number; children?: number[] }>): string {
  const root = mkdtempSync(join(scratch, 'proc-'));
  writeFileSync(join(root, 'uptime'), uptime);
  for (const [pid, p] of Object.entries(pids)) {
    const d = join(root, pid);
    mkdirSync(join(d, 'task', pid), { recursive: true });
    writeFileSync(join(d, 'comm'), 'nginx\n');
    writeFileSync(join(d, 'cmdline'), p.cmdline);
    writeFileSync(join(d, 'stat'), stat(Number(pid), 'nginx', p.startTicks, p.ppid));
    if (p.children !== undefined) writeFileSync(join(d, 'task', pid, 'children'), p.children.map((c) => `${c} `).join(''));
  }
  return root;
}

describe('reading when nginx loaded its config', () => {
  const NOW = 1_800_000_000_000;
  // Booted 10 000 s ago; the master started at 100 s, the workers of the last reload at 9 990 s, 10 s ago.
  const tree = {
    100: { cmdline: 'nginx: master process /usr/sbin/nginx\0', startTicks: 10_000, children: [200, 300, 301] },
    200: { cmdline: 'nginx: worker process is shutting down\0', startTicks: 999_500, ppid: 100 },
    300: { cmdline: 'nginx: worker process\0', startTicks: 999_000, ppid: 100 },
    301: { cmdline: 'nginx: worker process\0', startTicks: 999_000, ppid: 100 },
  };
  const CONF = '/etc/nginx/nginx.conf';

  it("takes the newest serving worker's start, not the old workers' nor the master's", async () => {
    const root = proc('10000.00 1.00\n', tree);
    const load = await readNginxLoad(root, NOW, CONF);
    expect(load).toEqual({ atMs: NOW - 10_000, masterPid: 100, detail: 'nginx worker pid 300 started 10.0 s ago' });
    // The cheap re-read through the master's children gives the same.
    expect(readNginxLoadOfMaster(root, 100, NOW)).toEqual(load);
  });

  it('is null with no serving worker, no uptime, or no children list', async () => {
    expect(await readNginxLoad(proc('10000.00 1.00\n', { 100: tree[100] }), NOW, CONF)).toBeNull();
    expect(await readNginxLoad(proc('', tree), NOW, CONF)).toBeNull();
    const root = proc('10000.00 1.00\n', tree);
    rmSync(join(root, '100', 'task'), { recursive: true });
    expect(readNginxLoadOfMaster(root, 100, NOW)).toBeNull();
    expect(readNginxLoadOfMaster(root, 999, NOW)).toBeNull();
  });
});

describe('several nginx instances', () => {
  const NOW = 1_800_000_000_000;
  // A second instance (master 500, -c /srv/other.conf) reloaded 1 s ago; this config's master 100 loaded 10 s ago.
  const tree = {
    100: { cmdline: 'nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf\0', startTicks: 10_000 },
    300: { cmdline: 'nginx: worker process\0', startTicks: 999_000, ppid: 100 },
    500: { cmdline: 'nginx: master process /usr/sbin/nginx -c /srv/other.conf\0', startTicks: 20_000 },
    600: { cmdline: 'nginx: worker process\0', startTicks: 999_900, ppid: 500 },
  };

  it("takes the workers of the master started on this config, not another instance's", async () => {
    const root = proc('10000.00 1.00\n', tree);
    expect(await readNginxLoad(root, NOW, '/etc/nginx/nginx.conf')).toMatchObject({ atMs: NOW - 10_000, masterPid: 100 });
    expect(await readNginxLoad(root, NOW, '/srv/other.conf')).toMatchObject({ atMs: NOW - 1000, masterPid: 500 });
  });

  it('says nothing when the masters cannot be told apart', async () => {
    expect(await readNginxLoad(proc('10000.00 1.00\n', tree), NOW, '/etc/nginx/elsewhere.conf')).toBeNull();
  });
});

describe('when the config nginx runs took effect', () => {
  const base: NginxSnapshot = { read: null, configPath: null, configNote: null, version: null, versionSource: 'none', configChangedAtMs: null };
  const load = (atMs: number) => ({ atMs, masterPid: 1, detail: 'w' });

  it.each<[string, number | null, number | null, ReturnType<typeof configInEffectSince>]>([
    ['nothing known', null, null, null],
    ['files only (no nginx process visible)', 5000, null, { atMs: 5000, from: 'files' }],
    ['the workers started after the files changed: the reload', 5000, 8000, { atMs: 8000, from: 'workers' }],
    ['files written after the last reload seen: counted from the write', 9000, 8000, { atMs: 9000, from: 'files' }],
    ['workers only', null, 8000, { atMs: 8000, from: 'workers' }],
  ])('%s', (_name, files, workers, expected) => {
    expect(configInEffectSince({ ...base, configChangedAtMs: files, configLoad: workers === null ? null : load(workers) })).toEqual(expected);
  });

  it('gives the hint engine the seconds since, and their source', () => {
    const e = nginxEvidence({ ...base, configChangedAtMs: 5000, configLoad: load(8000) }, [], 11_500);
    expect(e).toMatchObject({ configChangedSecondsAgo: 3.5, configChangedFrom: 'workers' });
  });
});
