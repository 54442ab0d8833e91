/**
 * The image's HEALTHCHECK script (deploy/docker/healthcheck.mjs): it finds the
 * agent's address the way the agent does (environment, then config file, then
 * the default) and succeeds only on a 200 from /healthz.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../deploy/docker/healthcheck.mjs', import.meta.url));

function healthcheck(env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    // Only the variables under test: none of the caller's NGINX_PORT_AGENT_* leak in.
    const child = execFile(process.execPath, [SCRIPT], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 15_000 });
    child.on('exit', (code) => { resolve(code); });
  });
}

describe('healthcheck.mjs', () => {
  let status = 200;
  const paths: string[] = [];
  let server: Server;
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), 'npa-health-'));

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['host:port', () => `127.0.0.1:${port}`],
    [':port (all addresses, probed on loopback)', () => `:${port}`],
    ['0.0.0.0:port (probed on loopback)', () => `0.0.0.0:${port}`],
  ])('succeeds on 200 from /healthz at NGINX_PORT_AGENT_LISTEN=%s', async (_name, listen) => {
    status = 200;
    paths.length = 0;
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: listen() })).toBe(0);
    expect(paths).toEqual(['/healthz']);
  });

  it('fails on any other status', async () => {
    status = 503;
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${port}` })).toBe(1);
  });

  it('fails when nothing listens, and on an address it cannot parse', async () => {
    status = 200;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${free}` })).toBe(1);
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: 'nowhere' })).toBe(1);
  });

  it('takes the address from the config file when the environment names none, the environment first', async () => {
    status = 200;
    const cfg = join(dir, 'agent.json');
    writeFileSync(cfg, JSON.stringify({ listen: `127.0.0.1:${port}` }));
    expect(await healthcheck({ NGINX_PORT_AGENT_CONFIG: cfg })).toBe(0);
    expect(await healthcheck({ NGINX_PORT_AGENT_CONFIG: cfg, NGINX_PORT_AGENT_LISTEN: '127.0.0.1:1' })).toBe(1);
  });
});
