/**
 * The web configuration file Prometheus exporters share (`--web.config.file`, the
 * format of prometheus/exporter-toolkit's docs/web-configuration.md): TLS, extra
 * response headers, basic-auth users with bcrypt hashes and a rate limit.
 *
 * Pure: the YAML text and the file's directory in, validated settings (or every
 * problem, each naming its key) out. The reader (webConfigReader.ts) reads the file
 * and the certificates it names.
 *
 * Differences from exporter-toolkit, all on the strict side:
 *   - TLS settings without a certificate and key are an error (exporter-toolkit
 *     silently serves plain HTTP when, say, only min_version is set);
 *   - `cert` and `cert_file` (likewise key, client CA) together are an error, not a
 *     silent preference;
 *   - a user name containing ":" is an error (basic auth could never match it);
 *   - `rate_limit` with an interval needs a burst of at least 1 (a burst of 0 would
 *     refuse every request);
 *   - `http_server_config.http2: true` is accepted with a warning: the agent serves
 *     HTTP/1.1 only, which every scraper falls back to through ALPN.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** exporter-toolkit's version names → Node's `minVersion`/`maxVersion`. */
export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;
export type NodeTlsVersion = (typeof TLS_VERSIONS)[TlsVersionName];
const VERSION_ORDER: readonly TlsVersionName[] = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];

/**
 * The suites Go's `tls.CipherSuites()` lists (the names exporter-toolkit accepts),
 * as OpenSSL names. The three TLS 1.3 suites map to null: as in Go, the list only
 * governs TLS 1.0–1.2, and TLS 1.3 keeps its default suites.
 */
export const CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** exporter-toolkit's curve names → OpenSSL's, for Node's `ecdhCurve`. */
export const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The response headers the file may set, with their allowed values (null: any value), as in exporter-toolkit. */
export const CONFIGURABLE_HEADERS: Readonly<Record<string, readonly string[] | null>> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};

/** `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 04 to 31, 22 characters of salt and 31 of hash. */
export const BCRYPT_HASH_RE = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export type PemSource = { kind: 'file'; path: string; key: string } | { kind: 'inline'; pem: string; key: string };

export interface TlsSettings {
  cert: PemSource;
  key: PemSource;
  clientCa: PemSource | null;
  clientAuth: ClientAuthType;
  minVersion: NodeTlsVersion;
  maxVersion: NodeTlsVersion;
  /** OpenSSL names of the TLS 1.0–1.2 suites, or null for Node's defaults. */
  ciphers: readonly string[] | null;
  /** prefer_server_cipher_suites (default true) → Node's honorCipherOrder. */
  honorCipherOrder: boolean;
  /** Node's `ecdhCurve` ("X25519:P-256"), or null for Node's default. */
  ecdhCurve: string | null;
  /** Client certificates must carry one of these subject alternative names; null: no check. */
  clientAllowedSans: readonly string[] | null;
}

export interface WebConfig {
  /** null: plain HTTP. */
  tls: TlsSettings | null;
  /** Extra response headers, on every response. */
  headers: Readonly<Record<string, string>>;
  /** User name → bcrypt hash; empty: no authentication. */
  users: ReadonlyMap<string, string>;
  /** Token bucket: one request per intervalMs, bursts of `burst`; null: no limit. */
  rateLimit: { intervalMs: number; burst: number } | null;
}

export type WebConfigResult = { ok: true; config: WebConfig; warnings: string[] } | { ok: false; problems: string[] };

/** YAML `key:` with nothing after it is null; exporter-toolkit treats it (and "") as unset. */
const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null || v === '' ? undefined : v), schema.optional());

const tlsSchema = z
  .object({
    cert: opt(z.string()),
    key: opt(z.string()),
    client_ca: opt(z.string()),
    cert_file: opt(z.string()),
    key_file: opt(z.string()),
    // "RequireClientCert" is exporter-toolkit's old name for RequireAnyClientCert.
    client_auth_type: opt(z.enum([...CLIENT_AUTH_TYPES, 'RequireClientCert'])),
    client_ca_file: opt(z.string()),
    client_allowed_sans: opt(z.array(z.string().min(1)).min(1)),
    min_version: opt(z.enum(VERSION_ORDER)),
    max_version: opt(z.enum(VERSION_ORDER)),
    cipher_suites: opt(z.array(z.string())),
    prefer_server_cipher_suites: opt(z.boolean()),
    curve_preferences: opt(z.array(z.string())),
  })
  .strict();

