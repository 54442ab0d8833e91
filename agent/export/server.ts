/**
 * The HTTP face of the daemon: /metrics, /healthz, /readyz, the findings and
 * status as JSON, and the status page at / with its stylesheet and script.
 * Every handler answers from memory; none of them starts a sample.
 */
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { StatusView } from '../diagnosis/status.js';
import type { Clock } from '../io/clock.js';
import type { Assets } from './assets.js';
import { hardenedServerOptions, installHardening } from './hardening.js';
import { esc as escapeHtml } from './render/html/escape.js';
import { renderStatusPage } from './render/html/page.js';
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
  /** The last sample's report and the history behind it, or null before the first sample. */
  status?: () => StatusView | null;
  /** The status page's stylesheet and script, by URL path (assets.ts). */
  assets?: Assets;
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

/**
 * The status page's policy: everything from the agent's own origin, nothing
 * inline (the stylesheet and the script are files under /assets/), no frames,
 * no forms, no plugins.
 */
export const STATUS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Headers of the status page, its assets and its JSON. */
const PAGE_HEADERS = {
  'content-security-policy': STATUS_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Each answer is the state now: a browser revalidates rather than showing an old incident.
  'cache-control': 'no-cache',
} as const;

/** Before the first sample: what the page says while there is nothing to show yet. */
const WAITING = (version: string, reason: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>UNKNOWN · nginx ports</title><link rel="icon" href="assets/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="assets/status.css"></head>
<body><header><h1>nginx-port-agent <span class="muted">${version}</span></h1></header>
<main id="status"><section class="verdict level-unknown"><p class="headline"><span class="badge level-unknown">UNKNOWN</span> Not ready: ${reason}. Reload in a few seconds.</p></section></main>
<footer><nav><a href="metrics">/metrics</a> <a href="api/status">/api/status</a> <a href="api/findings">/api/findings</a> <a href="healthz">/healthz</a> <a href="readyz">/readyz</a></nav></footer>
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
  app.get('/api/status', async (_req, reply) => {
    const view = deps.status?.() ?? null;
    reply.headers(PAGE_HEADERS);
    if (view === null) return reply.code(503).send({ status: 'UNKNOWN', reason: deps.state.notReadyReason() });
    return reply.send(view);
  });
  app.get('/', async (_req, reply) => {
    const view = deps.status?.() ?? null;
    reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8');
    if (view === null) return reply.code(503).header('retry-after', '5').send(WAITING(escapeHtml(deps.version), escapeHtml(deps.state.notReadyReason())));
    return reply.send(renderStatusPage(view, { mode: 'live' }));
  });
  for (const [path, asset] of deps.assets ?? []) {
    app.get(path, async (_req, reply) => reply.headers(PAGE_HEADERS).type(asset.type).send(asset.body));
  }
  return app;
}
