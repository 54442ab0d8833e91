/**
 * The one catalogue of coded errors, as fastify's lib/errors.js keeps its own:
 * each code with its message templates, what to do about it, and whether it
 * stops the agent. docs/errors.md documents every code with the same words, and
 * a test holds the two together (test/unit/docs/errors.test.ts).
 *
 * A template names its parameters in braces (`{path}`). `agentError` and
 * `errorMessage` take exactly the parameters of the template they are given,
 * typed from the template itself, so a call that leaves one out, or names one the
 * template does not have, does not compile. A code may have more than one
 * template, one per way the error arises; each is named.
 */

export interface ErrorSpec {
  /**
   * true: the agent does not start (`agent run` exits 1, `agent diagnose` 3).
   * false: it arises while running; the daemon marks the source down or logs it
   * and goes on.
   */
  readonly fatal: boolean;
  /** What to do about it, in the words docs/errors.md uses. */
  readonly hint: string;
  /** The message templates, by name. */
  readonly messages: Readonly<Record<string, string>>;
}

export const ERROR_CODES = {
  AGENT_ERR_CONFIG_INVALID: {
    fatal: true,
    hint: 'fix the listed settings; every problem is listed at once, each naming its flag, environment variable or config-file key',
    messages: {
      invalid: '{count} configuration problem(s):\n{problems}',
    },
  },
  AGENT_ERR_CONFIG_FILE: {
    fatal: true,
    hint: 'check the path given with --config (or NGINX_PORT_AGENT_CONFIG) and that the file holds one JSON object',
    messages: {
      unreadable: 'cannot read config file {path}: {reason}',
      notJson: 'config file {path} is not valid JSON: {reason}',
    },
  },
  AGENT_ERR_PROC_UNREADABLE: {
    fatal: false,
    hint: 'check --proc-root and that procfs is mounted there; the message names the file',
    messages: {
      unreadable: '{path}: {reason}',
    },
  },
  AGENT_ERR_PROC_MALFORMED: {
    fatal: false,
    hint: 'check that --proc-root is a procfs; the message names the file and what is wrong with it',
    messages: {
      malformed: '{path}: {problem}',
    },
  },
  AGENT_ERR_COLLECTOR_FAILED: {
    fatal: false,
    hint: 'a defect in the agent: report it with the message; the other sources of the sample still stand',
    messages: {
      threw: 'the {collector} collector failed: {reason}',
    },
  },
  AGENT_ERR_SAMPLE_TIMEOUT: {
    fatal: false,
    hint: 'check that --proc-root is responsive; while a thread is stuck in a system call no new one is started',
    messages: {
      timedOut: 'socket sample took longer than {timeoutMs} ms and was abandoned; is {procRoot} responsive?',
      stillStuck: 'the previous sample of {procRoot} is still stuck; not starting another',
    },
  },
  AGENT_ERR_SAMPLER_FAILED: {
    fatal: false,
    hint: 'report it with the log line; the next sample starts a new thread',
    messages: {
      sampleFailed: 'sample failed in the sampler thread: {reason}',
      crashed: 'sampler thread crashed: {reason}',
      exited: 'sampler thread exited with code {exitCode}',
      busy: 'a sample is already running',
      closed: 'sampler closed',
    },
  },
  AGENT_ERR_LISTEN: {
    fatal: true,
    hint: 'is another process on that port? choose another address with --listen',
    messages: {
      listen: 'cannot listen on {address}: {reason}',
    },
  },
  AGENT_ERR_WEB_CONFIG: {
    fatal: true,
    hint: 'fix the file named by --web.config.file; the message lists every problem, each with its key',
    messages: {
      unreadable: 'cannot read the web config file {path}: {reason}',
      invalid: 'web config file {path}: {count} problem(s): {problems}',
    },
  },
  AGENT_ERR_WEB_TLS: {
    fatal: true,
    hint: 'fix the certificate, key or CA the message names (with its key, cert_file, …); restart to apply a renewed one',
    messages: {
      unreadable: 'tls_server_config.{key} {path}: {reason}',
      noCertificate: '{source}: contains no PEM certificate',
      badCertificate: '{source}: a certificate does not parse: {reason}',
      unusable: '{certSource} with {keySource}: {reason}',
    },
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The names of a code's message templates. */
export type MessageName<C extends ErrorCode> = keyof (typeof ERROR_CODES)[C]['messages'] & string;

type Template<C extends ErrorCode, M extends MessageName<C>> = (typeof ERROR_CODES)[C]['messages'][M] & string;

/** 'cannot listen on {address}: {reason}' → 'address' | 'reason'. */
export type TemplateParams<T extends string> = T extends `${string}{${infer P}}${infer Rest}` ? P | TemplateParams<Rest> : never;

/** The values a template takes: exactly its parameters. */
export type MessageParams<C extends ErrorCode, M extends MessageName<C>> = {
  readonly [P in TemplateParams<Template<C, M>>]: string | number;
};

/** A template without parameters takes no values; one with parameters needs every one of them. */
type ParamsArg<C extends ErrorCode, M extends MessageName<C>> =
  [TemplateParams<Template<C, M>>] extends [never] ? [params?: Record<string, never>] : [params: MessageParams<C, M>];

type Params = Readonly<Record<string, string | number>>;

const PARAM_RE = /\{(\w+)\}/g;

/** Fills a template in one pass: a value is inserted as it is, never read as a template. */
export function renderTemplate(template: string, params: Params): string {
  return template.replace(PARAM_RE, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/** The parameter names of a template, each once, in order of first use. */
export function templateParams(template: string): string[] {
  return [...new Set(Array.from(template.matchAll(PARAM_RE), (m) => m[1]!))];
}

function template(code: ErrorCode, name: string): string {
  const messages: Readonly<Record<string, string>> = ERROR_CODES[code].messages;
  return messages[name]!;
}

/** The message of a code's named template, without the code (a source's `detail`). */
export function errorMessage<C extends ErrorCode, M extends MessageName<C>>(code: C, name: M, ...params: ParamsArg<C, M>): string;
export function errorMessage(code: ErrorCode, name: string, params: Params = {}): string {
  return renderTemplate(template(code, name), params);
}

/** `CODE: message`, as describeError prints an AgentError: for a coded error reported as text, not thrown. */
export function codedMessage<C extends ErrorCode, M extends MessageName<C>>(code: C, name: M, ...params: ParamsArg<C, M>): string;
export function codedMessage(code: ErrorCode, name: string, params: Params = {}): string {
  return `${code}: ${renderTemplate(template(code, name), params)}`;
}

export interface AgentErrorOptions {
  cause?: unknown;
}

export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: AgentErrorOptions,
  ) {
    super(message, options);
  }
}

/** An AgentError with the message of the code's named template. */
export function agentError<C extends ErrorCode, M extends MessageName<C>>(
  code: C,
  name: M,
  ...args: [...ParamsArg<C, M>, options?: AgentErrorOptions]
): AgentError;
export function agentError(code: ErrorCode, name: string, params: Params = {}, options?: AgentErrorOptions): AgentError {
  return new AgentError(code, renderTemplate(template(code, name), params), options);
}

export function describeError(err: unknown): string {
  if (err instanceof AgentError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
