/**
 * The HTTP face of the daemon: /metrics, /healthz, /readyz and a landing page.
 * Every handler answers from memory; none of them starts a sample.
 */
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../io/clock.js';
import { hardenedServerOptions, installHardening } from './hardening.js';
import type { WebSecurity } from './webConfigReader.js';

export interface ServerState {
  /** True once the first sample has landed. */
  ready(): boolean;
  /** Why the agent is not ready, for /readyz. */
  notReadyReason(): string;
}

/** What /api/findings answers: the findings of the last sample. */
export interface FindingsView {
  generatedAt: string;
  status: string;
  findings: readonly unknown[];
}

export interface ServerDeps {
  registry: Registry;
  /** The current findings, or null before the first sample. */
  findings?: () => FindingsView | null;
  /** Changes whenever a sample lands (or fails): a cached /metrics body is then stale. */
  generation?: () => number;
  state: ServerState;
  logger: Logger;
  /** For the /metrics cache and the rate limit. */
  clock: Clock;
  version: string;
  /** TLS and basic auth from --web.config.file; null or absent: plain HTTP, no authentication. */
  web?: WebSecurity | null;
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
<li><a href="/api/findings">/api/findings</a> — current findings with evidence and fixes (JSON)</li>
</ul>
<p>For a one-shot report run <code>agent diagnose</code> in the same network namespace.</p>
</body></html>
`;

export function buildServer(deps: ServerDeps) {
  const app = Fastify({
    ...hardenedServerOptions(deps.web),
    loggerInstance: deps.logger.child({ component: 'http' }),
    // Scrapes every few seconds would drown the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Before any route: authentication, methods, bounds, 404 and error replies (hardening.ts).
  installHardening(app, deps.web, deps.logger, deps.clock);

  // Registry.metrics() only serialises values set when the last sample landed, but
  // it builds a ~100 kB string per call and each reply copies it into a new buffer.
  // Scrapers that poll hard (or many Prometheus replicas) would make the main
  // thread's young generation grow for nothing, so the encoded body is reused until
  // the next sample lands, and for at most a second (error-log counters move on
  // their own).
  let cached: { body: Buffer; atMs: number; generation: number } | null = null;
  const generation = deps.generation ?? (() => 0);
  app.get('/metrics', async (_req, reply) => {
    const now = deps.clock.now();
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
  app.get('/api/findings', async (_req, reply) => {
    const view = deps.findings?.() ?? null;
    if (view === null) return reply.code(503).send({ status: 'UNKNOWN', reason: deps.state.notReadyReason(), findings: [] });
    return reply.send(view);
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LANDING(deps.version)));
  return app;
}
