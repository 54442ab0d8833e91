/**
 * One defaults object, one schema, one loader.
 *
 * Precedence, lowest first: defaults, the JSON config file (--config or
 * NGINX_PORT_AGENT_CONFIG), environment variables (NGINX_PORT_AGENT_<KEY>), flags.
 * Every layer is checked against the same schema and every problem is reported at
 * once, each naming where it came from.
 */
import { z } from 'zod';
import { parseInstant, parseTimeZone, type TimeZone } from './core/timeZone.js';
import { NAT_FLAGS, natSchema } from './core/natConfig.js';
import type { NatConfig } from './core/natProfiles.js';

export const DEFAULT_ERROR_LOG = '/var/log/nginx/error.log';
export const DEFAULT_NGINX_CONF = '/etc/nginx/nginx.conf';

export const DEFAULTS = Object.freeze({
  procRoot: '/proc',
  listen: '0.0.0.0:9842',
  sampleIntervalMs: 5000,
  sampleTimeoutMs: 10_000,
  maxDestinations: 100,
  rateWindowSeconds: 60,
  warningHeadroomRatio: 0.2,
  criticalHeadroomRatio: 0.05,
  logLevel: 'info',
  reportTop: 10,
  /** nginx error logs to tail (globs allowed in the file name). The default is used only if it exists. */
  errorLogs: [DEFAULT_ERROR_LOG] as readonly string[],
  /** Read error logs present at start from their beginning instead of their end. */
  errorLogBackfill: false,
  maxLineBytes: 64 * 1024,
  /** `agent diagnose`: how far back to read the error logs (e.g. 15m, 2h, 900s). */
  since: '15m',
  /** `agent diagnose`: read the error logs from this time instead (ISO 8601; without an offset, in errorLogTimezone); '' means --since. */
  from: '',
  /** `agent diagnose`: and up to this time ('' means up to now). */
  until: '',
  /** The time zone nginx stamps its error log in: an IANA name, a fixed offset (+02:00), UTC, or '' for the agent's own. */
  errorLogTimezone: '',
  /** nginx's main config file, or a saved `nginx -T` output. The default is used only if it exists; '' disables. */
  nginxConf: DEFAULT_NGINX_CONF,
  /** nginx's version (e.g. 1.22.1) when it cannot be read from a binary; '' means unknown. */
  nginxVersion: '',
  /** nginx binary to run `nginx -v` on (never a shell); '' means do not run it. */
  nginxBin: '',
  /** The root of nginx's file system, where its package database is read for the version (var/lib/dpkg/status); '' skips it. */
  nginxRoot: '/',
  /** Re-read the nginx config (and re-resolve its host names) this often, in ms. */
  nginxConfReloadMs: 60_000,
  /** Give up on resolving an upstream host name after this long, in ms. */
  dnsTimeoutMs: 2000,
  /** Exporter-toolkit web configuration (TLS, basic auth) for the HTTP server; '' serves plain HTTP. */
  webConfigFile: '',
  /** NATs in front of this host (docs/nat.md): none by default. */
  nat: [] as readonly NatConfig[],
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Strings from flags and the environment become numbers when they look like one. */
const num = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);

/** Booleans from flags and the environment. */
const bool = z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());

/** A comma-separated string (environment) or an array (flags, file). */
const list = (item: z.ZodString) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== '')
        : v,
    z.array(item).max(64),
  );

const DURATION_RE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "15m" → 900000. Call only on values the schema accepted. */
export function durationMs(text: string): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

const LISTEN_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;

