/**
 * Reads the web configuration file (`--web.config.file`) and the certificates it
 * names, once, at start. Any problem is fatal: AGENT_ERR_WEB_CONFIG for the file
 * itself, AGENT_ERR_WEB_TLS for a certificate, key or CA that cannot be read or used.
 * Changes (certificate rotation included) take effect on restart.
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, readFileSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { agentError } from '../errors.js';
import { openRegularFile, readFailureReason } from '../io/files.js';
import { parseWebConfig, type PemSource, type TlsSettings, type WebConfig } from './webConfig.js';

export interface WebSecurity {
  /** The web configuration file, as given. */
  path: string;
  config: WebConfig;
  /** Options for Node's https server (certificates loaded), or null for plain HTTP. */
  https: HttpsServerOptions | null;
}

function readText(path: string): string {
  const fd = openRegularFile(path);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function loadPem(source: PemSource): string {
  if (source.kind === 'inline') return source.pem;
  try {
    return readText(source.path);
  } catch (err) {
    throw agentError('AGENT_ERR_WEB_TLS', 'unreadable', { key: source.key, path: source.path, reason: readFailureReason(err) }, { cause: err });
  }
}

function where(source: PemSource): string {
  return source.kind === 'file' ? `tls_server_config.${source.key} ${source.path}` : `tls_server_config.${source.key}`;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle; throws when there is none or one does not parse. */
function certificates(pem: string, source: PemSource): X509Certificate[] {
  const blocks = pem.match(PEM_CERT_RE) ?? [];
  if (blocks.length === 0) throw agentError('AGENT_ERR_WEB_TLS', 'noCertificate', { source: where(source) });
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw agentError('AGENT_ERR_WEB_TLS', 'badCertificate', { source: where(source), reason: (err as Error).message }, { cause: err });
    }
  });
}

/** Node's https options for the settings; reads and checks every certificate and key. */
function httpsOptions(tls: TlsSettings, warn: (msg: string) => void, nowMs: number): HttpsServerOptions {
  const cert = loadPem(tls.cert);
  const key = loadPem(tls.key);
  const leaf = certificates(cert, tls.cert)[0]!;
  if (Date.parse(leaf.validTo) < nowMs) warn(`${where(tls.cert)}: the certificate expired on ${leaf.validTo}; clients that verify it will refuse to connect`);
  else if (Date.parse(leaf.validFrom) > nowMs) warn(`${where(tls.cert)}: the certificate is valid only from ${leaf.validFrom}`);
  const ca = tls.clientCa === null ? undefined : loadPem(tls.clientCa);
  if (ca !== undefined && tls.clientCa !== null) certificates(ca, tls.clientCa);

  const options: HttpsServerOptions = {
    cert,
    key,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    honorCipherOrder: tls.honorCipherOrder,
    // Go's client_auth_type on OpenSSL: ask for a certificate unless NoClientCert; let
    // OpenSSL refuse unverified ones only for RequireAndVerifyClientCert. The other
    // types are enforced per connection (clientCertProblem in hardening.ts).
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
    ...(ca !== undefined ? { ca } : {}),
    ...(tls.ciphers !== null ? { ciphers: tls.ciphers.join(':') } : {}),
    ...(tls.ecdhCurve !== null ? { ecdhCurve: tls.ecdhCurve } : {}),
  };
  try {
    // Throws on a key that does not match the certificate, unknown ciphers or curves, bad PEM.
    createSecureContext(options);
  } catch (err) {
    throw agentError('AGENT_ERR_WEB_TLS', 'unusable', { certSource: where(tls.cert), keySource: where(tls.key), reason: (err as Error).message }, { cause: err });
  }
  return options;
}

function summary(c: WebConfig): string {
  const parts = [
    c.tls === null ? 'plain HTTP' : `TLS ${c.tls.minVersion}-${c.tls.maxVersion}, client certificates: ${c.tls.clientAuth}`,
    c.users.size === 0 ? 'no basic auth' : `basic auth for ${c.users.size} user(s)`,
  ];
  if (c.rateLimit !== null) parts.push(`rate limit 1 per ${c.rateLimit.intervalMs} ms, burst ${c.rateLimit.burst}`);
  return parts.join('; ');
}

/** '' → null (plain HTTP, no authentication). Throws AgentError on any problem. */
export function loadWebConfig(path: string, logger: Logger, nowMs: number): WebSecurity | null {
  if (path === '') return null;
  const log = logger.child({ component: 'web' });
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    throw agentError('AGENT_ERR_WEB_CONFIG', 'unreadable', { path, reason: readFailureReason(err) }, { cause: err });
  }
  const parsed = parseWebConfig(text, dirname(resolve(path)));
  if (!parsed.ok) {
    throw agentError('AGENT_ERR_WEB_CONFIG', 'invalid', { path, count: parsed.problems.length, problems: parsed.problems.join('; ') });
  }
  const warn = (msg: string): void => {
    log.warn({ webConfigFile: path }, `web config file ${path}: ${msg}`);
  };
  for (const w of parsed.warnings) warn(w);
  const { config } = parsed;
  const tlsClientAuth = config.tls?.clientAuth;
  if (config.users.size === 0 && (tlsClientAuth === 'RequestClientCert' || tlsClientAuth === 'RequireAnyClientCert' || tlsClientAuth === 'VerifyClientCertIfGiven')) {
    warn(`client_auth_type ${tlsClientAuth} does not verify who connects; use RequireAndVerifyClientCert or basic_auth_users`);
  }
  const https = config.tls === null ? null : httpsOptions(config.tls, warn, nowMs);
  log.info({ webConfigFile: path }, `web config file ${path}: ${summary(config)}`);
  return { path, config, https };
}
