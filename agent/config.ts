/**
 * One defaults object, one schema, one loader.
 *
 * Precedence, lowest first: defaults, the JSON config file (--config or
 * NGINX_PORT_AGENT_CONFIG), environment variables (NGINX_PORT_AGENT_<KEY>), flags.
 * Every layer is checked against the same schema and every problem is reported at
 * once, each naming where it came from.
 */
import type { z } from 'zod';
import { parseInstant, parseTimeZone, type TimeZone } from './core/timeZone.js';
import { NAT_FLAGS } from './core/natFlags.js';
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
  /** `agent diagnose`: threads to read one large error log with; 0 means the CPU count, at most 4. */
  errorLogReadThreads: 0,
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

/**
 * How each setting is checked: a small rule, read two ways. `quickValue` below
 * only ever accepts (a value it is not sure of goes to zod), and `buildSchemas`
 * turns the same rules into the zod schema that reports every problem. So the
 * common case, a valid configuration, is checked without loading zod (it is a
 * third of `agent diagnose`'s start-up: bench/README.md), and every problem is
 * still worded by zod, from this one catalogue.
 */
/** A check on a string, each kind the zod method it becomes (they differ in when zod runs them). */
type Check =
  | { kind: 'minLength'; min: number; message: string }
  | { kind: 'regex'; re: RegExp; message: string }
  | { kind: 'refine'; ok: (value: string) => boolean; message: string | ((value: string) => string) };

interface NumberRule {
  kind: 'number';
  int: boolean;
  min: number;
  max: number;
}
interface StringRule {
  kind: 'string';
  checks: readonly Check[];
}
interface EnumRule<T extends string = string> {
  kind: 'enum';
  values: readonly T[];
}
interface BooleanRule {
  kind: 'boolean';
}
interface ListRule {
  kind: 'list';
  item: StringRule;
  maxItems: number;
}
/**
 * The NATs (core/natConfig.ts): their schema is zod through and through, so the
 * quick check accepts only the default, none, and zod loads it with the rest.
 */
interface NatRule {
  kind: 'nat';
}
type Rule = NumberRule | StringRule | EnumRule | BooleanRule | ListRule | NatRule;

const integer = (min: number, max: number): NumberRule => ({ kind: 'number', int: true, min, max });
const ratio: NumberRule = { kind: 'number', int: false, min: 0, max: 1 };
const text = (...checks: Check[]): StringRule => ({ kind: 'string', checks });
const oneOf = <T extends string>(values: readonly T[]): EnumRule<T> => ({ kind: 'enum', values });
const matches = (re: RegExp, message: string): Check => ({ kind: 'regex', re, message });
const nonEmpty: Check = { kind: 'minLength', min: 1, message: 'must not be empty' };
const passes = (ok: (value: string) => boolean, message: Check['message']): Check => ({ kind: 'refine', ok, message });

function checkPasses(c: Check, v: string): boolean {
  return c.kind === 'minLength' ? v.length >= c.min : c.kind === 'regex' ? c.re.test(v) : c.ok(v);
}

/** Strings from flags and the environment become numbers when they look like one. */
function coerceNumber(v: unknown): unknown {
  return typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
}

/** Booleans from flags and the environment. */
function coerceBoolean(v: unknown): unknown {
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v;
}

/** A comma-separated string (environment) or an array (flags, file). */
function coerceList(v: unknown): unknown {
  return typeof v === 'string'
    ? v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
    : v;
}

const DURATION_RE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "15m" → 900000. Call only on values the schema accepted. */
export function durationMs(text: string): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

const LISTEN_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;