const httpSchema = z
  .object({
    http2: opt(z.boolean()),
    headers: opt(z.record(z.string(), z.string())),
  })
  .strict();

const rateLimitSchema = z
  .object({
    interval: opt(z.union([z.string(), z.literal(0)])),
    burst: opt(z.number().int().min(0)),
  })
  .strict();

const schema = z
  .object({
    tls_server_config: opt(tlsSchema),
    http_server_config: opt(httpSchema),
    basic_auth_users: opt(z.record(z.string(), z.preprocess((v) => v ?? '', z.string()))),
    rate_limit: opt(rateLimitSchema),
  })
  .strict();

/** The keys each mapping knows, to name them next to an unknown one. */
const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(schema.shape),
  tls_server_config: Object.keys(tlsSchema.shape),
  http_server_config: Object.keys(httpSchema.shape),
  rate_limit: Object.keys(rateLimitSchema.shape),
};

const GO_DURATION_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1s", "1m30s", "500ms", "0") in ms, or null if it is not one. */
export function goDurationMs(text: string): number | null {
  if (text === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|μs|ms|s|m|h))+$/.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(m[1]) * GO_DURATION_UNIT_MS[m[2]!]!;
  return ms;
}

function joinDir(dir: string, path: string): string {
  if (path.startsWith('/')) return path;
  return `${dir.replace(/\/+$/, '')}/${path}`;
}

function describe(issue: z.core.$ZodIssue): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = at === '' ? '' : `${at}: `;
    const known = KNOWN_KEYS[at];
    const hint = known === undefined ? '' : ` (known: ${known.join(', ')})`;
    return issue.keys.map((k) => `${where}unknown key "${k}"${hint}`).join('; ');
  }
  return `${at === '' ? 'the file' : at}: ${issue.message}`;
}

type TlsInput = z.infer<typeof tlsSchema>;

function pemSource(
  inline: string | undefined,
  file: string | undefined,
  names: { inline: string; file: string },
  dir: string,
  problems: string[],
): PemSource | null {
  if (inline !== undefined && file !== undefined) {
    problems.push(`tls_server_config: give ${names.inline} or ${names.file}, not both`);
    return null;
  }
  if (file !== undefined) return { kind: 'file', path: joinDir(dir, file), key: names.file };
  if (inline !== undefined) return { kind: 'inline', pem: inline, key: names.inline };
  return null;
}

