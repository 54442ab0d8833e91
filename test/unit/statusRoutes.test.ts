/** The status routes through fastify's inject: the page, its JSON and assets, with their policy. */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../agent/diagnosis/status.js';
import { loadStatusAssets } from '../../agent/export/assets.js';
import { buildServer, STATUS_CSP } from '../../agent/export/server.js';
import { systemClock } from '../../agent/io/clock.js';
import { diagnoseSample } from '../../agent/diagnosis/diagnosis.js';
import { ProcBuffer } from '../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../agent/sockets/sample.js';

const AT = Date.UTC(2026, 10, 21, 8, 44, 0);
const T = { warningHeadroomRatio: 0.2, criticalHeadroomRatio: 0.05 };
const sample = takeSocketSample({ procRoot: 'test/fixtures/real-tw-exhaustion/proc', endianness: 'LE', rateWindowSeconds: 60 }, new ProcBuffer(), AT);
const report = diagnoseSample({ sample, thresholds: T, top: 10, host: null, connectAttemptsPerSecond: null, generatedAtMs: AT, context: { cpuCount: 2, nowMs: AT, timeZone: 'UTC' } });
const VIEW: StatusView = { report, history: { intervalMs: 5000, capacity: 720, entries: [] }, thresholds: T, sampleIntervalMs: 5000, version: '0.0.0-test', agentSources: [] };

function server(view: StatusView | null) {
  return buildServer({
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    version: '0.0.0-test',
    state: { ready: () => view !== null, notReadyReason: () => 'no socket sample has completed yet' },
    status: () => view,
    assets: loadStatusAssets().assets,
  });
}

describe('the status routes', () => {
  it('/ is the page, with a strict Content-Security-Policy and no caching of an old incident', async () => {
    const res = await server(VIEW).inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(STATUS_CSP);
    expect(STATUS_CSP).not.toContain('unsafe');
    expect(STATUS_CSP).toMatch(/default-src 'none'; script-src 'self'; style-src 'self';/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toContain('upstream');
    expect(res.body).toContain('<main id="status" data-generated-at="2026-11-21T08:44:00.000Z" data-interval-ms="5000">');
  });

  it('/api/status is the view as JSON: the report diagnose --json prints, and the history', async () => {
    const res = await server(VIEW).inject({ url: '/api/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(VIEW)));
  });

  it('answers 503 before the first sample, on the page and in the JSON', async () => {
    const app = server(null);
    expect((await app.inject({ url: '/' })).statusCode).toBe(503);
    const json = await app.inject({ url: '/api/status' });
    expect(json.statusCode).toBe(503);
    expect(json.json()).toEqual({ status: 'UNKNOWN', reason: 'no socket sample has completed yet' });
  });

  it('serves the stylesheet with its type and the policy', async () => {
    const res = await server(VIEW).inject({ url: '/assets/status.css' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(STATUS_CSP);
  });
});
