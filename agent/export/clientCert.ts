/**
 * What OpenSSL does not enforce by itself of Go's client_auth_type, per connection.
 * Node can only ask for a client certificate (requestCert) and optionally refuse
 * one that does not verify (rejectUnauthorized), which is RequestClientCert and
 * RequireAndVerifyClientCert; RequireAnyClientCert, VerifyClientCertIfGiven and
 * client_allowed_sans are checked here once the handshake is done. Pure.
 */
import type { TlsSettings } from './webConfig.js';

export interface PeerCertificateFacts {
  /** The client sent a certificate. */
  presented: boolean;
  /** OpenSSL verified it against the client CAs. */
  authorized: boolean;
  /** OpenSSL's reason when it did not (e.g. CERT_HAS_EXPIRED). */
  authorizationError: string | null;
  /** Node's `subjectaltname` string ("DNS:a, IP Address:127.0.0.1, URI:spiffe://…"), if any. */
  subjectAltName: string | null;
}

/** Canonical text of an IP address (IPv6 compressed and lower-case), or the text unchanged. */
export function canonicalAddress(text: string): string {
  try {
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return new URL(`http://${text}/`).hostname;
    if (/^[0-9A-Fa-f:.]+$/.test(text) && text.includes(':')) return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    // Not an address after all: compared as written.
  }
  return text;
}

/**
 * The values of Node's subjectaltname string. Node writes entries as `TYPE:value`
 * joined by ", ", and a value with special characters as a JSON string.
 */
export function subjectAltNameValues(text: string): string[] {
  const out: string[] = [];
  const re = /([A-Za-z ]+):(?:"((?:[^"\\]|\\.)*)"|([^,]*))(?:, |$)/g;
  for (const m of text.matchAll(re)) {
    let value = m[3] ?? '';
    if (m[2] !== undefined) {
      try {
        value = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        value = m[2];
      }
    }
    out.push(m[1] === 'IP Address' ? canonicalAddress(value) : value);
  }
  return out;
}

/** Why the connection must be closed, or null when the client certificate policy is met. */
export function clientCertProblem(tls: Pick<TlsSettings, 'clientAuth' | 'clientAllowedSans'>, peer: PeerCertificateFacts): string | null {
  switch (tls.clientAuth) {
    case 'NoClientCert':
    case 'RequestClientCert':
      break;
    case 'RequireAnyClientCert':
      if (!peer.presented) return 'no client certificate (client_auth_type RequireAnyClientCert)';
      break;
    case 'VerifyClientCertIfGiven':
      if (peer.presented && !peer.authorized) return `client certificate not verified: ${peer.authorizationError ?? 'unknown reason'}`;
      break;
    case 'RequireAndVerifyClientCert':
      // OpenSSL has refused these already (rejectUnauthorized); checked again all the same.
      if (!peer.presented) return 'no client certificate (client_auth_type RequireAndVerifyClientCert)';
      if (!peer.authorized) return `client certificate not verified: ${peer.authorizationError ?? 'unknown reason'}`;
      break;
  }
  if (tls.clientAllowedSans !== null) {
    const allowed = new Set(tls.clientAllowedSans.map(canonicalAddress));
    const sans = peer.subjectAltName === null ? [] : subjectAltNameValues(peer.subjectAltName);
    if (!sans.some((s) => allowed.has(s))) return 'client certificate has none of the client_allowed_sans';
  }
  return null;
}