function tlsSettings(t: TlsInput, dir: string, problems: string[], warnings: string[]): TlsSettings | null {
  const cert = pemSource(t.cert, t.cert_file, { inline: 'cert', file: 'cert_file' }, dir, problems);
  const key = pemSource(t.key, t.key_file, { inline: 'key', file: 'key_file' }, dir, problems);
  const clientCa = pemSource(t.client_ca, t.client_ca_file, { inline: 'client_ca', file: 'client_ca_file' }, dir, problems);
  if (cert === null && t.cert === undefined && t.cert_file === undefined) problems.push('tls_server_config: cert_file (or cert) is required for TLS');
  if (key === null && t.key === undefined && t.key_file === undefined) problems.push('tls_server_config: key_file (or key) is required for TLS');

  const clientAuth: ClientAuthType = t.client_auth_type === 'RequireClientCert' ? 'RequireAnyClientCert' : (t.client_auth_type ?? 'NoClientCert');
  if (clientCa !== null && clientAuth === 'NoClientCert') {
    problems.push(`tls_server_config: ${clientCa.key} is set but client_auth_type is NoClientCert; set client_auth_type (RequireAndVerifyClientCert verifies client certificates)`);
  }
  if (t.client_allowed_sans !== undefined && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
    problems.push('tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
  }

  const min = t.min_version ?? 'TLS12';
  const max = t.max_version ?? 'TLS13';
  if (VERSION_ORDER.indexOf(min) > VERSION_ORDER.indexOf(max)) problems.push(`tls_server_config: min_version ${min} is above max_version ${max}`);
  if (VERSION_ORDER.indexOf(min) < VERSION_ORDER.indexOf('TLS12')) {
    warnings.push(`tls_server_config.min_version ${min}: OpenSSL 3 refuses TLS 1.0 and 1.1 at its default security level, so clients still need TLS 1.2 or later`);
  }

  let ciphers: string[] | null = null;
  if (t.cipher_suites !== undefined && t.cipher_suites.length > 0) {
    ciphers = [];
    for (const name of t.cipher_suites) {
      const openssl = CIPHER_SUITES[name];
      if (openssl === undefined) problems.push(`tls_server_config.cipher_suites: unknown cipher suite "${name}" (known: ${Object.keys(CIPHER_SUITES).join(', ')})`);
      else if (openssl !== null) ciphers.push(openssl);
    }
    if (ciphers.length === 0) ciphers = null; // only TLS 1.3 suites: nothing to restrict
  }

  let ecdhCurve: string | null = null;
  if (t.curve_preferences !== undefined && t.curve_preferences.length > 0) {
    const names: string[] = [];
    for (const name of t.curve_preferences) {
      const openssl = CURVES[name];
      if (openssl === undefined) problems.push(`tls_server_config.curve_preferences: unknown curve "${name}" (known: ${Object.keys(CURVES).join(', ')})`);
      else names.push(openssl);
    }
    ecdhCurve = names.join(':');
  }

  if (cert === null || key === null) return null;
  return {
    cert,
    key,
    clientCa,
    clientAuth,
    minVersion: TLS_VERSIONS[min],
    maxVersion: TLS_VERSIONS[max],
    ciphers,
    honorCipherOrder: t.prefer_server_cipher_suites ?? true,
    ecdhCurve,
    clientAllowedSans: t.client_allowed_sans ?? null,
  };
}

/**
 * Parses and validates a web configuration file's text. `dir` is the file's
 * directory: relative certificate paths resolve against it, as in exporter-toolkit.
 */
export function parseWebConfig(text: string, dir: string): WebConfigResult {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map((e) => `not valid YAML: ${e.message}`) };
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problems: ['the file must be a YAML mapping (tls_server_config, http_server_config, basic_auth_users, rate_limit)'] };

  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map(describe) };
  const c = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];

  const t = c.tls_server_config;
  const tlsGiven = t !== undefined && Object.values(t).some((v) => v !== undefined);
  const tls = tlsGiven ? tlsSettings(t, dir, problems, warnings) : null;

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.http_server_config?.headers ?? {})) {
    const allowed = CONFIGURABLE_HEADERS[name];
    if (allowed === undefined) {
      problems.push(`http_server_config.headers: header "${name}" cannot be configured (configurable: ${Object.keys(CONFIGURABLE_HEADERS).join(', ')})`);
    } else if (allowed !== null && !allowed.includes(value)) {
      problems.push(`http_server_config.headers.${name}: must be one of ${allowed.join(', ')}, got "${value}"`);
    } else if (value !== '') {
      headers[name] = value;
    }
  }
  if (c.http_server_config?.http2 === true && tls !== null) {
    warnings.push('http_server_config.http2: the agent serves HTTP/1.1 only; clients fall back to it through ALPN');
  }

  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(c.basic_auth_users ?? {})) {
    if (user.includes(':')) problems.push(`basic_auth_users: user name "${user}" contains ":", which basic authentication cannot carry`);
    else if (!BCRYPT_HASH_RE.test(hash)) problems.push(`basic_auth_users.${user}: not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31; e.g. from htpasswd -nBC 10 "")`);
    else users.set(user, hash);
  }

  let rateLimit: WebConfig['rateLimit'] = null;
  if (c.rate_limit !== undefined) {
    const interval = c.rate_limit.interval ?? 0;
    const intervalMs = typeof interval === 'number' ? interval : goDurationMs(interval);
    const burst = c.rate_limit.burst ?? 0;
    if (intervalMs === null) problems.push(`rate_limit.interval: not a duration such as 1s, 500ms or 1m30s: "${String(interval)}"`);
    else if (intervalMs > 0 && burst < 1) problems.push('rate_limit.burst: must be at least 1 when an interval is set (0 would refuse every request)');
    else if (intervalMs > 0) rateLimit = { intervalMs, burst };
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { tls, headers, users, rateLimit }, warnings };
}
