/**
 * The container image, built from the real Dockerfile with podman on a stand-in
 * of its base image (see standin.ts), then run the way the deployment examples
 * run it: read-only root filesystem, every capability dropped, no new
 * privileges, as the image's own non-root user.
 *
 * Takes a minute or two (debootstrap when the stand-in is not cached, `npm ci`
 * and `tsc` inside the build); the build is never served from podman's layer
 * cache. Prints the image size.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../../agent/nodeFlags.js';
import { describeWith } from '../../support/gate.js';
import { eaddrnotavailLine } from '../../support/procText.js';
import { must, mustPodman, podman, ulimitFlags } from './podman.js';
import { ensureBase, type EnsuredBase } from './standin.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE_PROC = join(REPO, 'test/fixtures/real-tw-exhaustion/proc');
const GOLDEN = join(REPO, 'test/golden/diagnose-real-tw-exhaustion.json');
const APP = '/opt/nginx-port-agent';
const MINUTE = 60_000;

const IMAGE = `localhost/nginx-port-agent:test-${process.pid}`;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** How the deployment examples run the container (deploy/kubernetes, securityContext). */
// --read-only-tmpfs=false: Kubernetes' readOnlyRootFilesystem adds no writable /tmp either.
const LOCKED_DOWN = ['--read-only', '--read-only-tmpfs=false', '--cap-drop=ALL', '--security-opt', 'no-new-privileges', '--network', 'none', '--env', 'TZ=UTC'];

/** The CA this machine's npm trusts beyond Node's own, if any: handed to the build as the `npm_ca` secret. */
async function npmExtraCa(): Promise<string | null> {
  const env = process.env['NODE_EXTRA_CA_CERTS'];
  if (env) return env;
  const cafile = (await must('npm', ['config', 'get', 'cafile'], MINUTE)).trim();
  return cafile === '' || cafile === 'null' || cafile === 'undefined' ? null : cafile;
}

interface Report {
  status: string;
  summary: string;
  procRoot: string;
  problems: string[];
  hostSockets: Record<string, unknown>;
  findings: { id: string; severity: string; summary: string; destinations: string[] }[];
  errorLog: { files: string[]; problems: string[]; byKind: { kind: string; count: number }[] } | null;
  [key: string]: unknown;
}

