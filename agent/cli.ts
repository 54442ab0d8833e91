/**
 * argv → command. The only place that sets process.exitCode.
 *
 * Exit codes: `agent diagnose` follows the monitoring-plugin convention (0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN, including bad usage or configuration);
 * `agent run` exits 0 after a clean shutdown and 1 when it cannot start.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULTS, ENV_CONFIG_FILE, envName, flagName, resolveConfig, type Config, type ConfigKey, type ConfigSources } from './config.js';
import { NAT_FLAGS, type NatFlagField } from './core/natFlags.js';
import { NAT_PROFILES } from './core/natProfiles.js';
import { AgentError, codedMessage, describeError } from './errors.js';
import { systemClock } from './io/clock.js';
import { agentVersion } from './version.js';

const HELP: Record<ConfigKey, string> = {
  procRoot: 'procfs mount to read net/tcp, net/tcp6 and sys/net/ipv4 from',
  listen: 'address for the HTTP server (/metrics, /healthz, /readyz)',
  sampleIntervalMs: 'time between socket samples, in ms',
  sampleTimeoutMs: 'abandon a sample that takes longer than this, in ms',
  maxDestinations: 'export per-destination series for this many destinations, least headroom first',
  rateWindowSeconds: 'TIME_WAIT sockets younger than this count towards the connect rate, averaged over the span they cover (1-60 s)',
  warningHeadroomRatio: 'WARNING below this headroom ratio',
  criticalHeadroomRatio: 'CRITICAL below this headroom ratio (and always at 0 free ports)',
  logLevel: 'log level for JSON logs on stderr',
  reportTop: 'destinations listed in the report (diagnose, the status page), least headroom first',
  errorLogs: 'nginx error log to tail; repeatable, globs allowed in the file name; the default is used only if it exists',
  errorLogBackfill: 'read error logs present at start from their beginning (true/false)',
  maxLineBytes: 'discard (and count) error-log lines longer than this',
  since: 'read the error logs this far back (900s, 15m, 2h, 1d; any length: a file is bounded by its size); not with --from/--until',
  from: "read the error logs from this time on, for a post-mortem (ISO 8601: 2026-11-01T10:00:00Z, 2026-11-01T10:00+01:00, or a bare 2026-11-01 10:00 in the error log's time zone); not with --since",
  until: 'and up to this time (needs --from; default now)',
  errorLogReadThreads: 'threads that read 32 MiB or more of one error log in parts: diagnose\'s scan, the daemon\'s backfill (1: one thread; 0: the CPU count, at most 4)',
  errorLogTimezone: "the time zone nginx stamps its error log in, when it is not the agent's (a sidecar): an IANA name (Europe/Berlin), a fixed offset (+02:00, -0530) or UTC; '' is the agent's own",
  nginxConf: "nginx's main config file (includes are followed) or a saved `nginx -T` output; the default is used only if it exists, '' disables",
  nginxVersion: "nginx's version, e.g. 1.22.1; wins over every other source (--nginx-bin, the running master's executable, the error log's start-up line, the package database)",
  nginxBin: 'nginx binary to ask for its version (`nginx -v`, run without a shell; when it cannot run, its version string is read from the file); unset means never run it',
  nginxRoot: "root of nginx's file system whose package database (var/lib/dpkg/status) is the last resort for the version; '' skips it",
  nginxConfReloadMs: 'how often the daemon re-reads the nginx config and re-resolves its host names, in ms',
  dnsTimeoutMs: 'time limit for resolving an upstream host name, in ms',
  webConfigFile: 'web configuration file (TLS, basic auth) in the Prometheus exporter-toolkit format',
  nat: `the NAT in front of this host (docs/nat.md): ${NAT_PROFILES.join(', ')}`,
};

/** The one-NAT flags: help, and the attribute commander gives each value. */
const NAT_OPTIONS: Record<NatFlagField, { arg: string; help: string; attribute: string }> = {
  profile: { arg: '<profile>', help: HELP.nat, attribute: 'natProfile' },
  name: { arg: '<name>', help: "the NAT's name in metrics and the report (default: the profile); hosts behind one gateway share it", attribute: 'natName' },
  ports: {
    arg: '<n>',
    help: "the VM's NAT ports (gcp-cloud-nat, azure-lb-outbound, azure-app-service) or the per-destination limit per NAT IP (aws-nat-gateway, azure-nat-gateway, custom; required for custom); default: the profile's",
    attribute: 'natPorts',
  },
  ips: { arg: '<n>', help: 'NAT IP addresses (default 1)', attribute: 'natIps' },
  destinations: { arg: '<cidrs>', help: 'CIDR blocks reached through the NAT; repeatable or comma-separated (default: public, every address outside RFC 1918, 100.64/10, loopback, link-local and fc00::/7)', attribute: 'natDestinations' },
  timeWaitSeconds: { arg: '<s>', help: "how long the NAT holds a closed connection's port, in seconds (default: the profile's; unknown counts open connections only)", attribute: 'natTimeWaitSeconds' },
};

