import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AgentMetrics, METRIC } from '../../agent/export/metrics.js';
import { buildServer } from '../../agent/export/server.js';
import { systemClock } from '../../agent/io/clock.js';
import { ProcBuffer } from '../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../agent/sockets/sample.js';
import { SOURCES, type SocketSample } from '../../agent/sockets/model/types.js';
import { readFileSync } from 'node:fs';
import { ErrorLogCounts } from '../../agent/errorlog/model/counts.js';
import { classifyLine } from '../../agent/errorlog/parse/classify.js';
import { registerErrorLogMetrics } from '../../agent/export/errorLogMetrics.js';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';
const AT = Date.UTC(2026, 10, 21, 8, 44, 0);

function fixtureSample(): SocketSample {
  const s = takeSocketSample({ procRoot: PROC, endianness: 'LE', rateWindowSeconds: 60 }, new ProcBuffer(), AT);
  s.durationMs = 12.5; // the only value that depends on the machine
  return s;
}

function setup(maxDestinations = 100) {
  const registry = new Registry();
  const metrics = new AgentMetrics(registry, { maxDestinations, defaultMetrics: false, version: '0.0.0-test' });
  // The captured error log, plus one garbage line, through the same path as the daemon.
  const counts = new ErrorLogCounts(maxDestinations);
  const lines = readFileSync('test/fixtures/real-tw-exhaustion/error.log', 'utf8').trimEnd().split('\n');
  for (const line of [...lines, 'not an nginx line']) {
    const r = classifyLine(line);
    if (r.ok) counts.add(r.event);
    else counts.addUnparsed();
  }
  registerErrorLogMetrics(registry, counts, () => ({ tooLong: 1, rotations: { rename: 2, copytruncate: 1, recreate: 0 } }), pino({ level: 'silent' }));
  metrics.reportSources(() => [{ source: 'error_log:/var/log/nginx/error.log', up: true }]);
  let ready = false;
  const app = buildServer({
    registry,
    generation: () => metrics.generation,
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    version: '0.0.0-test',
    state: { ready: () => ready, notReadyReason: () => 'no socket sample has completed yet' },
  });
  return {
    metrics,
    app,
    markReady: () => {
      ready = true;
    },
  };
}

const scrape = async (app: ReturnType<typeof setup>['app']): Promise<string> => {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body.replace(/nodejs="[^"]+"/, 'nodejs="X"');
};

