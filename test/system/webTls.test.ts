/**
 * Every client_auth_type (and client_allowed_sans) against real TLS handshakes,
 * in-process: the server buildServer makes from a web config file that
 * loadWebConfig reads, on 127.0.0.1 port 0, with certificates openssl made.
 * Expected answers follow Go's crypto/tls, whose names exporter-toolkit uses.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildServer } from '../../agent/export/server.js';
import { systemClock } from '../../agent/io/clock.js';
import { loadWebConfig } from '../../agent/export/webConfigReader.js';
import { CLIENT_SAN_URI, makeTestPki, type KeyPair, type TestPki } from '../support/certs.js';
import { describeWith } from '../support/gate.js';
import { request } from '../support/httpClient.js';

type Client = 'none' | 'valid' | 'otherSan' | 'wrongCa' | 'expired';
const CLIENTS: Client[] = ['none', 'valid', 'otherSan', 'wrongCa', 'expired'];

describeWith(['command:openssl'], 'TLS client authentication (in-process server, real handshakes)', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => {
    pki.cleanup();
  });

  const pairOf = (c: Client): KeyPair | null =>
    c === 'none' ? null : { valid: pki.client, otherSan: pki.clientOtherSan, wrongCa: pki.clientWrongCa, expired: pki.clientExpired }[c];

  /** Which clients get a 200 from a server with this TLS section. */
  async function served(tlsLines: string[]): Promise<Record<Client, boolean>> {
    const file = join(pki.dir, 'matrix.yml');
    writeFileSync(file, ['tls_server_config:', '  cert_file: server.crt', '  key_file: server.key', ...tlsLines.map((l) => `  ${l}`), ''].join('\n'));
    const logger = pino({ level: 'silent' });
    const app = buildServer({
      registry: new Registry(),
      logger,
      clock: systemClock,
      version: '0.0.0-test',
      state: { ready: () => true, notReadyReason: () => '' },
      web: loadWebConfig(file, logger, Date.now()),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = app.listeningOrigin;
      expect(url).toMatch(/^https:/);
      const out = {} as Record<Client, boolean>;
      for (const c of CLIENTS) {
        const pair = pairOf(c);
        try {
          const r = await request(`${url}/healthz`, { ca: pki.ca.cert, ...(pair ? { cert: pair.cert, key: pair.key } : {}) });
          out[c] = r.status === 200;
        } catch {
          out[c] = false;
        }
      }
      return out;
    } finally {
      await app.close();
    }
  }

  it.each<[string, string[], Record<Client, boolean>]>([
    ['NoClientCert', [], { none: true, valid: true, otherSan: true, wrongCa: true, expired: true }],
    ['RequestClientCert', ['client_auth_type: RequestClientCert'], { none: true, valid: true, otherSan: true, wrongCa: true, expired: true }],
    ['RequireAnyClientCert', ['client_auth_type: RequireAnyClientCert'], { none: false, valid: true, otherSan: true, wrongCa: true, expired: true }],
    ['VerifyClientCertIfGiven', ['client_auth_type: VerifyClientCertIfGiven', 'client_ca_file: ca.crt'], { none: true, valid: true, otherSan: true, wrongCa: false, expired: false }],
    ['RequireAndVerifyClientCert', ['client_auth_type: RequireAndVerifyClientCert', 'client_ca_file: ca.crt'], { none: false, valid: true, otherSan: true, wrongCa: false, expired: false }],
    [
      'RequireAndVerifyClientCert with client_allowed_sans',
      ['client_auth_type: RequireAndVerifyClientCert', 'client_ca_file: ca.crt', `client_allowed_sans: ["${CLIENT_SAN_URI}"]`],
      { none: false, valid: true, otherSan: false, wrongCa: false, expired: false },
    ],
    [
      'RequireAnyClientCert with client_allowed_sans',
      ['client_auth_type: RequireAnyClientCert', 'client_allowed_sans: [prometheus.test]'],
      { none: false, valid: true, otherSan: false, wrongCa: true, expired: true },
    ],
  ])('%s', async (_name, lines, expected) => {
    expect(await served(lines)).toEqual(expected);
  });

  it('honours min_version: a TLS 1.2 client cannot reach a TLS 1.3-only server', async () => {
    const file = join(pki.dir, 'tls13.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n');
    const logger = pino({ level: 'silent' });
    const app = buildServer({ registry: new Registry(), logger, clock: systemClock, version: 't', state: { ready: () => true, notReadyReason: () => '' }, web: loadWebConfig(file, logger, Date.now()) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { connect } = await import('node:tls');
      const attempt = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
        new Promise<string>((resolve) => {
          const s = connect({ host: '127.0.0.1', port: (app.server.address() as { port: number }).port, ca: pki.ca.cert, servername: 'localhost', maxVersion }, () => {
            resolve(s.getProtocol() ?? 'none');
            s.end();
          });
          s.on('error', (e: Error) => {
            resolve(`error: ${e.message}`);
          });
        });
      expect(await attempt('TLSv1.3')).toBe('TLSv1.3');
      expect(await attempt('TLSv1.2')).toMatch(/^error: .*(protocol version|alert)/i);
    } finally {
      await app.close();
    }
  });
});