export const configShape = {
  procRoot: z.string().min(1, 'must not be empty'),
  listen: z
    .string()
    .regex(LISTEN_RE, 'must be host:port, [v6]:port or :port')
    .refine((v) => !LISTEN_RE.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535'),
  sampleIntervalMs: num(z.number().int().min(100).max(3_600_000)),
  sampleTimeoutMs: num(z.number().int().min(100).max(3_600_000)),
  maxDestinations: num(z.number().int().min(1).max(100_000)),
  rateWindowSeconds: num(z.number().int().min(1).max(60)),
  warningHeadroomRatio: num(z.number().min(0).max(1)),
  criticalHeadroomRatio: num(z.number().min(0).max(1)),
  logLevel: z.enum(LOG_LEVELS),
  reportTop: num(z.number().int().min(1).max(10_000)),
  errorLogs: list(z.string().min(1, 'must not be empty')),
  errorLogBackfill: bool,
  maxLineBytes: num(z.number().int().min(2048).max(64 * 1024 * 1024)),
  // No upper bound: a log is bounded by its size (diagnose scans at most 512 MiB per file), not by a rule.
  since: z
    .string()
    .regex(DURATION_RE, 'must be a duration such as 900s, 15m, 2h or 1d')
    .refine((v) => !DURATION_RE.test(v) || durationMs(v) > 0, 'must be at least 1s'),
  from: z.string(),
  until: z.string(),
  errorLogTimezone: z.string().refine((v) => !('error' in parseTimeZone(v)), {
    error: (issue) => {
      const r = parseTimeZone(String(issue.input));
      return 'error' in r ? r.error : 'invalid time zone';
    },
  }),
  nginxConf: z.string(),
  nginxVersion: z.string().regex(/^(\d+\.\d+\.\d+)?$/, 'must be a version such as 1.22.1'),
  nginxBin: z.string(),
  nginxRoot: z.string(),
  nginxConfReloadMs: num(z.number().int().min(1000).max(86_400_000)),
  dnsTimeoutMs: num(z.number().int().min(10).max(60_000)),
  webConfigFile: z.string(),
  nat: natSchema,
};

const layerSchema = z.object(configShape).partial().strict();

/** The error log's time zone of a config the schema accepted. */
export function errorLogZone(config: Pick<Config, 'errorLogTimezone'>): TimeZone {
  const zone = parseTimeZone(config.errorLogTimezone);
  return 'error' in zone ? { kind: 'local' } : zone;
}

/** diagnose's window: --from/--until when given, else the last --since before nowMs. */
export function errorLogWindow(config: Pick<Config, 'since' | 'from' | 'until' | 'errorLogTimezone'>, nowMs: number): { sinceMs: number; untilMs: number } {
  const zone = errorLogZone(config);
  const at = (text: string): number => {
    const t = parseInstant(text, zone);
    if (typeof t !== 'number') throw new Error(t.error);
    return t;
  };
  if (config.from === '') return { sinceMs: nowMs - durationMs(config.since), untilMs: nowMs };
  return { sinceMs: at(config.from), untilMs: config.until === '' ? nowMs : at(config.until) };
}

/** Problems with --from and --until (each a sentence), given the zone bare times are read in. */
function windowProblems(c: { from: string; until: string; errorLogTimezone: string }): { path: string; message: string }[] {
  const zone = parseTimeZone(c.errorLogTimezone);
  if ('error' in zone) return [];
  const out: { path: string; message: string }[] = [];
  const times: Partial<Record<'from' | 'until', number>> = {};
  for (const key of ['from', 'until'] as const) {
    if (c[key] === '') continue;
    const t = parseInstant(c[key], zone);
    if (typeof t === 'number') times[key] = t;
    else out.push({ path: key, message: t.error });
  }
  if (c.until !== '' && c.from === '') out.push({ path: 'until', message: 'needs --from (the start of the window)' });
  if (times.from !== undefined && times.until !== undefined && times.until <= times.from) out.push({ path: 'until', message: 'must be after --from' });
  return out;
}
const fullSchema = z
  .object(configShape)
  .strict()
  .superRefine((c, ctx) => {
    for (const p of windowProblems(c)) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
    if (c.criticalHeadroomRatio > c.warningHeadroomRatio) {
      ctx.addIssue({
        code: 'custom',
        path: ['criticalHeadroomRatio'],
        message: `must not be above warningHeadroomRatio (${c.warningHeadroomRatio})`,
      });
    }
  });

export type Config = Readonly<z.infer<typeof fullSchema>>;
export type ConfigKey = keyof typeof configShape;
export const CONFIG_KEYS = Object.keys(configShape) as ConfigKey[];

export const ENV_PREFIX = 'NGINX_PORT_AGENT_';
export const ENV_CONFIG_FILE = `${ENV_PREFIX}CONFIG`;

/** sampleIntervalMs → NGINX_PORT_AGENT_SAMPLE_INTERVAL_MS */
export function envName(key: ConfigKey): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** sampleIntervalMs → --sample-interval-ms; errorLogs → --error-log (repeatable). */
export function flagName(key: ConfigKey): string {
  if (key === 'errorLogs') return '--error-log';
  // The name Prometheus exporters use for the exporter-toolkit web configuration.
  if (key === 'webConfigFile') return '--web.config.file';
  // The one-NAT case has a flag per field (--nat-profile, --nat-ports…); a list of NATs comes from the file or the environment.
  if (key === 'nat') return NAT_FLAGS.profile;
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export interface ConfigSources {
  /** Parsed JSON of the config file, or undefined when there is none. */
  file?: { path: string; content: unknown };
  env: Record<string, string | undefined>;
  /** Values given as flags, by config key. */
  flags: Partial<Record<ConfigKey, unknown>>;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** The part of an issue's path below the config key: `[0].ports` for nat[0].ports. */
function subPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Names the setting an issue is about: its key, and below the key the rest of its path. */
type Namer = (key: string, rest: readonly PropertyKey[]) => string;

function describeIssues(issues: readonly z.core.$ZodIssue[], name: Namer): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length === 0 ? (k: string) => name(k, []) : (k: string) => name(String(issue.path[0]), [...issue.path.slice(1), k]);
      return `${issue.keys.map(where).join(', ')}: unknown setting`;
    }
    const key = issue.path.length > 0 ? String(issue.path[0]) : '';
    return `${name(key, issue.path.slice(1))}: ${issue.message}`;
  });
}