function addNatOptions(cmd: Command): void {
  for (const [field, o] of Object.entries(NAT_OPTIONS) as [NatFlagField, (typeof NAT_OPTIONS)[NatFlagField]][]) {
    const extra = field === 'profile' ? ` (default none; several NATs: the config file or env ${envName('nat')}, JSON)` : '';
    const option = new Option(`${NAT_FLAGS[field]} ${o.arg}`, o.help + extra);
    if (field === 'destinations') option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(option);
  }
}

/** The one NAT the flags describe, or undefined when no NAT flag was given. */
function natFromFlags(opts: Record<string, unknown>): unknown {
  const nat: Record<string, unknown> = {};
  for (const [field, o] of Object.entries(NAT_OPTIONS)) if (opts[o.attribute] !== undefined) nat[field] = opts[o.attribute];
  if (Object.keys(nat).length === 0) return undefined;
  if (Array.isArray(nat['destinations'])) nat['destinations'] = (nat['destinations'] as string[]).join(',');
  return [nat];
}

function addConfigOptions(cmd: Command, keys: readonly ConfigKey[]): Command {
  cmd.option('-c, --config <file>', `JSON config file (env ${ENV_CONFIG_FILE})`);
  for (const key of keys) {
    const help = `${HELP[key]} (default ${JSON.stringify(DEFAULTS[key])}, env ${envName(key)})`;
    if (key === 'nat') {
      addNatOptions(cmd);
    } else if (key === 'errorLogs') {
      cmd.addOption(
        new Option(`${flagName(key)} <path>`, help).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
      );
    } else if (key === 'errorLogBackfill') {
      cmd.addOption(new Option(flagName(key), help));
    } else {
      cmd.addOption(new Option(`${flagName(key)} <value>`, help));
    }
  }
  return cmd;
}

const RUN_KEYS: ConfigKey[] = [
  'procRoot',
  'listen',
  'sampleIntervalMs',
  'sampleTimeoutMs',
  'maxDestinations',
  'rateWindowSeconds',
  'warningHeadroomRatio',
  'criticalHeadroomRatio',
  'logLevel',
  'reportTop',
  'errorLogs',
  'errorLogBackfill',
  'errorLogTimezone',
  'errorLogReadThreads',
  'maxLineBytes',
  'nginxConf',
  'nginxVersion',
  'nginxBin',
  'nginxRoot',
  'nginxConfReloadMs',
  'dnsTimeoutMs',
  'webConfigFile',
  'nat',
];
/** diagnose's report formats (export/render/report.ts renders each). */
const FORMATS = ['text', 'json', 'html'] as const;

const DIAGNOSE_KEYS: ConfigKey[] = [
  'procRoot',
  'rateWindowSeconds',
  'warningHeadroomRatio',
  'criticalHeadroomRatio',
  'reportTop',
  'errorLogs',
  'errorLogTimezone',
  'errorLogReadThreads',
  'since',
  'from',
  'until',
  'nginxConf',
  'nginxVersion',
  'nginxBin',
  'nginxRoot',
  'dnsTimeoutMs',
  'nat',
];

export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
}

