/**
 * docs/configuration.md documents every setting of agent/config.ts, and no other:
 * one row per config key with its flag, its environment variable and its default.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, DEFAULTS, ENV_CONFIG_FILE, envName, flagName, type ConfigKey } from '../../../agent/config.js';
import { NAT_FIELDS, NAT_FLAGS } from '../../../agent/core/natConfig.js';

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

/** Table rows whose first cell is a `key`: key → the row's cells. */
const rows = new Map(
  [...doc.matchAll(/^\| `([A-Za-z]+)` \|(.*)\|\s*$/gm)].map((m) => [m[1]!, m[2]!.split(' | ').map((c) => c.trim())] as const),
);

/** How the default reads in the table: `5000`, `/proc`, `false`, `''`, a list's items. */
function defaultTexts(key: ConfigKey): string[] {
  const value: unknown = DEFAULTS[key];
  if (Array.isArray(value)) return value.map((v) => `\`${String(v)}\``);
  if (value === '') return ["`''`"];
  return [`\`${String(value)}\``];
}

describe('docs/configuration.md', () => {
  it('has a row for every config key', () => {
    expect(CONFIG_KEYS.filter((key) => !rows.has(key))).toEqual([]);
  });

  it('documents no key the schema does not have', () => {
    expect([...rows.keys()].filter((key) => !(CONFIG_KEYS as string[]).includes(key))).toEqual([]);
  });

  it.each(CONFIG_KEYS)('%s: its flag, its environment variable and its default', (key) => {
    const [flag = '', env = '', def = ''] = rows.get(key) ?? [];
    expect(flag).toContain(`\`${flagName(key)}\``);
    expect(env).toContain(`\`${envName(key)}\``);
    for (const text of defaultTexts(key)) expect(def).toContain(text);
  });

  it('documents every field of a NAT, with its flag where the one-NAT case has one', () => {
    const natRows = new Map([...doc.matchAll(/^\| `nat\[\]\.([A-Za-z]+)` \|(.*)\|\s*$/gm)].map((m) => [m[1]!, m[2]!.split(' | ').map((c) => c.trim())] as const));
    expect([...natRows.keys()].sort()).toEqual([...NAT_FIELDS].sort());
    for (const [field, flag] of Object.entries(NAT_FLAGS)) expect(natRows.get(field)?.[0], field).toContain(`\`${flag}\``);
  });

  it('names the config file flag and its environment variable', () => {
    expect(doc).toContain('`--config FILE`');
    expect(doc).toContain(`\`${ENV_CONFIG_FILE}\``);
  });
});
