/**
 * The HTTP face of the daemon: /metrics, /healthz, /readyz and a landing page.
 * Every handler answers from memory; none of them starts a sample.
 */
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface ServerState {
  /** True once the first sample has landed. */
  ready(): boolean;
  /** Why the agent is not ready, for /readyz. */
  notReadyReason(): string;
}

export interface ServerDeps {
  registry: Registry;
  /** Changes whenever a sample lands (or fails): a cached /metrics body is then stale. */
  generation?: () => number;
  state: ServerState;
  logger: Logger;
  version: string;
}

/** Longest a /metrics body is reused. */
export const METRICS_CACHE_MS = 1000;

const LANDING = (version: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>nginx-port-agent</title></head>
<body>
<h1>nginx-port-agent ${version}</h1>
<p>Per-destination ephemeral-port headroom for this network namespace.</p>
<ul>
<li><a href="/metrics">/metrics</a> — Prometheus metrics</li>
<li><a href="/healthz">/healthz</a> — the process is alive</li>
<li><a href="/readyz">/readyz</a> — the first sample has been taken</li>
</ul>
<p>For a one-shot report run <code>agent diagnose</code> in the same network namespace.</p>
</body></html>
`;

export function buildServer(deps: ServerDeps) {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    // Scrapes every few seconds would drown the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });

  // Registry.metrics() only serialises values set when the last sample landed, but
  // it builds a ~100 kB string per call and each reply copies it into a new buffer.
  // Scrapers that poll hard (or many Prometheus replicas) would make the main
  // thread's young generation grow for nothing, so the encoded body is reused until
  // the next sample lands, and for at most a second (error-log counters move on
  // their own).
  let cached: { body: Buffer; atMs: number; generation: number } | null = null;
  const generation = deps.generation ?? (() => 0);
  app.get('/metrics', async (_req, reply) => {
    const now = Date.now();
    const gen = generation();
    if (cached === null || cached.generation !== gen || now - cached.atMs >= METRICS_CACHE_MS) {
      cached = { body: Buffer.from(await deps.registry.metrics()), atMs: now, generation: gen };
    }
    return reply.type(deps.registry.contentType).send(cached.body);
  });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    if (deps.state.ready()) return reply.type('text/plain').send('ready\n');
    return reply.code(503).type('text/plain').send(`not ready: ${deps.state.notReadyReason()}\n`);
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LANDING(deps.version)));
  return app;
}
