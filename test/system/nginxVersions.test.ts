/**
 * The nginx binaries the system tests run on (test/support/nginxVersions.ts)
 * are what they claim: each reports its version, loads its stream module (or,
 * where it has none, refuses `stream {}`, so a test cannot mistake it for one
 * that has), and runs as nginx does: a master with workers under `daemon off`,
 * serving an http proxy (behind a stream proxy where it has the module) on
 * loopback, and `nginx -s reload` through the same executable. For 1.30 that is
 * the wrapper of scripts/install-nginx-1.30.sh, which must keep the master's
 * pid the pid of the process started (tests track nginx by it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { skipOrFail } from '../support/gate.js';
import { confinedHttp, runNginxT } from '../support/nginxJudge.js';
import { buildOptions, describeEachNginx } from '../support/nginxVersions.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => {
    s.close(() => {
      r();
    });
  });
  return port;
}

/** The body of GET / on a loopback port, or null when nothing answers yet. */
function body(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => {
        resolve(b);
      });
    });
    req.on('error', () => {
      resolve(null);
    });
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function until(port: number, want: string, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last: string | null = null;
  while (Date.now() < deadline) {
    last = await body(port);
    if (last === want) return;
    await sleep(50);
  }
  throw new Error(`GET 127.0.0.1:${port}/ answered ${JSON.stringify(last)}, not ${JSON.stringify(want)}: ${what()}`);
}

describeEachNginx(
  'an nginx binary of the system tests',
  (nginx) => {
    let dir = '';
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), `nginx-versions-${nginx.label}-`));
      // A master running as root starts its workers as nobody.
      chmodSync(dir, 0o755);
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it(`reports version ${nginx.label}.x`, () => {
      const r = spawnSync(nginx.bin, ['-v'], { encoding: 'utf8', timeout: 10_000 });
      expect(r.stderr.trim()).toBe(`nginx version: nginx/${nginx.version}`);
      expect(nginx.version).toMatch(new RegExp(`^${nginx.label.replace('.', '\\.')}\\.\\d+$`));
    });

    if (nginx.streamModule !== null) {
      it('loads its stream module (nginx -t: the module was built for this binary)', async (ctx) => {
        // nginx -t binds the listening sockets too: ports above 1023, so that it can as any user.
        const [front, stream] = [await freePort(), await freePort()];
        const conf = join(dir, 'nginx.conf');
        writeFileSync(
          conf,
          `load_module ${nginx.streamModule};\nevents {}\nhttp {\n  ${confinedHttp(dir)}\n  server { listen 127.0.0.1:${front}; location / { proxy_pass http://127.0.0.1:${stream}; } }\n}\nstream {\n  server { listen 127.0.0.1:${stream}; proxy_pass 127.0.0.1:${front}; }\n}\n`,
        );
        const v = runNginxT(nginx.bin, dir, conf);
        if (v.kind === 'no-verdict') skipOrFail(ctx, v.reason);
        expect(v.kind, v.output).toBe('accepted');
      });
    } else {
      it('has no stream module to load: built as a dynamic module that is not installed, so `stream {}` is unknown', async (ctx) => {
        expect(buildOptions(nginx)).toContain('--with-stream=dynamic');
        const conf = join(dir, 'nginx.conf');
        writeFileSync(conf, `events {}\nstream {\n  server { listen 127.0.0.1:${await freePort()}; proxy_pass 127.0.0.1:9; }\n}\n`);
        const v = runNginxT(nginx.bin, dir, conf);
        if (v.kind === 'no-verdict') skipOrFail(ctx, v.reason);
        expect(v.kind === 'refused' ? v.reason : v.output).toMatch(/unknown directive "stream"/);
      });
    }

    it(`serves an http proxy${nginx.streamModule !== null ? ' behind a stream proxy' : ''} on loopback from a master and its worker, and reloads`, async () => {
      const [front, back, streamPort] = [await freePort(), await freePort(), await freePort()];
      const conf = join(dir, 'nginx.conf');
      const text = (generation: number): string => `${nginx.streamModule !== null ? `load_module ${nginx.streamModule};\n` : ''}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  ${confinedHttp(dir)}
  upstream app { server 127.0.0.1:${back}; }
  server {
    listen 127.0.0.1:${front};
    location / { proxy_pass http://app; }
  }
  server {
    listen 127.0.0.1:${back};
    location / { return 200 "generation ${generation} of nginx/$nginx_version"; }
  }
}
${nginx.streamModule !== null ? `stream {\n  server { listen 127.0.0.1:${streamPort}; proxy_pass 127.0.0.1:${front}; }\n}\n` : ''}`;
      writeFileSync(conf, text(1));
      const port = nginx.streamModule !== null ? streamPort : front;
      let stderr = '';
      const log = (): string => `${stderr}${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`;
      const master: ChildProcess = spawn(nginx.bin, ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      master.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise((r) => master.once('exit', r));
      try {
        await until(port, `generation 1 of nginx/${nginx.version}`, log);
        // The process started is the master: the 1.30 wrapper execs, it does not fork.
        expect(Number(readFileSync(join(dir, 'nginx.pid'), 'utf8'))).toBe(master.pid);

        writeFileSync(conf, text(2));
        const reload = spawnSync(nginx.bin, ['-s', 'reload', '-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', conf], { encoding: 'utf8', timeout: 10_000 });
        expect(reload.status, reload.stderr).toBe(0);
        await until(port, `generation 2 of nginx/${nginx.version}`, log);
        expect(master.exitCode).toBeNull();
      } finally {
        if (master.exitCode === null && master.signalCode === null) {
          master.kill('SIGQUIT');
          const timer = setTimeout(() => master.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
      }
    });
  },
  { requires: ['linux'] },
);