describeWith(['linux', 'root', 'command:podman', 'command:runc', 'command:debootstrap'], 'container image (podman)', () => {
  let ulimits: string[] = [];
  let base: EnsuredBase;
  let buildSeconds = 0;
  const work = mkdtempSync(join(tmpdir(), 'npa-image-'));
  const containers: string[] = [];

  /** `podman run --rm` of the built image with the locked-down options. */
  const runImage = (opts: readonly string[], args: readonly string[]) =>
    podman(['run', '--rm', ...ulimits, ...LOCKED_DOWN, ...opts, IMAGE, ...args], 2 * MINUTE);

  beforeAll(async () => {
    ulimits = await ulimitFlags();
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    base = await ensureBase(dockerfile);
    const ca = await npmExtraCa();
    const revision = (await must('git', ['-C', REPO, 'rev-parse', 'HEAD'], MINUTE)).trim();
    const started = Date.now();
    await mustPodman(
      [
        'build',
        '--pull=never',
        '--no-cache',
        '--layers=false',
        '--format',
        'docker',
        ...ulimits,
        ...(ca === null ? [] : ['--secret', `id=npm_ca,src=${ca}`]),
        '--build-arg',
        `REVISION=${revision}`,
        '--tag',
        IMAGE,
        REPO,
      ],
      20 * MINUTE,
    );
    buildSeconds = (Date.now() - started) / 1000;
  }, 40 * MINUTE);

  afterAll(async () => {
    for (const c of containers) await podman(['rm', '--force', c], MINUTE);
    await podman(['rmi', '--force', IMAGE], MINUTE);
    rmSync(work, { recursive: true, force: true });
  }, 5 * MINUTE);

  it('is built from the Dockerfile on its exact base tag; reports its size', async () => {
    const [inspected] = JSON.parse(await mustPodman(['image', 'inspect', IMAGE], MINUTE)) as { Size: number }[];
    const [baseInspected] = JSON.parse(await mustPodman(['image', 'inspect', base.base.qualified], MINUTE)) as { Size: number }[];
    const mb = (n: number): string => `${(n / 1e6).toFixed(0)} MB`;
    console.log(
      `image ${IMAGE}: ${mb(inspected!.Size)} (base ${base.base.name}: ${mb(baseInspected!.Size)}, ${base.how}); podman build took ${buildSeconds.toFixed(0)} s`,
    );
    expect(inspected!.Size).toBeGreaterThan(baseInspected!.Size);
    // The agent, its production dependencies and the runtime add little to the base image.
    expect(inspected!.Size - baseInspected!.Size).toBeLessThan(60e6);
  });

  it('declares a non-root user, the agent as entrypoint with the daemon V8 flags, `run`, a healthcheck and OCI labels', async () => {
    const [img] = JSON.parse(await mustPodman(['image', 'inspect', IMAGE], MINUTE)) as {
      Config: {
        User: string;
        Entrypoint: string[];
        Cmd: string[];
        Labels: Record<string, string>;
        ExposedPorts: Record<string, unknown>;
      };
      Healthcheck?: { Test: string[]; Interval: number; Timeout: number };
    }[];
    const c = img!.Config;
    expect(c.User).toBe('1000:1000');
    expect(c.Entrypoint).toEqual(['node', ...DAEMON_NODE_FLAGS, `${APP}/dist/agent/main.js`]);
    expect(c.Cmd).toEqual(['run']);
    expect(Object.keys(c.ExposedPorts)).toEqual(['9842/tcp']);
    expect(img!.Healthcheck).toMatchObject({ Test: ['CMD', 'node', `${APP}/healthcheck.mjs`], Interval: 30e9, Timeout: 5e9 });
    expect(c.Labels).toMatchObject({
      'org.opencontainers.image.title': 'nginx-port-agent',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.base.name': base.base.name,
    });
    expect(c.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
  });

  it('ships the compiled agent and the production dependencies only, all owned by root', async () => {
    const mount = (await mustPodman(['image', 'mount', IMAGE], MINUTE)).trim();
    try {
      const app = join(mount, APP);
      const list = (await must('find', [app, '-maxdepth', '2', '-not', '-path', '*/node_modules/*'], MINUTE))
        .trim()
        .split('\n')
        .map((p) => p.slice(app.length) || '/')
        .sort();
      expect(list).toEqual(['/', '/dist', '/dist/agent', '/healthcheck.mjs', '/node_modules', '/package.json']);
      for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
      for (const dev of Object.keys(pkg.devDependencies)) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
      // Nothing under the application belongs to anyone but root or is writable for others.
      const loose = await must('find', [app, '(', '-not', '-user', '0', '-o', '-not', '-group', '0', '-o', '-perm', '/002', ')', '-not', '-type', 'l'], MINUTE);
      expect(loose.trim()).toBe('');
      expect(readlinkSync(join(mount, 'usr/local/bin/agent'))).toBe(`${APP}/dist/agent/main.js`);
    } finally {
      await podman(['image', 'unmount', IMAGE], MINUTE);
    }
  });

  it('runs without capabilities, privileges or a writable root, as uid 1000', async () => {
    const r = await runImage(['--entrypoint', 'cat'], ['/proc/self/status']);
    expect(r.code, r.stderr).toBe(0);
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(r.stdout)?.[1]?.trim() ?? '';
    expect(field('Uid').split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(cap), cap).toBe('0000000000000000');
    expect(field('NoNewPrivs')).toBe('1');
    // /tmp is world-writable in the image: only the read-only root stops this.
    const write = await runImage(['--entrypoint', 'touch'], ['/tmp/x']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  it('`agent diagnose --json` on the captured exhaustion gives the golden report, exit 2', async () => {
    const r = await runImage(['--volume', `${FIXTURE_PROC}:/fixture/proc:ro`], ['diagnose', '--json', '--proc-root', '/fixture/proc', '--rate-interval-ms', '0']);
    expect(r.code, r.stderr).toBe(2);
    const got = JSON.parse(r.stdout) as Report;
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Report;
    // What differs by design: when and where it ran, and the connect-rate measurement that
    // the golden report was given and --rate-interval-ms 0 skips.
    expect(got.procRoot).toBe('/fixture/proc');
    for (const key of ['status', 'summary', 'portRange', 'sysctls', 'destinationsTotal', 'destinations', 'errorLog', 'sources', 'assumptions', 'problems']) {
      expect(got[key], key).toEqual(golden[key]);
    }
    expect({ ...got.hostSockets, connectAttemptsPerSecond: null }).toEqual({ ...golden.hostSockets, connectAttemptsPerSecond: null });
    const gist = (f: Report['findings']) => f.map(({ id, severity, summary, destinations }) => ({ id, severity, summary, destinations }));
    expect(gist(got.findings)).toEqual(gist(golden.findings));
  });

  it("nginx's error log: a link to /dev/stderr is refused, a regular file confirms the exhaustion", async () => {
    const logs = join(work, 'logs');
    mkdirSync(logs);
    chmodSync(logs, 0o755);
    // As in the official nginx image: error.log is a symbolic link to /dev/stderr.
    symlinkSync('/dev/stderr', join(logs, 'error.log'));
    const mounts = ['--volume', `${FIXTURE_PROC}:/fixture/proc:ro`, '--volume', `${logs}:/var/log/nginx:ro`];
    const args = ['diagnose', '--json', '--proc-root', '/fixture/proc', '--rate-interval-ms', '0'];
    const linked = await runImage(mounts, args);
    expect(linked.code, linked.stderr).toBe(2);
    const refused = JSON.parse(linked.stdout) as Report;
    expect(refused.findings[0]!.id).toBe('headroom_exhausted');
    expect(JSON.stringify(refused.errorLog?.problems ?? refused.problems)).toMatch(/\/var\/log\/nginx\/error\.log: is (a FIFO|a socket|a character device), not a regular file: refused/);

    rmSync(join(logs, 'error.log'));
    const now = Date.now();
    const lines = Array.from({ length: 12 }, (_, i) => eaddrnotavailLine(now - 60_000 + i * 1000, '127.0.0.2:9000', i));
    writeFileSync(join(logs, 'error.log'), lines.join('\n') + '\n', { mode: 0o644 });
    const regular = await runImage(mounts, args);
    expect(regular.code, regular.stderr).toBe(2);
    const confirmed = JSON.parse(regular.stdout) as Report;
    expect(confirmed.findings[0]!.id).toBe('exhaustion_confirmed');
    expect(confirmed.errorLog?.files).toEqual(['/var/log/nginx/error.log']);
    expect(confirmed.errorLog?.byKind).toEqual([expect.objectContaining({ kind: 'eaddrnotavail', count: 12 })]);
  });

  it('`run` (the default command) is healthy and ready, serves /metrics, has `agent` on PATH, and stops with 0 on SIGTERM', async () => {
    const name = `npa-test-${process.pid}`;
    containers.push(name);
    // No automatic healthcheck timer (podman would want systemd for it); `healthcheck run` probes once.
    await mustPodman(
      ['run', '--detach', '--name', name, ...ulimits, ...LOCKED_DOWN, '--health-interval', 'disable', '--volume', `${FIXTURE_PROC}:/fixture/proc:ro`, '--env', 'NGINX_PORT_AGENT_PROC_ROOT=/fixture/proc', IMAGE],
      MINUTE,
    );
    const fetchInside = (path: string) =>
      podman(['exec', name, 'node', '-e', `fetch('http://127.0.0.1:9842${path}').then(async (r) => { console.log(r.status); console.log(await r.text()); })`], MINUTE);
    let ready = '';
    for (let i = 0; i < 60 && !ready.startsWith('200'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      ready = (await fetchInside('/readyz')).stdout;
    }
    expect(ready).toMatch(/^200/);
    const health = await podman(['healthcheck', 'run', name], MINUTE);
    expect(health.code, health.stdout + health.stderr).toBe(0);
    // The same check fails where nothing listens.
    const elsewhere = await podman(['exec', '--env', 'NGINX_PORT_AGENT_LISTEN=127.0.0.1:9', name, 'node', `${APP}/healthcheck.mjs`], MINUTE);
    expect(elsewhere.code).toBe(1);
    const metrics = (await fetchInside('/metrics')).stdout;
    expect(metrics).toMatch(/^200/);
    expect(metrics).toContain('nginx_port_destination_headroom{source_ip="127.0.0.1",destination="127.0.0.2:9000"} 0');
    expect(metrics).toMatch(/^nginx_port_build_info\{version="[^"]+",nodejs="24\.\d+\.\d+"\} 1$/m);
    expect((await mustPodman(['exec', name, 'agent', '--version'], MINUTE)).trim()).toBe(pkg.version);

    await mustPodman(['stop', '--time', '10', name], MINUTE);
    const exit = (await mustPodman(['inspect', '--format', '{{.State.ExitCode}}', name], MINUTE)).trim();
    expect(exit).toBe('0');
    // The agent logs JSON lines on stderr, which `podman logs` replays on its own stderr.
    const logs = await podman(['logs', name], MINUTE);
    expect(logs.stderr).toMatch(/listening on http:\/\/127\.0\.0\.1:9842/);
  }, 3 * MINUTE);
});