/** A flag's problem by the flag's name; the one-NAT flags by the field's own flag (--nat-ports…). */
function flagNamer(key: string, rest: readonly PropertyKey[]): string {
  if (key !== 'nat') return flagName(key as ConfigKey);
  const field = rest[1];
  return typeof field === 'string' && field in NAT_FLAGS ? NAT_FLAGS[field as keyof typeof NAT_FLAGS] : `${NAT_FLAGS.profile}${subPath(rest.slice(1))}`;
}

/** NGINX_PORT_AGENT_NAT holds JSON (one NAT object or a list); every other variable is text the schema reads. */
function envValue(key: ConfigKey, value: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (key !== 'nat') return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value) as unknown };
  } catch (err) {
    return { ok: false, problem: `${envName(key)}: must be JSON, a NAT object or a list of them (${(err as Error).message})` };
  }
}

/** Pure: sources in, a frozen config or every problem out. */
export function resolveConfig(sources: ConfigSources): ConfigResult {
  const problems: string[] = [];
  const layers: Partial<Record<ConfigKey, unknown>>[] = [];

  if (sources.file !== undefined) {
    const { path, content } = sources.file;
    if (typeof content !== 'object' || content === null || Array.isArray(content)) {
      problems.push(`config file ${path}: must be a JSON object`);
    } else {
      const r = layerSchema.safeParse(content);
      if (r.success) layers.push(r.data);
      else problems.push(...describeIssues(r.error.issues, (k, rest) => `config file ${path}: ${k}${subPath(rest)}`));
    }
  }

  const fromEnv: Record<string, unknown> = {};
  const byEnvName = new Map(CONFIG_KEYS.map((k) => [envName(k), k]));
  for (const [name, value] of Object.entries(sources.env)) {
    if (!name.startsWith(ENV_PREFIX) || name === ENV_CONFIG_FILE || value === undefined) continue;
    const key = byEnvName.get(name);
    if (key === undefined) {
      problems.push(`${name}: unknown environment variable (known: ${[...byEnvName.keys()].join(', ')})`);
      continue;
    }
    const parsed = envValue(key, value);
    if (parsed.ok) fromEnv[key] = parsed.value;
    else problems.push(parsed.problem);
  }
  const envResult = layerSchema.safeParse(fromEnv);
  if (envResult.success) layers.push(envResult.data);
  else problems.push(...describeIssues(envResult.error.issues, (k, rest) => `${envName(k as ConfigKey)}${subPath(rest)}`));

  const flagResult = layerSchema.safeParse(sources.flags);
  if (flagResult.success) layers.push(flagResult.data);
  else problems.push(...describeIssues(flagResult.error.issues, flagNamer));

  if (problems.length > 0) return { ok: false, problems };

  // --since and --from/--until are two ways to give the window: one or the other.
  const given = (key: ConfigKey): boolean => layers.some((l) => l[key] !== undefined && l[key] !== '');
  if (given('since') && (given('from') || given('until'))) {
    return { ok: false, problems: [`${flagName('since')}: cannot be combined with ${flagName('from')}/${flagName('until')}; give one window`] };
  }

  const merged = Object.assign({}, DEFAULTS, ...layers) as Record<string, unknown>;
  const full = fullSchema.safeParse(merged);
  if (!full.success) return { ok: false, problems: describeIssues(full.error.issues, (k, rest) => `${k}${subPath(rest)}`) };
  return { ok: true, config: Object.freeze(full.data) };
}

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}
