import { describe, expect, it } from 'vitest';
import { goDurationMs, parseWebConfig, type WebConfig } from '../../agent/export/webConfig.js';

// Well-formed bcrypt hashes (htpasswd writes $2y$); the parser only checks their form.
const HASH_A = '$2y$10$' + 'a./Z9'.repeat(10) + 'abc';
const HASH_B = '$2b$12$' + 'b'.repeat(53);

function ok(text: string, dir = '/etc/agent'): { config: WebConfig; warnings: string[] } {
  const r = parseWebConfig(text, dir);
  if (!r.ok) throw new Error(`expected a valid config, got: ${r.problems.join('; ')}`);
  return { config: r.config, warnings: r.warnings };
}

function problems(text: string): string[] {
  const r = parseWebConfig(text, '/etc/agent');
  if (r.ok) throw new Error('expected problems, got a valid config');
  return r.problems;
}

describe('parseWebConfig', () => {
  it('reads the full format: TLS, headers, users, rate limit', () => {
    const { config, warnings } = ok(`
tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ../ca/clients.pem
  client_allowed_sans: [spiffe://test/prometheus, "127.0.0.1"]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: ${HASH_A}
  bob: '${HASH_B}'
rate_limit:
  interval: 1s
  burst: 20
`);
    expect(warnings).toEqual([]);
    expect(config.tls).toEqual({
      cert: { kind: 'file', path: '/etc/agent/server.crt', key: 'cert_file' },
      key: { kind: 'file', path: '/abs/server.key', key: 'key_file' },
      clientCa: { kind: 'file', path: '/etc/agent/../ca/clients.pem', key: 'client_ca_file' },
      clientAuth: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'],
      honorCipherOrder: false,
      ecdhCurve: 'X25519:P-256',
      clientAllowedSans: ['spiffe://test/prometheus', '127.0.0.1'],
    });
    expect(config.headers).toEqual({ 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
    expect([...config.users]).toEqual([
      ['alice', HASH_A],
      ['bob', HASH_B],
    ]);
    expect(config.rateLimit).toEqual({ intervalMs: 1000, burst: 20 });
  });

  it('defaults: TLS 1.2 to 1.3, no client certificates, server cipher order, Node defaults for ciphers and curves', () => {
    const { config } = ok('tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n');
    expect(config.tls).toMatchObject({
      clientAuth: 'NoClientCert',
      clientCa: null,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
      ciphers: null,
      ecdhCurve: null,
      clientAllowedSans: null,
    });
  });

  it.each([
    ['an empty file', ''],
    ['a comment only', '# nothing yet\n'],
    ['empty sections', 'tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n'],
    ['TLS keys left blank', 'tls_server_config:\n  cert_file: ""\n  key_file:\n'],
  ])('%s means plain HTTP without authentication', (_name, text) => {
    const { config } = ok(text);
    expect(config).toEqual({ tls: null, headers: {}, users: new Map(), rateLimit: null });
  });

  it('takes inline PEM for cert, key and client_ca', () => {
    const { config } = ok(`
tls_server_config:
  cert: |
    -----BEGIN CERTIFICATE-----
    x
    -----END CERTIFICATE-----
  key: secret
  client_ca: ca-pem
  client_auth_type: VerifyClientCertIfGiven
`);
    expect(config.tls?.cert).toEqual({ kind: 'inline', pem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', key: 'cert' });
    expect(config.tls?.key).toEqual({ kind: 'inline', pem: 'secret', key: 'key' });
    expect(config.tls?.clientCa).toEqual({ kind: 'inline', pem: 'ca-pem', key: 'client_ca' });
  });

  it('maps the old name RequireClientCert to RequireAnyClientCert', () => {
    expect(ok('tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireClientCert}').config.tls?.clientAuth).toBe('RequireAnyClientCert');
  });

  it('resolves relative paths against the directory of the web config file, with or without a trailing slash', () => {
    expect(ok('tls_server_config: {cert_file: certs/a.crt, key_file: b.key}', '/run/secrets/').config.tls).toMatchObject({
      cert: { path: '/run/secrets/certs/a.crt' },
      key: { path: '/run/secrets/b.key' },
    });
  });

  it.each<[string, string, RegExp[]]>([
    ['an unknown top-level key, by name', 'basic_auth_user:\n  alice: x\n', [/^unknown key "basic_auth_user" \(known: tls_server_config, http_server_config, basic_auth_users, rate_limit\)$/]],
    ['an unknown TLS key, by path', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_files: c\n', [/^tls_server_config: unknown key "client_ca_files" \(known: cert, key, client_ca, cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites, curve_preferences\)$/]],
    ['an unknown http_server_config key', 'http_server_config:\n  http3: true\n', [/^http_server_config: unknown key "http3" \(known: http2, headers\)$/]],
    ['keys of exporter-toolkit versions the agent does not know', 'auth_excluded_paths: [/metrics]\n', [/unknown key "auth_excluded_paths"/]],
    ['a TLS version that does not exist', 'tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}', [/^tls_server_config\.min_version: .*TLS13/]],
    ['a client auth type that does not exist', 'tls_server_config: {cert_file: a, key_file: b, client_auth_type: Yes}', [/^tls_server_config\.client_auth_type: .*RequireAndVerifyClientCert/]],
    ['a wrong type', 'http_server_config: {http2: "yes"}', [/^http_server_config\.http2: .*boolean/]],
    ['TLS settings without a certificate', 'tls_server_config:\n  min_version: TLS13\n', [/cert_file \(or cert\) is required/, /key_file \(or key\) is required/]],
    ['a certificate without a key', 'tls_server_config: {cert_file: a}', [/key_file \(or key\) is required/]],
    ['cert and cert_file together', 'tls_server_config: {cert: x, cert_file: a, key_file: b}', [/give cert or cert_file, not both/]],
    ['a client CA without client authentication', 'tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}', [/client_ca_file is set but client_auth_type is NoClientCert/]],
    ['client_allowed_sans with optional certificates', 'tls_server_config: {cert_file: a, key_file: b, client_auth_type: VerifyClientCertIfGiven, client_allowed_sans: [x]}', [/client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert/]],
    ['min_version above max_version', 'tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}', [/min_version TLS13 is above max_version TLS12/]],
    ['an unknown cipher suite', 'tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}', [/unknown cipher suite "TLS_RSA_WITH_RC4_128_SHA"/]],
    ['an unknown curve', 'tls_server_config: {cert_file: a, key_file: b, curve_preferences: [X448]}', [/unknown curve "X448"/]],
    ['a header that cannot be configured', 'http_server_config: {headers: {Server: nginx}}', [/header "Server" cannot be configured/]],
    ['a header value outside its set', 'http_server_config: {headers: {X-Frame-Options: allow}}', [/X-Frame-Options: must be one of deny, sameorigin/]],
    ['a password in clear', 'basic_auth_users:\n  alice: secret\n', [/basic_auth_users\.alice: not a bcrypt hash/]],
    ['a bcrypt hash of an unknown variant', `basic_auth_users:\n  alice: '${HASH_A.replace('$2y$', '$2x$')}'\n`, [/not a bcrypt hash/]],
    ['a user without a hash', 'basic_auth_users:\n  alice:\n', [/basic_auth_users\.alice: not a bcrypt hash/]],
    ['a user name with a colon', `basic_auth_users:\n  "a:b": ${HASH_A}\n`, [/user name "a:b" contains ":"/]],
    ['a rate limit that is not a duration', 'rate_limit: {interval: 1 second, burst: 2}', [/rate_limit\.interval: not a duration/]],
    ['a rate limit refusing everything', 'rate_limit: {interval: 1s, burst: 0}', [/rate_limit\.burst: must be at least 1/]],
    ['YAML that does not parse', 'tls_server_config: [unclosed\n', [/^not valid YAML: /]],
    ['a duplicate key', 'basic_auth_users:\n  alice: x\nbasic_auth_users:\n  bob: y\n', [/^not valid YAML: .*(unique|duplicate)/i]],
    ['a list instead of a mapping', '- a\n- b\n', [/must be a YAML mapping/]],
  ])('rejects %s', (_name, text, expected) => {
    const got = problems(text);
    expect(got).toHaveLength(expected.length);
    expected.forEach((re, i) => {
      expect(got[i]).toMatch(re);
    });
  });

  it('reports every problem at once', () => {
    const got = problems('tls_server_config: {cert_file: a, cipher_suites: [NOPE], curve_preferences: [NOPE]}\nbasic_auth_users: {alice: x}\n');
    expect(got).toEqual([
      expect.stringMatching(/key_file \(or key\) is required/),
      expect.stringMatching(/unknown cipher suite "NOPE"/),
      expect.stringMatching(/unknown curve "NOPE"/),
      expect.stringMatching(/basic_auth_users\.alice: not a bcrypt hash/),
    ]);
  });

  it('accepts what Node cannot do exactly, with a warning: HTTP/2, TLS below 1.2', () => {
    const { config, warnings } = ok('tls_server_config: {cert_file: a, key_file: b, min_version: TLS10}\nhttp_server_config: {http2: true}\n');
    expect(config.tls?.minVersion).toBe('TLSv1');
    expect(warnings).toEqual([expect.stringMatching(/min_version TLS10: OpenSSL 3 refuses/), expect.stringMatching(/http2: the agent serves HTTP\/1\.1 only/)]);
    // Without TLS there is no HTTP/2 in exporter-toolkit either: nothing to warn about.
    expect(ok('http_server_config: {http2: true}').warnings).toEqual([]);
  });

  it('treats a list of TLS 1.3 suites only as no restriction (Go does not configure TLS 1.3 suites either)', () => {
    expect(ok('tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_AES_256_GCM_SHA384]}').config.tls?.ciphers).toBeNull();
  });

  it('rate_limit with interval 0 (or none) is off', () => {
    expect(ok('rate_limit: {interval: 0, burst: 5}').config.rateLimit).toBeNull();
    expect(ok('rate_limit: {burst: 5}').config.rateLimit).toBeNull();
  });
});

describe('goDurationMs', () => {
  it.each<[string, number | null]>([
    ['0', 0],
    ['1s', 1000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['250us', 0.25],
    ['1', null],
    ['1 s', null],
    ['-1s', null],
    ['', null],
  ])('%j → %j', (text, ms) => {
    expect(goDurationMs(text)).toBe(ms);
  });
});
