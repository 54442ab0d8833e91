import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as zod from 'zod';
import { buildSchemas, CONFIG_CATALOGUE, DEFAULTS, quickConfig, quickLayer, type ConfigKey } from '../../agent/config.js';
import * as nat from '../../agent/core/natConfig.js';

// The quick check may only ever accept, and only what zod accepts, as zod gives it:
// every problem is then still found and worded by zod.
const schemas = buildSchemas(zod, nat);
const KEYS = Object.keys(CONFIG_CATALOGUE) as ConfigKey[];

/** Values near each rule's edges, as a flag, a variable or a config file would give them. */
const value = fc.oneof(
  fc.constantFrom('', ' ', '0', '1', '-1', '1.5', '0.5', '99', '100', '60', '61', '2048', '3600000', '3600001', ' 12 ', '1e3', 'true', 'false', 'debug', 'loud'),
  fc.constantFrom('15m', '0s', '90d', '2026-11-01T10:00:00Z', '2026-11-01 10:00', 'UTC', '+02:00', 'Europe/Berlin', 'Nope/Zone', '1.22.1', '1.22', ':80', '[::1]:80', 'h:70000', 'a,b', ','),
  fc.constantFrom(0, 1, 0.5, 1.5, 100, 5000, -1, Number.NaN, Number.POSITIVE_INFINITY, true, false, null, undefined),
  fc.array(fc.constantFrom('', 'x', '/var/log/nginx/error.log', 1), { maxLength: 3 }),
  // NATs: none, one object, a list of them, and what the quick check must leave to zod.
  fc.constantFrom([], {}, [{}], { profile: 'aws-nat-gateway' }, [{ profile: 'gcp-cloud-nat', ports: 64 }], [{ profile: 'custom' }], '[]', [[]]),
  fc.string(),
);
const layer = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.constantFrom('colour', '__proto__')), value, { maxKeys: 4 });

describe('the quick config check', () => {
  it('accepts a layer only when zod accepts it, with the same values', () => {
    fc.assert(
      fc.property(layer, (l) => {
        const quick = quickLayer(l);
        if (quick === undefined) return;
        const r = schemas.layer.safeParse(l);
        expect(r.success).toBe(true);
        expect(quick).toEqual(r.data);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts a merged config only when zod accepts it, with the same values in the same order', () => {
    fc.assert(
      fc.property(layer, (l) => {
        const merged = { ...DEFAULTS, ...l };
        const quick = quickConfig(merged);
        if (quick === undefined) return;
        const r = schemas.full.safeParse(merged);
        expect(r.success).toBe(true);
        expect(Object.keys(quick)).toEqual(Object.keys(r.data ?? {}));
        expect(quick).toEqual(r.data);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts the defaults and the values people usually give', () => {
    expect(quickConfig({ ...DEFAULTS })).toEqual(DEFAULTS);
    expect(quickLayer({ procRoot: '/host/proc', sampleIntervalMs: '1000', errorLogs: ['/var/log/nginx/error.log'], errorLogBackfill: 'true' })).toEqual({
      procRoot: '/host/proc',
      sampleIntervalMs: 1000,
      errorLogs: ['/var/log/nginx/error.log'],
      errorLogBackfill: true,
    });
  });
});