describe('/metrics', () => {
  it('matches the golden file for the captured exhaustion', async () => {
    const { metrics, app } = setup();
    metrics.update({ sample: fixtureSample(), connectAttemptsPerSecond: 24_812.5 });
    await expect(await scrape(app)).toMatchFileSnapshot('../golden/metrics-real-tw-exhaustion.prom');
  });

  it('keeps only the worst maxDestinations destinations', async () => {
    const { metrics, app } = setup(1);
    metrics.update({ sample: fixtureSample(), connectAttemptsPerSecond: null });
    const body = await scrape(app);
    const lines = body.split('\n').filter((l) => l.startsWith(`${METRIC.headroom}{`));
    expect(lines).toEqual([`${METRIC.headroom}{source_ip="127.0.0.1",destination="127.0.0.2:9000"} 0`]);
    expect(body).toContain(`${METRIC.destinations} 2`);
  });

  it('breaks each exported destination down by kernel state, within the same maxDestinations bound', async () => {
    const { metrics, app } = setup(1);
    const s = fixtureSample();
    const [worst, second] = s.headroom!.destinations;
    s.headroom!.destinations = [{ ...worst!, states: { time_wait: 90, fin_wait1: 7, syn_sent: 3 } }, { ...second!, states: { close_wait: 2 } }];
    metrics.update({ sample: s, connectAttemptsPerSecond: null });
    const body = await scrape(app);
    expect(body.split('\n').filter((l) => l.startsWith(`${METRIC.destinationSockets}{`))).toEqual([
      `${METRIC.destinationSockets}{source_ip="127.0.0.1",destination="127.0.0.2:9000",state="time_wait"} 90`,
      `${METRIC.destinationSockets}{source_ip="127.0.0.1",destination="127.0.0.2:9000",state="fin_wait1"} 7`,
      `${METRIC.destinationSockets}{source_ip="127.0.0.1",destination="127.0.0.2:9000",state="syn_sent"} 3`,
    ]);
    // A state whose sockets are gone loses its series.
    s.headroom!.destinations = [{ ...worst!, states: { time_wait: 100 } }];
    metrics.update({ sample: s, connectAttemptsPerSecond: null });
    expect((await scrape(app)).split('\n').filter((l) => l.startsWith(`${METRIC.destinationSockets}{`))).toEqual([
      `${METRIC.destinationSockets}{source_ip="127.0.0.1",destination="127.0.0.2:9000",state="time_wait"} 100`,
    ]);
  });

  it('drops series of destinations that went away', async () => {
    const { metrics, app } = setup();
    metrics.update({ sample: fixtureSample(), connectAttemptsPerSecond: null });
    const empty = fixtureSample();
    empty.headroom!.destinations = [];
    empty.headroom!.headroomRatioMin = 1;
    metrics.update({ sample: empty, connectAttemptsPerSecond: null });
    const body = await scrape(app);
    expect(body).not.toContain(`${METRIC.headroom}{`);
    expect(body).toContain(`${METRIC.headroomRatioMin} 1`);
  });

  it('a failed sample keeps the last values, marks sources down and still answers 200', async () => {
    const { metrics, app } = setup();
    metrics.update({ sample: fixtureSample(), connectAttemptsPerSecond: null });
    metrics.sampleFailed('timeout', SOURCES);
    const body = await scrape(app);
    expect(body).toContain(`${METRIC.sourceUp}{source="tcp"} 0`);
    expect(body).toContain(`${METRIC.samples}{result="timeout"} 1`);
    expect(body).toContain(`${METRIC.headroom}{source_ip="127.0.0.1",destination="127.0.0.2:9000"} 0`);
    // conntrack is not in the fixture: still absent, not "down".
    expect(body).not.toContain(`${METRIC.sourceUp}{source="conntrack"}`);
  });

  it('a sample with a failed source exports source_up 0 for it and omits unavailable ones', async () => {
    const { metrics, app } = setup();
    const s = fixtureSample();
    s.sources = s.sources.map((x) => (x.source === 'snmp' ? { source: 'snmp', state: 'error', detail: 'x' } : x));
    metrics.update({ sample: s, connectAttemptsPerSecond: null });
    const body = await scrape(app);
    expect(body).toContain(`${METRIC.sourceUp}{source="snmp"} 0`);
    expect(body).toContain(`${METRIC.sourceUp}{source="tcp"} 1`);
    expect(body).not.toContain(`${METRIC.sourceUp}{source="conntrack"}`);
  });
});

describe('/metrics body reuse', () => {
  it('serves the same body until a sample lands, then the new values', async () => {
    const { metrics, app } = setup();
    const s = fixtureSample();
    metrics.update({ sample: s, connectAttemptsPerSecond: 1 });
    const a = await scrape(app);
    expect(await scrape(app)).toBe(a);
    const emptied = fixtureSample();
    emptied.headroom!.destinations = [];
    metrics.update({ sample: emptied, connectAttemptsPerSecond: 1 });
    const b = await scrape(app);
    expect(b).not.toBe(a);
    expect(b).not.toContain('nginx_port_destination_headroom{');
  });
});

describe('health endpoints', () => {
  it('/readyz is 503 before the first sample and 200 after; /healthz always 200', async () => {
    const { app, markReady } = setup();
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const before = await app.inject({ url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.body).toMatch(/no socket sample/);
    markReady();
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });
  it('/ links the endpoints', async () => {
    const { app } = setup();
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    for (const p of ['/metrics', '/healthz', '/readyz']) expect(res.body).toContain(`href="${p}"`);
  });
});
