import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../support/gate.js';
import { runAgent } from '../support/agentProcess.js';
import { scratchProc } from '../support/procTree.js';
import { eaddrnotavailLine, established, tcp4 } from '../support/procText.js';
import { symlinkSync } from 'node:fs';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';

describeWith(['built'], 'agent diagnose (built CLI)', () => {
  const scratch = scratchProc();
  afterAll(() => {
    scratch.cleanup();
  });

  it('prints the report and exits 2 (CRITICAL) on the captured exhaustion', async () => {
    const r = await runAgent(['diagnose', '--proc-root', PROC, '--rate-interval-ms', '0']);
    expect(r.code).toBe(2);
    expect(r.stdout.split('\n')[0]).toMatch(/^NGINX-PORTS CRITICAL - .*127\.0\.0\.2:9000/);
    expect(r.stdout).toContain('headroom_exhausted');
  });

  it('--json prints the documented fields', async () => {
    const r = await runAgent(['diagnose', '--json', '--proc-root', PROC, '--rate-interval-ms', '0']);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ status: 'CRITICAL', portRange: { low: 40000, high: 40099, usable: 100 } });
  });

  it('exits 0 when headroom is fine, 1 when low, 2 at zero even with thresholds at 0', async () => {
    // Reuse on with timestamps: every TIME_WAIT socket (about 4 s old) is reusable.
    writeFileSync(join(scratch.root, 'sys/net/ipv4/tcp_tw_reuse'), '1\n');
    expect((await runAgent(['diagnose', '--proc-root', scratch.root, '--rate-interval-ms', '0'])).code).toBe(0);
    writeFileSync(join(scratch.root, 'sys/net/ipv4/tcp_tw_reuse'), '0\n');
    expect(
      (await runAgent(['diagnose', '--proc-root', scratch.root, '--rate-interval-ms', '0', '--critical-headroom-ratio', '0', '--warning-headroom-ratio', '0'])).code,
    ).toBe(2);
    // 85 of 100 ports held open: 15 % headroom is below the 20 % warning threshold.
    const tcpBackup = readFileSync(join(scratch.root, 'net/tcp'));
    writeFileSync(join(scratch.root, 'net/tcp'), tcp4(established(85, '10.0.0.1', 40000, '10.0.0.5', 80)));
    const warn = await runAgent(['diagnose', '--proc-root', scratch.root, '--rate-interval-ms', '0']);
    writeFileSync(join(scratch.root, 'net/tcp'), tcpBackup);
    expect(warn.code).toBe(1);
    expect(warn.stdout).toMatch(/^NGINX-PORTS WARNING - 1 destination below 20\.0 % ephemeral-port headroom/);
  });

  it('exits 3 (UNKNOWN) with every problem listed for bad configuration', async () => {
    const r = await runAgent(['diagnose', '--proc-root', PROC, '--warning-headroom-ratio', '2', '--report-top', 'x'], {
      NGINX_PORT_AGENT_RATE_WINDOW_SECONDS: '600',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AGENT_ERR_CONFIG_INVALID: 3 configuration problem/);
    expect(r.stderr).toMatch(/--warning-headroom-ratio/);
    expect(r.stderr).toMatch(/--report-top/);
    expect(r.stderr).toMatch(/NGINX_PORT_AGENT_RATE_WINDOW_SECONDS/);
  });

  it('exits 3 for an unknown option and for a missing proc root', async () => {
    expect((await runAgent(['diagnose', '--bogus'])).code).toBe(3);
    const r = await runAgent(['diagnose', '--proc-root', '/nonexistent', '--rate-interval-ms', '0']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^NGINX-PORTS UNKNOWN - cannot compute headroom: AGENT_ERR_PROC_UNREADABLE: \/nonexistent\/sys\/net\/ipv4\/ip_local_port_range: does not exist/);
  });

  it('reads a JSON config file and rejects a broken one', async () => {
    const cfg = join(scratch.root, '..', 'agent.json');
    writeFileSync(cfg, JSON.stringify({ procRoot: PROC, reportTop: 1 }));
    const ok = await runAgent(['diagnose', '--config', cfg, '--rate-interval-ms', '0']);
    expect(ok.code).toBe(2);
    expect(ok.stdout).toMatch(/Destinations, least headroom first \(1 of 2\)/);
    writeFileSync(cfg, '{ nope');
    const bad = await runAgent(['diagnose', '--rate-interval-ms', '0'], { NGINX_PORT_AGENT_CONFIG: cfg });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/AGENT_ERR_CONFIG_FILE: config file .* is not valid JSON/);
  });

  it('joins error-log evidence to the destination: exhaustion confirmed by nginx', async () => {
    const log = join(scratch.root, '..', 'error.log');
    const now = Date.now();
    const old = Array.from({ length: 5 }, (_, i) => eaddrnotavailLine(now - 3 * 3600_000, '127.0.0.2:9000', i));
    const recent = Array.from({ length: 12 }, (_, i) => eaddrnotavailLine(now - 60_000 + i * 1000, '127.0.0.2:9000', i));
    writeFileSync(log, [...old, 'garbage \u001b[2J', ...recent].join('\n') + '\n');
    const r = await runAgent(['diagnose', '--json', '--proc-root', PROC, '--rate-interval-ms', '0', '--error-log', log, '--since', '15m']);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout) as {
      summary: string;
      findings: { id: string }[];
      destinations: { destination: string; recentErrors: Record<string, number> }[];
      errorLog: { byKind: { kind: string; count: number }[]; files: string[] };
    };
    expect(j.findings[0]!.id).toBe('exhaustion_confirmed');
    expect(j.summary).toMatch(/^exhaustion confirmed by nginx/);
    expect(j.destinations[0]).toMatchObject({ destination: '127.0.0.2:9000', recentErrors: { eaddrnotavail: 12 } });
    expect(j.errorLog.byKind).toEqual([expect.objectContaining({ kind: 'eaddrnotavail', count: 12 })]);
    expect(j.errorLog.files).toEqual([log]);
  });

  it('reports an error log that is a symlink to /dev/stderr as a problem, and still reports headroom', async () => {
    const link = join(scratch.root, '..', 'stderr.log');
    symlinkSync('/dev/stderr', link);
    const r = await runAgent(['diagnose', '--proc-root', PROC, '--rate-interval-ms', '0', '--error-log', link]);
    expect(r.code).toBe(2);
    // /dev/stderr of the child is a pipe or socket here, a character device on a terminal.
    expect(r.stdout).toMatch(new RegExp(`problem: ${link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is (a FIFO|a socket|a character device), not a regular file: refused`));
  });

  it('--help documents every option with its default and environment variable', async () => {
    const r = await runAgent(['diagnose', '--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    for (const s of ['--json', '--proc-root', 'NGINX_PORT_AGENT_PROC_ROOT', '--warning-headroom-ratio', '(default 0.2,']) expect(text).toContain(s);
    const run = await runAgent(['run', '--help']);
    expect(run.code).toBe(0);
    for (const s of ['--listen', '--sample-interval-ms', '--max-destinations', 'NGINX_PORT_AGENT_LISTEN']) expect(run.stdout).toContain(s);
  });

  it('agent run exits 1 with every problem for bad configuration', async () => {
    const r = await runAgent(['run', '--listen', 'nowhere', '--sample-interval-ms', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 configuration problem/);
  });
});

describeWith(['built'], 'which build each command starts from', () => {
  const traced = (args: string[]): string[] => {
    const dir = mkdtempSync(join(tmpdir(), 'npa-trace-'));
    const file = join(dir, 'modules.txt');
    try {
      spawnSync(process.execPath, ['--import', pathToFileURL('dist/bench/startup/traceHooks.js').href, 'dist/agent/main.js', ...args], {
        env: { ...process.env, BENCH_TRACE_FILE: file },
        encoding: 'utf8',
        timeout: 30_000,
      });
      return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('/dist/agent/')).map((l) => l.slice(l.indexOf('/dist/agent/') + '/dist/agent/'.length));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('diagnose runs from the one-file build (a handful of modules), the daemon from the modules tsc wrote', () => {
    const oneShot = traced(['diagnose', '--json', '--proc-root', PROC, '--rate-interval-ms', '0']);
    expect(oneShot).toContain('cli.bundle.js');
    expect(oneShot).not.toContain('cli.js');
    // The bundle, its lazily loaded chunks and the error-log scan's own chunk (the module its worker threads load).
    expect(oneShot.length).toBeLessThanOrEqual(12);
    const daemon = traced(['run', '--help']);
    expect(daemon).toContain('cli.js');
    expect(daemon.some((m) => m.startsWith('cli.bundle'))).toBe(false);
  });
});
