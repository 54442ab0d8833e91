/**
 * The built daemon behind --web.config.file: basic auth, TLS with client
 * certificates (made with openssl at test time), fatal start-up errors, the
 * exposure warning, and control characters kept out of its own logs.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAgent, startDaemon, type Daemon } from '../support/agentProcess.js';
import { makeTestPki, type TestPki } from '../support/certs.js';
import { describeWith } from '../support/gate.js';
import { until } from '../support/until.js';
import { basic, request } from '../support/httpClient.js';
import { FIXTURE_PROC } from '../support/procTree.js';

const EXPOSED = /neither TLS nor authentication/;


/** The daemon's URL with a loopback host, whatever address it listens on. */
const loopback = (d: Daemon): string => d.url.replace(/\/\/[\d.]+:/, '//127.0.0.1:');

describeWith(['built', 'command:openssl'], 'agent run --web.config.file (built daemon)', () => {
  let pki: TestPki;
  let dir: string;
  const daemons: Daemon[] = [];
  const start = async (args: string[]): Promise<Daemon> => {
    const d = await startDaemon(['--proc-root', FIXTURE_PROC, '--sample-interval-ms', '1000', ...args]);
    daemons.push(d);
    return d;
  };

  beforeAll(() => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'npa-web-'));
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('basic auth: the right password gets 200; a wrong one, an unknown user or none get 401; 404 and 405 behind it; no exposure warning', async () => {
    const file = join(dir, 'auth.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('correct horse', 8)}\n`);
    // On every interface: authentication makes that acceptable, so no warning.
    const d = await start(['--web.config.file', file, '--listen', '0.0.0.0:0']);
    const url = loopback(d);
    const good = basic('prometheus', 'correct horse');

    const ok = await until('ready', async () => {
      const r = await request(`${url}/metrics`, { headers: { authorization: good } });
      return r.body.includes('nginx_port_destination_headroom{') ? r : undefined;
    });
    expect(ok.status).toBe(200);

    for (const headers of [{ authorization: basic('prometheus', 'correct horse!') }, { authorization: basic('admin', 'correct horse') }, {}]) {
      const r = await request(`${url}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Basic\b/);
      expect(r.body).not.toContain('nginx_port');
    }
    const notFound = await request(`${url}/admin`, { headers: { authorization: good } });
    expect([notFound.status, notFound.body]).toEqual([404, 'not found\n']);
    const post = await request(`${url}/metrics`, { method: 'POST', headers: { authorization: good } });
    expect([post.status, post.headers['allow']]).toEqual([405, 'GET, HEAD']);

    expect(d.logs()).toMatch(/web config file .*auth\.yml: plain HTTP; basic auth for 1 user/);
    expect(d.logs()).not.toMatch(EXPOSED);
  });

  it('TLS with RequireAndVerifyClientCert: a valid client certificate is served; none, one from another CA, an expired one, and plain HTTP are refused', async () => {
    // Relative paths: they resolve against the web config file's directory.
    const file = join(pki.dir, 'web.yml');
    writeFileSync(
      file,
      [
        'tls_server_config:',
        '  cert_file: server.crt',
        '  key_file: server.key',
        '  client_ca_file: ca.crt',
        '  client_auth_type: RequireAndVerifyClientCert',
        '  min_version: TLS12',
        'http_server_config:',
        '  headers:',
        '    Strict-Transport-Security: max-age=31536000',
        '',
      ].join('\n'),
    );
    const d = await start(['--web.config.file', file]);
    expect(d.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const tls = { ca: pki.ca.cert };

    const ok = await until('ready over TLS', async () => {
      const r = await request(`${d.url}/metrics`, { ...tls, cert: pki.client.cert, key: pki.client.key });
      return r.body.includes('nginx_port_destination_headroom{') ? r : undefined;
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000');

    await expect(request(`${d.url}/metrics`, tls)).rejects.toThrow();
    await expect(request(`${d.url}/metrics`, { ...tls, cert: pki.clientWrongCa.cert, key: pki.clientWrongCa.key })).rejects.toThrow();
    await expect(request(`${d.url}/metrics`, { ...tls, cert: pki.clientExpired.cert, key: pki.clientExpired.key })).rejects.toThrow();
    await expect(request(`${d.url.replace('https:', 'http:')}/metrics`)).rejects.toThrow();
    // The server is still fine afterwards.
    expect((await request(`${d.url}/healthz`, { ...tls, cert: pki.client.cert, key: pki.client.key })).status).toBe(200);
    expect(d.logs()).toMatch(/TLS TLSv1\.2-TLSv1\.3, client certificates: RequireAndVerifyClientCert/);
  });

  it.each<[string, () => string, RegExp]>([
    ['an unknown key', () => 'basic_auth_user:\n  x: y\n', /AGENT_ERR_WEB_CONFIG: web config file .*: 1 problem\(s\): unknown key "basic_auth_user"/],
    ['a password in clear', () => 'basic_auth_users:\n  prometheus: secret\n', /AGENT_ERR_WEB_CONFIG: .*basic_auth_users\.prometheus: not a bcrypt hash/],
    ['YAML that does not parse', () => 'tls_server_config: [\n', /AGENT_ERR_WEB_CONFIG: .*not valid YAML/],
    ['a certificate file that does not exist', () => 'tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n', /AGENT_ERR_WEB_TLS: tls_server_config\.cert_file .*nope\.crt: does not exist/],
    ['a key that does not match the certificate', () => `tls_server_config:\n  cert_file: ${pki.server.certFile}\n  key_file: ${pki.client.keyFile}\n`, /AGENT_ERR_WEB_TLS: .*key values mismatch/],
    ['a client CA file with no certificate', () => `tls_server_config:\n  cert_file: ${pki.server.certFile}\n  key_file: ${pki.server.keyFile}\n  client_ca_file: ${pki.server.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n`, /AGENT_ERR_WEB_TLS: tls_server_config\.client_ca_file .*: contains no PEM certificate/],
  ])('refuses to start (exit 1) on %s', async (_name, text, message) => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, text());
    const r = await runAgent(['run', '--proc-root', FIXTURE_PROC, '--listen', '127.0.0.1:0', '--web.config.file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/listening on/);
  });

  it('refuses to start when the web config file does not exist', async () => {
    const r = await runAgent(['run', '--proc-root', FIXTURE_PROC, '--listen', '127.0.0.1:0'], { NGINX_PORT_AGENT_WEB_CONFIG_FILE: join(dir, 'missing.yml') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AGENT_ERR_WEB_CONFIG: cannot read the web config file .*missing\.yml: does not exist/);
  });

  it('warns at start-up when listening beyond loopback with neither TLS nor authentication', async () => {
    const d = await start(['--listen', '0.0.0.0:0']);
    const warning = d
      .logs()
      .split('\n')
      .find((l) => EXPOSED.test(l));
    expect(warning).toBeDefined();
    const entry = JSON.parse(warning!) as { level: number; component: string; msg: string };
    expect([entry.level, entry.component]).toEqual([40, 'http']);
    expect(entry.msg).toMatch(/^listening on 0\.0\.0\.0:\d+, which is not a loopback address/);
    // A warning, not a refusal: it serves as usual.
    await until('ready', async () => ((await request(`${loopback(d)}/readyz`)).status === 200 ? true : undefined));
    expect(await d.stop('SIGTERM')).toBe(0);
  });

  it('keeps control characters out of its own log lines (file names, error-log lines) and leaves the file it reads untouched; no warning on loopback', async () => {
    const logs = mkdtempSync(join(dir, 'logs-'));
    // A file name and a line an attacker might shape: ESC sequences, CR/LF, a forged JSON log line, C1 CSI, BEL.
    const evilName = 'error-\u001b[31m\r\n{"level":60,"msg":"forged"}\u009b2J\u0007.log';
    const evil = join(logs, evilName);
    writeFileSync(evil, '');
    const d = await start(['--error-log', join(logs, '*.log'), '--log-level', 'debug', '--sample-interval-ms', '200']);
    await until('tailing', () => Promise.resolve(d.logs().includes('tailing') ? true : undefined));
    const line =
      '2026/11/21 10:00:00 [error] 7#7: *1 connect() to 127.0.0.2:9000 failed (99: Cannot assign requested address) while connecting to upstream, client: 10.0.0.1\u001b[2J\u001b]0;pwned\u0007, server: x\r, request: "GET /\u009b31m HTTP/1.1", upstream: "http://127.0.0.2:9000/", host: "x"\n';
    const junk = 'not nginx \u001b[5m\u0000\u007f\r\n';
    appendFileSync(evil, line + junk);
    const before = readFileSync(evil);
    await until('the lines counted', async () => ((await request(`${d.url}/metrics`)).body.includes('nginx_port_error_log_lines_total 2') ? true : undefined));
    expect(await d.stop('SIGTERM')).toBe(0);

    const out = d.logs();
    expect(out).toContain('tailing'); // the file name did reach the log (escaped)
    // Raw bytes: only the line feeds that end JSON lines.
    // eslint-disable-next-line no-control-regex
    expect(out.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    // Decoded: no field carries a control character either.
    const lines = out.trimEnd().split('\n');
    for (const l of lines) {
      const text = JSON.stringify(JSON.parse(l), (k, v: unknown) => (k === 'stack' ? undefined : v));
      // JSON.stringify escapes C0 as \uXXXX; after escaping by the agent there must be none left.
      expect(text, l).not.toMatch(/\\u00[01][0-9a-f]|[\u007f-\u009f]/);
    }
    expect(lines.some((l) => (JSON.parse(l) as { level: number }).level === 60)).toBe(false);
    expect(out).toContain('error-\\\\x1b[31m\\\\x0d\\\\x0a{\\"level\\":60');
    expect(readFileSync(evil)).toEqual(before);
    expect(out).not.toMatch(EXPOSED);
  });
});
