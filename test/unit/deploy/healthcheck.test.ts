/**
 * The image's HEALTHCHECK script (deploy/docker/healthcheck.mjs): it finds the
 * agent's address the way the agent does (environment, then config file, then
 * the default) and succeeds on a 200 from /healthz; with a web configuration it
 * speaks TLS when that is on, and a 401 or a demand for a client certificate
 * also counts as alive (the check has no credentials).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { makeTestPki } from '../../support/certs.js';
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

  it('with a web config, counts 401 (basic auth on) as alive; without one, 401 fails', async () => {
    status = 401;
    const web = join(dir, 'web.yml');
    writeFileSync(web, 'basic_auth_users:\n  prometheus: $2y$10$abcdefghijklmnopqrstuu0123456789abcdefghijklmnopqrstu\n');
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${port}` })).toBe(1);
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${port}`, NGINX_PORT_AGENT_WEB_CONFIG_FILE: web })).toBe(0);
    status = 503;
    expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${port}`, NGINX_PORT_AGENT_WEB_CONFIG_FILE: web })).toBe(1);
  });

  it('speaks TLS when the web config has tls_server_config, with or without a required client certificate', async () => {
    const pki = makeTestPki();
    const web = join(dir, 'web-tls.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: ${pki.server.certFile}\n  key_file: ${pki.server.keyFile}\n`);
    for (const requireClientCert of [false, true]) {
      const tls = createHttpsServer(
        { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: requireClientCert, rejectUnauthorized: requireClientCert },
        (req, res) => {
          res.statusCode = req.url === '/healthz' ? 200 : 404;
          res.end();
        },
      );
      await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
      const tlsPort = (tls.address() as AddressInfo).port;
      try {
        expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${tlsPort}`, NGINX_PORT_AGENT_WEB_CONFIG_FILE: web }), `client cert required: ${requireClientCert}`).toBe(0);
        // Plain HTTP against the TLS port is not mistaken for a live agent.
        expect(await healthcheck({ NGINX_PORT_AGENT_LISTEN: `127.0.0.1:${tlsPort}` })).toBe(1);
      } finally {
        await new Promise((r) => tls.close(r));
      }
    }
    pki.cleanup();
  });
});
