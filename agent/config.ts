/**
 * One defaults object, one schema, one loader.
 *
 * Precedence, lowest first: defaults, the JSON config file (--config or
 * NGINX_PORT_AGENT_CONFIG), environment variables (NGINX_PORT_AGENT_<KEY>), flags.
 * Every layer is checked against the same schema and every problem is reported at
 * once, each naming where it came from.
 */
import { z } from 'zod';

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
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Strings from flags and the environment become numbers when they look like one. */
const num = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);

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
};

const layerSchema = z.object(configShape).partial().strict();
const fullSchema = z
  .object(configShape)
  .strict()
  .superRefine((c, ctx) => {
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

/** sampleIntervalMs → --sample-interval-ms */
export function flagName(key: ConfigKey): string {
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

function describeIssues(issues: readonly z.core.$ZodIssue[], name: (key: string) => string): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `${issue.keys.map(name).join(', ')}: unknown setting`;
    const key = issue.path.length > 0 ? String(issue.path[0]) : '';
    return `${name(key)}: ${issue.message}`;
  });
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
      else problems.push(...describeIssues(r.error.issues, (k) => `config file ${path}: ${k}`));
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
    fromEnv[key] = value;
  }
  const envResult = layerSchema.safeParse(fromEnv);
  if (envResult.success) layers.push(envResult.data);
  else problems.push(...describeIssues(envResult.error.issues, (k) => envName(k as ConfigKey)));

  const flagResult = layerSchema.safeParse(sources.flags);
  if (flagResult.success) layers.push(flagResult.data);
  else problems.push(...describeIssues(flagResult.error.issues, (k) => flagName(k as ConfigKey)));

  if (problems.length > 0) return { ok: false, problems };

  const merged = Object.assign({}, DEFAULTS, ...layers) as Record<string, unknown>;
  const full = fullSchema.safeParse(merged);
  if (!full.success) return { ok: false, problems: describeIssues(full.error.issues, (k) => k) };
  return { ok: true, config: Object.freeze(full.data) };
}

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}
