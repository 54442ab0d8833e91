/**
 * The error catalogue: every template renders with the parameters it names, the
 * rendered wording is the one the CLI, the logs and the tests have always shown,
 * and a call that leaves a parameter out does not compile (checked by
 * `npm run typecheck`, which covers this file: each `@ts-expect-error` below must
 * meet an error).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  agentError,
  AgentError,
  codedMessage,
  describeError,
  ERROR_CODES,
  errorMessage,
  renderTemplate,
  templateParams,
  type ErrorCode,
  type MessageParams,
  type TemplateParams,
} from '../../agent/errors.js';
import { codeOnly } from '../support/sourceText.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const TEMPLATES = (Object.keys(ERROR_CODES) as ErrorCode[]).flatMap((code) =>
  Object.entries(ERROR_CODES[code].messages as Readonly<Record<string, string>>).map(([name, template]) => ({ code, name, template })),
);

describe('the error catalogue', () => {
  it('gives every code a hint and at least one message template', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^AGENT_ERR_[A-Z_]+$/);
      expect(spec.hint.length, code).toBeGreaterThan(10);
      expect(Object.keys(spec.messages).length, code).toBeGreaterThan(0);
    }
  });

  it.each(TEMPLATES.map((t) => [`${t.code}.${t.name}`, t] as const))('%s renders with every parameter it names filled in', (_, t) => {
    const params = Object.fromEntries(templateParams(t.template).map((p) => [p, `<${p}>`]));
    const text = renderTemplate(t.template, params);
    expect(text).not.toMatch(/\{\w+\}/);
    for (const p of templateParams(t.template)) expect(text).toContain(`<${p}>`);
  });
});

describe('renderTemplate', () => {
  it('inserts values as they are, without reading them as templates or replacement patterns', () => {
    expect(renderTemplate('{a} and {b}', { a: '{b}', b: "$& $' $1" })).toBe("{b} and $& $' $1");
  });

  it('renders numbers and repeats a parameter wherever it is named', () => {
    expect(renderTemplate('{n} of {n}', { n: 3 })).toBe('3 of 3');
  });

  it('lists a template’s parameters once each, in order', () => {
    expect(templateParams('{b} {a} {b}')).toEqual(['b', 'a']);
    expect(templateParams('no parameters')).toEqual([]);
  });
});

describe('messages keep the wording the CLI, the logs and the tests show', () => {
  it.each([
    [codedMessage('AGENT_ERR_CONFIG_INVALID', 'invalid', { count: 2, problems: '  - a\n  - b' }), 'AGENT_ERR_CONFIG_INVALID: 2 configuration problem(s):\n  - a\n  - b'],
    [codedMessage('AGENT_ERR_CONFIG_FILE', 'unreadable', { path: '/x.json', reason: 'ENOENT' }), 'AGENT_ERR_CONFIG_FILE: cannot read config file /x.json: ENOENT'],
    [codedMessage('AGENT_ERR_CONFIG_FILE', 'notJson', { path: '/x.json', reason: 'Unexpected token' }), 'AGENT_ERR_CONFIG_FILE: config file /x.json is not valid JSON: Unexpected token'],
    [errorMessage('AGENT_ERR_PROC_UNREADABLE', 'unreadable', { path: '/proc/net/tcp', reason: 'permission denied' }), '/proc/net/tcp: permission denied'],
    [errorMessage('AGENT_ERR_PROC_MALFORMED', 'malformed', { path: '/proc/net/tcp', problem: "empty, not the kernel's format" }), "/proc/net/tcp: empty, not the kernel's format"],
    [errorMessage('AGENT_ERR_SAMPLE_TIMEOUT', 'timedOut', { timeoutMs: 100, procRoot: '/proc' }), 'socket sample took longer than 100 ms and was abandoned; is /proc responsive?'],
    [errorMessage('AGENT_ERR_SAMPLE_TIMEOUT', 'stillStuck', { procRoot: '/proc' }), 'the previous sample of /proc is still stuck; not starting another'],
    [errorMessage('AGENT_ERR_SAMPLER_FAILED', 'sampleFailed', { reason: 'boom' }), 'sample failed in the sampler thread: boom'],
    [errorMessage('AGENT_ERR_SAMPLER_FAILED', 'crashed', { reason: 'boom' }), 'sampler thread crashed: boom'],
    [errorMessage('AGENT_ERR_SAMPLER_FAILED', 'exited', { exitCode: 1 }), 'sampler thread exited with code 1'],
    [errorMessage('AGENT_ERR_SAMPLER_FAILED', 'busy'), 'a sample is already running'],
    [errorMessage('AGENT_ERR_SAMPLER_FAILED', 'closed'), 'sampler closed'],
    [errorMessage('AGENT_ERR_LISTEN', 'listen', { address: '0.0.0.0:9842', reason: 'listen EADDRINUSE' }), 'cannot listen on 0.0.0.0:9842: listen EADDRINUSE'],
    [errorMessage('AGENT_ERR_WEB_CONFIG', 'unreadable', { path: '/w.yml', reason: 'does not exist' }), 'cannot read the web config file /w.yml: does not exist'],
    [errorMessage('AGENT_ERR_WEB_CONFIG', 'invalid', { path: '/w.yml', count: 1, problems: 'unknown key "x"' }), 'web config file /w.yml: 1 problem(s): unknown key "x"'],
    [errorMessage('AGENT_ERR_WEB_TLS', 'unreadable', { key: 'cert_file', path: '/c.crt', reason: 'does not exist' }), 'tls_server_config.cert_file /c.crt: does not exist'],
    [errorMessage('AGENT_ERR_WEB_TLS', 'noCertificate', { source: 'tls_server_config.client_ca_file /ca.crt' }), 'tls_server_config.client_ca_file /ca.crt: contains no PEM certificate'],
    [errorMessage('AGENT_ERR_WEB_TLS', 'badCertificate', { source: 'tls_server_config.cert', reason: 'bad' }), 'tls_server_config.cert: a certificate does not parse: bad'],
    [errorMessage('AGENT_ERR_WEB_TLS', 'unusable', { certSource: 'tls_server_config.cert_file /a', keySource: 'tls_server_config.key_file /b', reason: 'key values mismatch' }), 'tls_server_config.cert_file /a with tls_server_config.key_file /b: key values mismatch'],
  ])('%j', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('agentError carries the code, the rendered message and the cause; describeError puts the code first', () => {
    const cause = new Error('listen EADDRINUSE');
    const err = agentError('AGENT_ERR_LISTEN', 'listen', { address: ':9842', reason: cause.message }, { cause });
    expect(err).toBeInstanceOf(AgentError);
    expect(err.code).toBe('AGENT_ERR_LISTEN');
    expect(err.cause).toBe(cause);
    expect(describeError(err)).toBe('AGENT_ERR_LISTEN: cannot listen on :9842: listen EADDRINUSE');
  });
});

describe('template parameters at the call sites (type-level)', () => {
  it('derives the parameter type from the template', () => {
    expectTypeOf<TemplateParams<'cannot listen on {address}: {reason}'>>().toEqualTypeOf<'address' | 'reason'>();
    expectTypeOf<TemplateParams<'sampler closed'>>().toEqualTypeOf<never>();
    expectTypeOf<MessageParams<'AGENT_ERR_WEB_TLS', 'unusable'>>().toEqualTypeOf<{
      readonly certSource: string | number;
      readonly keySource: string | number;
      readonly reason: string | number;
    }>();
  });

  it('refuses a call that leaves a parameter out, names an unknown one, or names a template the code does not have', () => {
    const calls = [
      // @ts-expect-error reason is missing
      () => agentError('AGENT_ERR_LISTEN', 'listen', { address: ':1' }),
      // @ts-expect-error the template has no {port}
      () => errorMessage('AGENT_ERR_LISTEN', 'listen', { address: ':1', reason: 'x', port: 1 }),
      // @ts-expect-error the parameters are required
      () => codedMessage('AGENT_ERR_CONFIG_FILE', 'unreadable'),
      // @ts-expect-error AGENT_ERR_LISTEN has no template named crashed
      () => agentError('AGENT_ERR_LISTEN', 'crashed', { reason: 'x' }),
      // @ts-expect-error no such code
      () => errorMessage('AGENT_ERR_NOPE', 'x'),
    ];
    expect(calls).toHaveLength(5);
  });
});

describe('every coded error in agent/ comes from the catalogue', () => {
  const files = readdirSync(join(ROOT, 'agent'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(ROOT, 'agent', f));

  it('finds the agent source, so the scan below is not vacuous', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('constructs AgentError only in agent/errors.ts, and writes no "AGENT_ERR_…:" prefix by hand', () => {
    const offenders: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      if (rel === join('agent', 'errors.ts')) continue;
      const code = codeOnly(readFileSync(file, 'utf8'));
      if (/new\s+AgentError\s*\(/.test(code)) offenders.push(`${rel}: new AgentError(…)`);
      if (/AGENT_ERR_[A-Z_]+: /.test(code)) offenders.push(`${rel}: a hand-written "AGENT_ERR_…: " message`);
    }
    expect(offenders).toEqual([]);
  });
});
