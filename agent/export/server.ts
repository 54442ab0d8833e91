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
  state: ServerState;
  logger: Logger;
  version: string;
}

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

  app.get('/metrics', async (_req, reply) => {
    // Registry.metrics() only serialises values set when the last sample landed.
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    if (deps.state.ready()) return reply.type('text/plain').send('ready\n');
    return reply.code(503).type('text/plain').send(`not ready: ${deps.state.notReadyReason()}\n`);
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LANDING(deps.version)));
  return app;
}
