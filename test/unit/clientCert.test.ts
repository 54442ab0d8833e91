import { describe, expect, it } from 'vitest';
import { canonicalAddress, clientCertProblem, subjectAltNameValues, type PeerCertificateFacts } from '../../agent/export/clientCert.js';
import type { ClientAuthType } from '../../agent/export/webConfig.js';

const NONE: PeerCertificateFacts = { presented: false, authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT', subjectAltName: null };
const VALID: PeerCertificateFacts = { presented: true, authorized: true, authorizationError: null, subjectAltName: 'DNS:prometheus.test, URI:spiffe://test/prometheus' };
const UNVERIFIED: PeerCertificateFacts = { presented: true, authorized: false, authorizationError: 'CERT_HAS_EXPIRED', subjectAltName: 'DNS:prometheus.test' };

describe('clientCertProblem', () => {
  // Go's crypto/tls ClientAuthType semantics, which exporter-toolkit exposes.
  it.each<[ClientAuthType, PeerCertificateFacts, RegExp | null]>([
    ['NoClientCert', NONE, null],
    ['RequestClientCert', NONE, null],
    ['RequestClientCert', UNVERIFIED, null],
    ['RequireAnyClientCert', NONE, /no client certificate/],
    ['RequireAnyClientCert', UNVERIFIED, null],
    ['VerifyClientCertIfGiven', NONE, null],
    ['VerifyClientCertIfGiven', VALID, null],
    ['VerifyClientCertIfGiven', UNVERIFIED, /not verified: CERT_HAS_EXPIRED/],
    ['RequireAndVerifyClientCert', NONE, /no client certificate/],
    ['RequireAndVerifyClientCert', UNVERIFIED, /not verified: CERT_HAS_EXPIRED/],
    ['RequireAndVerifyClientCert', VALID, null],
  ])('%s with %j', (clientAuth, peer, problem) => {
    const got = clientCertProblem({ clientAuth, clientAllowedSans: null }, peer);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toMatch(problem);
  });

  it('requires one of client_allowed_sans, addresses compared in canonical form', () => {
    const policy = (sans: string[]) => ({ clientAuth: 'RequireAndVerifyClientCert' as const, clientAllowedSans: sans });
    expect(clientCertProblem(policy(['spiffe://test/prometheus']), VALID)).toBeNull();
    expect(clientCertProblem(policy(['other.test', 'prometheus.test']), VALID)).toBeNull();
    expect(clientCertProblem(policy(['prometheus']), VALID)).toMatch(/none of the client_allowed_sans/);
    expect(clientCertProblem(policy(['prometheus.test']), { ...VALID, subjectAltName: null })).toMatch(/none of the client_allowed_sans/);
    const v6 = { ...VALID, subjectAltName: 'IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.1' };
    expect(clientCertProblem(policy(['::1']), v6)).toBeNull();
    expect(clientCertProblem(policy(['0:0::1']), v6)).toBeNull();
    expect(clientCertProblem(policy(['10.0.0.1']), v6)).toBeNull();
    expect(clientCertProblem(policy(['10.0.0.2']), v6)).toMatch(/none/);
  });
});

describe('subjectAltNameValues', () => {
  it('splits Node\'s subjectaltname, unquoting JSON-quoted values and canonicalising addresses', () => {
    expect(
      subjectAltNameValues('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:a@b.c, URI:spiffe://x/y, DNS:"we\\u002cird"'),
    ).toEqual(['localhost', '127.0.0.1', '::1', 'a@b.c', 'spiffe://x/y', 'we,ird']);
    expect(subjectAltNameValues('')).toEqual([]);
  });
});

describe('canonicalAddress', () => {
  it.each([
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['FE80:0:0:0:0:0:0:1', 'fe80::1'],
    ['127.0.0.1', '127.0.0.1'],
    ['prometheus.test', 'prometheus.test'],
    ['spiffe://test/x', 'spiffe://test/x'],
    ['1:2:3', '1:2:3'],
  ])('%s → %s', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });
});
