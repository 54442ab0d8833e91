/**
 * The one catalogue of coded errors. Each code appears in README.md ("Error codes")
 * with what it means and what to do; messages say what to do too.
 */

export const ERROR_CODES = {
  AGENT_ERR_CONFIG_INVALID: 'The configuration (flags, environment or config file) has invalid values.',
  AGENT_ERR_CONFIG_FILE: 'The config file could not be read or is not valid JSON.',
  AGENT_ERR_PROC_UNREADABLE: 'A required file under --proc-root could not be read.',
  AGENT_ERR_PROC_MALFORMED: 'A required file under --proc-root is not in the format the kernel writes.',
  AGENT_ERR_COLLECTOR_FAILED: 'Reading a source failed unexpectedly; that source is reported down and the rest of the sample stands.',
  AGENT_ERR_SAMPLE_TIMEOUT: 'A sample took longer than sampleTimeoutMs and was abandoned.',
  AGENT_ERR_SAMPLER_FAILED: 'The background sampler stopped unexpectedly and was restarted.',
  AGENT_ERR_LISTEN: 'The HTTP server could not listen on the configured address.',
  AGENT_ERR_WEB_CONFIG: 'The web configuration file (--web.config.file) could not be read or has invalid settings.',
  AGENT_ERR_WEB_TLS: 'A certificate, key or CA named by the web configuration file could not be read or used.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function describeError(err: unknown): string {
  if (err instanceof AgentError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
