import { describe, expect, it } from 'vitest';
import { DEFAULTS, envName, flagName, parseListen, resolveConfig } from '../../agent/config.js';

describe('resolveConfig', () => {
  it('gives the frozen defaults when nothing is set', async () => {
    const r = await resolveConfig({ env: {}, flags: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toEqual(DEFAULTS);
    expect(Object.isFrozen(r.config)).toBe(true);
  });

  it('layers file < environment < flags', async () => {
    const r = await resolveConfig({
      file: { path: 'agent.json', content: { sampleIntervalMs: 1000, maxDestinations: 7, listen: ':1' } },
      env: { NGINX_PORT_AGENT_SAMPLE_INTERVAL_MS: '2000', NGINX_PORT_AGENT_LISTEN: '127.0.0.1:2', HOME: '/root' },
      flags: { sampleIntervalMs: '3000' },
    });
    expect(r).toMatchObject({ ok: true, config: { sampleIntervalMs: 3000, maxDestinations: 7, listen: '127.0.0.1:2' } });
  });

  it('reports every problem at once, each naming where it came from', async () => {
    const r = await resolveConfig({
      file: { path: 'agent.json', content: { sampleIntervalMs: 'often', colour: 'blue' } },
      env: { NGINX_PORT_AGENT_MAX_DESTINATION: '5', NGINX_PORT_AGENT_LOG_LEVEL: 'chatty' },
      flags: { warningHeadroomRatio: '1.5', listen: 'nowhere' },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(text).toMatch(/config file agent\.json: sampleIntervalMs/);
    expect(text).toMatch(/config file agent\.json: colour: unknown setting/);
    expect(text).toMatch(/NGINX_PORT_AGENT_MAX_DESTINATION: unknown environment variable/);
    expect(text).toMatch(/NGINX_PORT_AGENT_LOG_LEVEL/);
    expect(text).toMatch(/--warning-headroom-ratio/);
    expect(text).toMatch(/--listen: must be host:port/);
    expect(r.problems).toHaveLength(6);
  });

  it('checks settings against each other', async () => {
    const r = await resolveConfig({ env: {}, flags: { warningHeadroomRatio: '0.1', criticalHeadroomRatio: '0.3' } });
    expect(r).toEqual({ ok: false, problems: ['criticalHeadroomRatio: must not be above warningHeadroomRatio (0.1)'] });
  });

  it('rejects a config file that is not an object', async () => {
    expect(await resolveConfig({ file: { path: 'a.json', content: [1] }, env: {}, flags: {} })).toEqual({
      ok: false,
      problems: ['config file a.json: must be a JSON object'],
    });
  });

  it.each([
    ['0.0.0.0:9842', { host: '0.0.0.0', port: 9842 }],
    [':9842', { host: '0.0.0.0', port: 9842 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
  ])('parses listen %s', async (text, expected) => {
    expect((await resolveConfig({ env: {}, flags: { listen: text } })).ok).toBe(true);
    expect(parseListen(text)).toEqual(expected);
  });

  it('names flags and environment variables from the keys', () => {
    expect(flagName('sampleIntervalMs')).toBe('--sample-interval-ms');
    expect(envName('procRoot')).toBe('NGINX_PORT_AGENT_PROC_ROOT');
  });
});
