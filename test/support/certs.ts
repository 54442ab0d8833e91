/**
 * Test certificates made with the openssl command at test time, in a temp dir:
 * a CA, a server certificate for 127.0.0.1/localhost, client certificates from
 * that CA (one with the SANs tests allow, one without), a client certificate from
 * another CA, and an expired client certificate (backdated with `openssl ca`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  ca: { cert: string; certFile: string };
  server: KeyPair;
  /** From the CA; SANs DNS:prometheus.test and URI:spiffe://test/prometheus. */
  client: KeyPair;
  /** From the CA; SAN DNS:someone-else.test only. */
  clientOtherSan: KeyPair;
  /** From another CA. */
  clientWrongCa: KeyPair;
  /** From the CA, valid 2020-01-01 to 2020-01-02. */
  clientExpired: KeyPair;
  cleanup: () => void;
}

export const CLIENT_SAN_URI = 'spiffe://test/prometheus';

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'npa-pki-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const newKeyAndCsr = (name: string, cn: string): void => {
    openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  };
  const newCa = (name: string): void => {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2');
  };
  const sign = (name: string, ca: string, extensions: string): void => {
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(Date.now() % 1e9 + name.length), '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  const pair = (name: string): KeyPair => ({
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  });

  newCa('ca');
  newCa('other-ca');
  newKeyAndCsr('server', 'localhost');
  sign('server', 'ca', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1');
  newKeyAndCsr('client', 'prometheus');
  sign('client', 'ca', `extendedKeyUsage=clientAuth\nsubjectAltName=DNS:prometheus.test,URI:${CLIENT_SAN_URI}`);
  newKeyAndCsr('client-other-san', 'someone-else');
  sign('client-other-san', 'ca', 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:someone-else.test');
  newKeyAndCsr('client-wrong-ca', 'prometheus');
  sign('client-wrong-ca', 'other-ca', `extendedKeyUsage=clientAuth\nsubjectAltName=DNS:prometheus.test,URI:${CLIENT_SAN_URI}`);

  // `openssl x509 -req` cannot backdate a certificate on OpenSSL 3.0; `openssl ca` can.
  newKeyAndCsr('client-expired', 'prometheus');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      '[policy_any]',
      'commonName = supplied',
      '[client_ext]',
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = clientAuth',
      `subjectAltName = DNS:prometheus.test,URI:${CLIENT_SAN_URI}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'serial'), '1000\n');
  openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'client-expired.csr', '-out', 'client-expired.crt', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'client_ext', '-notext');

  return {
    dir,
    ca: { cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), certFile: join(dir, 'ca.crt') },
    server: pair('server'),
    client: pair('client'),
    clientOtherSan: pair('client-other-san'),
    clientWrongCa: pair('client-wrong-ca'),
    clientExpired: pair('client-expired'),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