/** The config catalogue: every setting and what it accepts. */
export const CONFIG_CATALOGUE = {
  procRoot: text(nonEmpty),
  listen: text(
    matches(LISTEN_RE, 'must be host:port, [v6]:port or :port'),
    passes((v) => !LISTEN_RE.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535'),
  ),
  sampleIntervalMs: integer(100, 3_600_000),
  sampleTimeoutMs: integer(100, 3_600_000),
  maxDestinations: integer(1, 100_000),
  rateWindowSeconds: integer(1, 60),
  warningHeadroomRatio: ratio,
  criticalHeadroomRatio: ratio,
  logLevel: oneOf(LOG_LEVELS),
  reportTop: integer(1, 10_000),
  errorLogs: { kind: 'list', item: text(nonEmpty), maxItems: 64 } satisfies ListRule,
  errorLogBackfill: { kind: 'boolean' } satisfies BooleanRule,
  maxLineBytes: integer(2048, 64 * 1024 * 1024),
  // No upper bound: a log is bounded by its size (diagnose scans at most 512 MiB per file), not by a rule.
  since: text(
    matches(DURATION_RE, 'must be a duration such as 900s, 15m, 2h or 1d'),
    passes((v) => !DURATION_RE.test(v) || durationMs(v) > 0, 'must be at least 1s'),
  ),
  from: text(),
  until: text(),
  errorLogTimezone: text(
    passes(
      (v) => !('error' in parseTimeZone(v)),
      (v) => {
        const r = parseTimeZone(v);
        return 'error' in r ? r.error : 'invalid time zone';
      },
    ),
  ),
  errorLogReadThreads: integer(0, 16),
  nginxConf: text(),
  nginxVersion: text(matches(/^(\d+\.\d+\.\d+)?$/, 'must be a version such as 1.22.1')),
  nginxBin: text(),
  nginxRoot: text(),
  nginxConfReloadMs: integer(1000, 86_400_000),
  dnsTimeoutMs: integer(10, 60_000),
  webConfigFile: text(),
  nat: { kind: 'nat' } satisfies NatRule,
};

type ValueOf<R> = R extends NumberRule
  ? number
  : R extends EnumRule<infer T>
    ? T
    : R extends StringRule
      ? string
      : R extends BooleanRule
        ? boolean
        : R extends ListRule
          ? string[]
          : R extends NatRule
            ? NatConfig[]
            : never;

/** Threads that read one large error log by default, at most: each holds a heap of its own and its read buffers, so memory stays bounded on a large machine. */
const MAX_READ_THREADS = 4;

/** The threads that read one large error log in parts (errorLogReadThreads; 0: as many as the machine has cores, at most MAX_READ_THREADS). */
export function errorLogReadThreadCount(config: Pick<Config, 'errorLogReadThreads'>, cores: number): number {
  return config.errorLogReadThreads > 0 ? config.errorLogReadThreads : Math.min(MAX_READ_THREADS, cores);
}

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

/** Problems between settings (each a sentence, with the setting it is reported on). */
function crossProblems(c: Config): { path: string; message: string }[] {
  const out = windowProblems(c);
  if (c.criticalHeadroomRatio > c.warningHeadroomRatio) {
    out.push({ path: 'criticalHeadroomRatio', message: `must not be above warningHeadroomRatio (${c.warningHeadroomRatio})` });
  }
  return out;
}

export type ConfigKey = keyof typeof CONFIG_CATALOGUE;
export type Config = Readonly<{ [K in ConfigKey]: ValueOf<(typeof CONFIG_CATALOGUE)[K]> }>;
export const CONFIG_KEYS = Object.keys(CONFIG_CATALOGUE) as ConfigKey[];

/** The value a rule accepts `raw` as, or undefined when it is not sure (zod decides then). */
function quickValue(rule: Rule, raw: unknown): unknown {
  switch (rule.kind) {
    case 'number': {
      const v = coerceNumber(raw);
      if (typeof v !== 'number' || !Number.isFinite(v) || v < rule.min || v > rule.max) return undefined;
      return rule.int && !Number.isSafeInteger(v) ? undefined : v;
    }
    case 'string':
      return typeof raw === 'string' && rule.checks.every((c) => checkPasses(c, raw)) ? raw : undefined;
    case 'enum':
      return typeof raw === 'string' && rule.values.includes(raw) ? raw : undefined;
    case 'boolean': {
      const v = coerceBoolean(raw);
      return typeof v === 'boolean' ? v : undefined;
    }
    case 'list': {
      const v = coerceList(raw);
      if (!Array.isArray(v) || v.length > rule.maxItems) return undefined;
      return v.every((x) => quickValue(rule.item, x) !== undefined) ? [...(v as string[])] : undefined;
    }
    case 'nat':
      return Array.isArray(raw) && raw.length === 0 ? [] : undefined;
  }
}

/** A layer with every value accepted and coerced, or undefined when zod has to look at it. */
export function quickLayer(layer: object): Partial<Record<ConfigKey, unknown>> | undefined {
  const out: Partial<Record<ConfigKey, unknown>> = {};
  for (const [key, raw] of Object.entries(layer)) {
    if (!Object.hasOwn(CONFIG_CATALOGUE, key)) return undefined;
    const value = quickValue(CONFIG_CATALOGUE[key as ConfigKey], raw);
    if (value === undefined) return undefined;
    out[key as ConfigKey] = value;
  }
  return out;
}

/** The merged config when every setting and every check between them passes, else undefined. */
export function quickConfig(merged: Record<string, unknown>): Config | undefined {
  const values = quickLayer(merged);
  if (values === undefined) return undefined;
  // Keys in catalogue order, as zod gives them.
  const config = Object.fromEntries(CONFIG_KEYS.map((k) => [k, values[k]])) as Config;
  if (CONFIG_KEYS.some((k) => values[k] === undefined)) return undefined;
  return crossProblems(config).length === 0 ? config : undefined;
}

type Zod = typeof import('zod');
type NatModule = typeof import('./core/natConfig.js');

/** The zod schemas of the catalogue: one layer (any subset of the settings), and the merged whole. */
export function buildSchemas({ z }: Zod, { natSchema }: NatModule) {
  const number = (r: NumberRule) => {
    let n = z.number();
    if (r.int) n = n.int();
    return z.preprocess(coerceNumber, n.min(r.min).max(r.max));
  };
  const string = (r: StringRule) =>
    r.checks.reduce((s, c) => {
      if (c.kind === 'minLength') return s.min(c.min, c.message);
      if (c.kind === 'regex') return s.regex(c.re, c.message);
      const { message } = c;
      return s.refine(c.ok, typeof message === 'string' ? message : { error: (issue) => message(String(issue.input)) });
    }, z.string());
  const schema = (r: Rule) => {
    switch (r.kind) {
      case 'number':
        return number(r);
      case 'string':
        return string(r);
      case 'enum':
        return z.enum(r.values as [string, ...string[]]);
      case 'boolean':
        return z.preprocess(coerceBoolean, z.boolean());
      case 'list':
        return z.preprocess(coerceList, z.array(string(r.item)).max(r.maxItems));
      case 'nat':
        return natSchema;
    }
  };
  const shape = Object.fromEntries(CONFIG_KEYS.map((k) => [k, schema(CONFIG_CATALOGUE[k])]));
  return {
    layer: z.object(shape).partial().strict(),
    full: z
      .object(shape)
      .strict()
      .superRefine((c, ctx) => {
        for (const p of crossProblems(c as Config)) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
      }),
  };
}

/** Imported on the first value the quick check is not sure of: a valid configuration never loads zod. */
async function zodSchemas(): Promise<ReturnType<typeof buildSchemas>> {
  const [zod, nat] = await Promise.all([import('zod'), import('./core/natConfig.js')]);
  return buildSchemas(zod, nat);
}

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

/** One layer's values, accepted and coerced, or its problems as zod words them. */
async function checkLayer(
  layer: object,
  name: Namer,
): Promise<{ layer: Partial<Record<ConfigKey, unknown>> } | { problems: string[] }> {
  const quick = quickLayer(layer);
  if (quick !== undefined) return { layer: quick };
  const r = (await zodSchemas()).layer.safeParse(layer);
  return r.success ? { layer: r.data } : { problems: describeIssues(r.error.issues, name) };
}

/** Pure: sources in, a frozen config or every problem out (asynchronous only to load zod when a value needs it). */
export async function resolveConfig(sources: ConfigSources): Promise<ConfigResult> {
  const problems: string[] = [];
  const layers: Partial<Record<ConfigKey, unknown>>[] = [];

  if (sources.file !== undefined) {
    const { path, content } = sources.file;
    if (typeof content !== 'object' || content === null || Array.isArray(content)) {
      problems.push(`config file ${path}: must be a JSON object`);
    } else {
      const r = await checkLayer(content, (k, rest) => `config file ${path}: ${k}${subPath(rest)}`);
      if ('layer' in r) layers.push(r.layer);
      else problems.push(...r.problems);
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
  for (const [layer, name] of [
    [fromEnv, (k: string, rest: readonly PropertyKey[]) => `${envName(k as ConfigKey)}${subPath(rest)}`],
    [sources.flags, flagNamer],
  ] as const) {
    const r = await checkLayer(layer, name);
    if ('layer' in r) layers.push(r.layer);
    else problems.push(...r.problems);
  }

  if (problems.length > 0) return { ok: false, problems };

  // --since and --from/--until are two ways to give the window: one or the other.
  const given = (key: ConfigKey): boolean => layers.some((l) => l[key] !== undefined && l[key] !== '');
  if (given('since') && (given('from') || given('until'))) {
    return { ok: false, problems: [`${flagName('since')}: cannot be combined with ${flagName('from')}/${flagName('until')}; give one window`] };
  }

  const merged = Object.assign({}, DEFAULTS, ...layers) as Record<string, unknown>;
  const quick = quickConfig(merged);
  if (quick !== undefined) return { ok: true, config: Object.freeze(quick) };
  const full = (await zodSchemas()).full.safeParse(merged);
  if (!full.success) return { ok: false, problems: describeIssues(full.error.issues, (k, rest) => `${k}${subPath(rest)}`) };
  return { ok: true, config: Object.freeze(full.data as Config) };
}

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}