/** Reads the config file named by --config or the environment, then resolves every layer. */
export async function loadConfig(
  opts: Record<string, unknown>,
  keys: readonly ConfigKey[],
  env: Record<string, string | undefined>,
): Promise<{ ok: true; config: Config } | { ok: false; problems: string[] }> {
  const flags: Partial<Record<ConfigKey, unknown>> = {};
  // commander names an option's value after its flag: --error-log → errorLog.
  // --web.config.file keeps its dots: commander only camel-cases on dashes.
  const attribute = (key: ConfigKey): string => (key === 'errorLogs' ? 'errorLog' : key === 'webConfigFile' ? 'web.config.file' : key);
  for (const key of keys) {
    if (key === 'nat') {
      const nat = natFromFlags(opts);
      if (nat !== undefined) flags.nat = nat;
    } else if (opts[attribute(key)] !== undefined) {
      flags[key] = opts[attribute(key)];
    }
  }
  const sources: ConfigSources = { env, flags };
  const path = (opts['config'] as string | undefined) ?? env[ENV_CONFIG_FILE];
  if (path !== undefined && path !== '') {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? String(err);
      return { ok: false, problems: [codedMessage('AGENT_ERR_CONFIG_FILE', 'unreadable', { path, reason })] };
    }
    try {
      sources.file = { path, content: JSON.parse(text) as unknown };
    } catch (err) {
      const reason = (err as Error).message;
      return { ok: false, problems: [codedMessage('AGENT_ERR_CONFIG_FILE', 'notJson', { path, reason })] };
    }
  }
  return resolveConfig(sources);
}

function configProblems(io: CliIO, problems: string[]): void {
  const list = problems.map((p) => `  - ${p}`).join('\n');
  io.stderr(`${codedMessage('AGENT_ERR_CONFIG_INVALID', 'invalid', { count: problems.length, problems: list })}\n`);
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let exitCode = 0;
  // Usage errors map to the command's failure code: UNKNOWN (3) for diagnose, 1 otherwise.
  const usageExitCode = argv.slice(2)[0] === 'diagnose' ? 3 : 1;
  const program = new Command()
    .name('agent')
    .description('Ephemeral-port headroom per upstream destination for nginx hosts.')
    .version(agentVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');

  addConfigOptions(
    program.command('run').description('run the daemon: sample sockets every interval and serve Prometheus metrics'),
    RUN_KEYS,
  ).action(async (opts: Record<string, unknown>) => {
    const loaded = await loadConfig(opts, RUN_KEYS, io.env);
    if (!loaded.ok) {
      configProblems(io, loaded.problems);
      exitCode = 1;
      return;
    }
    // Loaded only for the command that needs them: `diagnose` starts no HTTP server, watcher or registry.
    const [{ createLogger }, { startDaemon }] = await Promise.all([import('./logger.js'), import('./commands/run.js')]);
    const logger = createLogger(loaded.config.logLevel);
    try {
      const daemon = await startDaemon(loaded.config, logger);
      await daemon.done;
    } catch (err) {
      logger.fatal({ err }, describeError(err));
      io.stderr(`${describeError(err)}\n`);
      exitCode = 1;
    }
  });

  const diag = program
    .command('diagnose')
    .description('take one sample now and report headroom, findings and fixes (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)')
    .addOption(new Option('--format <format>', 'print the report as text, JSON, or one static HTML page (default text)').choices(FORMATS))
    .option('--json', 'print the report as JSON (the same as --format json)')
    .option('--rate-interval-ms <ms>', 'measure connect attempts/s over this interval (0 skips)', '1000');
  addConfigOptions(diag, DIAGNOSE_KEYS).action(async (opts: Record<string, unknown>) => {
    const loaded = await loadConfig(opts, DIAGNOSE_KEYS, io.env);
    const rateIntervalMs = Number(opts['rateIntervalMs']);
    const problems = loaded.ok ? [] : [...loaded.problems];
    if (!Number.isInteger(rateIntervalMs) || rateIntervalMs < 0 || rateIntervalMs > 60_000) {
      problems.push(`--rate-interval-ms: must be an integer from 0 to 60000, got "${String(opts['rateIntervalMs'])}"`);
    }
    const format = (opts['format'] as (typeof FORMATS)[number] | undefined) ?? (opts['json'] === true ? 'json' : 'text');
    if (opts['json'] === true && format !== 'json') problems.push(`--json and --format ${format} ask for different formats: give one`);
    if (!loaded.ok || problems.length > 0) {
      configProblems(io, problems);
      exitCode = 3;
      return;
    }
    try {
      const { diagnose } = await import('./commands/diagnose.js');
      const result = await diagnose(loaded.config, { format, rateIntervalMs, hostFacts: true, clock: systemClock });
      io.stdout(result.output);
      exitCode = result.exitCode;
    } catch (err) {
      io.stderr(`NGINX-PORTS UNKNOWN - ${describeError(err)}\n`);
      exitCode = 3;
    }
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here with exitCode 0.
      return err.exitCode === 0 ? 0 : usageExitCode;
    }
    io.stderr(`${err instanceof AgentError ? describeError(err) : String(err)}\n`);
    return usageExitCode;
  }
  return exitCode;
}

export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
  });
}
