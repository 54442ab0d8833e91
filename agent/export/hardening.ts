/**
 * The HTTP server's defences, whatever routes it serves:
 *   - only registered routes answer (404 with a short text otherwise), GET and HEAD
 *     only (405), short plain-text errors without stack traces or versions;
 *   - TLS and basic authentication from the web config (webConfigReader.ts), with
 *     the client-certificate checks OpenSSL does not do by itself (clientCert.ts);
 *   - bounds: scrapes in flight, request/header/keep-alive timeouts, header size,
 *     body size, connections;
 *   - a warning at start-up when the port is reachable from other hosts with
 *     neither TLS nor authentication.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { BasicAuth } from './auth.js';
import { clientCertProblem } from './clientCert.js';
import type { WebSecurity } from './webConfigReader.js';
import type { Clock } from '../io/clock.js';

/**
 * /metrics (and /api/findings, /api/status, the status page) requests in flight beyond which the agent answers
 * 503. Prometheus scrapes a target one request at a time, so ten leaves room for
 * several Prometheus replicas and a few people with curl, while a runaway client
 * cannot make the agent build and hold dozens of bodies at once.
 */
export const MAX_SCRAPES_IN_FLIGHT = 10;
/** Routes counted against MAX_SCRAPES_IN_FLIGHT. The health endpoints and the page's static assets stay cheap and unbounded. */
export const BOUNDED_ROUTES: ReadonlySet<string> = new Set(['/metrics', '/api/findings', '/api/status', '/']);
/** A client has this long to send a whole request (headers included); slow senders cannot hold a connection. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** An idle socket is closed after this long. */
export const CONNECTION_TIMEOUT_MS = 60_000;
/** An idle keep-alive connection is kept this long: 15 s and 30 s scrape intervals reuse it, longer ones reconnect. */
export const KEEP_ALIVE_TIMEOUT_MS = 35_000;
/** A TLS handshake must finish within this long. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Request headers larger than this are refused (431); Prometheus sends well under 1 KiB. */
export const MAX_HEADER_BYTES = 8 * 1024;
/** GET and HEAD carry no body; anything larger than this is refused. */
export const BODY_LIMIT_BYTES = 1024;
/** Open connections; more are closed at once, so a flood cannot take the descriptors the agent reads /proc with. */
export const MAX_CONNECTIONS = 128;

const HTTP_OPTIONS = {
  maxHeaderSize: MAX_HEADER_BYTES,
  headersTimeout: REQUEST_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  // Node checks the two timeouts above on this interval (30 s by default).
  connectionsCheckingInterval: 1000,
};

/** Fastify constructor options: TLS (or plain HTTP) and the bounds above. */
export function hardenedServerOptions(web: WebSecurity | null | undefined) {
  const https: HttpsServerOptions | null = web?.https ? { ...web.https, ...HTTP_OPTIONS, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } : null;
  return {
    https,
    // Used by fastify for a plain HTTP server (https: null).
    http: HTTP_OPTIONS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    bodyLimit: BODY_LIMIT_BYTES,
    // No route takes parameters; a long path is a 404 anyway.
    routerOptions: { maxParamLength: 100 },
    return503OnClosing: true,
  };
}

/** A token bucket for rate_limit: `burst` requests at once, then one per interval. Time is a parameter. */
export class TokenBucket {
  private tokens: number;
  private atMs: number | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(nowMs: number): boolean {
    if (this.atMs !== null) this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.atMs) / this.intervalMs);
    this.atMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

/** The start-up warning when the server is reachable from other hosts with neither TLS nor authentication, else null. */
export function exposureWarning(addresses: readonly { address: string; port: number }[], web: WebSecurity | null | undefined): string | null {
  const protectedByConfig = web != null && (web.https !== null || web.config.users.size > 0);
  if (protectedByConfig) return null;
  const exposed = addresses.filter((a) => !isLoopback(a.address));
  if (exposed.length === 0) return null;
  const where = exposed.map((a) => (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)).join(', ');
  return `listening on ${where}, which is not a loopback address, with neither TLS nor authentication: anyone who can reach the port can read the metrics. Set --web.config.file (see "Securing the endpoint" in the README) or listen on 127.0.0.1`;
}

function plain(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(`${text}\n`);
}

/**
 * The server buildServer makes. Fastify types it as https whenever the `https`
 * option is present, null included; with null the server is a plain http.Server.
 */
type App = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, Logger>;

/** Installs the defences on a new server; call before adding routes. */
export function installHardening(app: App, web: WebSecurity | null | undefined, logger: Logger, clock: Clock): void {
  const log = logger.child({ component: 'http' });
  const headers = Object.entries(web?.config.headers ?? {});
  const auth = web != null && web.config.users.size > 0 ? new BasicAuth(web.config.users) : null;
  const rate = web?.config.rateLimit;
  const bucket = rate != null ? new TokenBucket(rate.intervalMs, rate.burst) : null;
  let inFlight = 0;

  app.server.maxConnections = MAX_CONNECTIONS;

  app.addHook('onRequest', async (req, reply) => {
    for (const [name, value] of headers) reply.header(name, value);
    if (bucket !== null && !bucket.take(clock.now())) return plain(reply, 429, 'too many requests');
    if (auth !== null) {
      const verdict = await auth.check(req.headers.authorization);
      if (verdict === 'busy') return plain(reply.header('retry-after', '1'), 503, 'busy verifying credentials, retry');
      if (verdict === 'denied') return plain(reply.header('www-authenticate', 'Basic realm="nginx-port-agent", charset="UTF-8"'), 401, 'unauthorized');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(reply.header('allow', 'GET, HEAD'), 405, 'method not allowed');
    if (BOUNDED_ROUTES.has(req.routeOptions.url ?? '')) {
      if (inFlight >= MAX_SCRAPES_IN_FLIGHT) return plain(reply.header('retry-after', '1'), 503, 'too many scrapes in flight, retry');
      inFlight++;
      // 'close' comes once the response is sent or the client went away, never twice.
      reply.raw.once('close', () => {
        inFlight--;
      });
    }
    return undefined;
  });

  app.setNotFoundHandler((_req, reply) => plain(reply, 404, 'not found'));
  app.setErrorHandler((err: { statusCode?: number }, req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err, method: req.method, url: req.url }, 'request failed');
    return plain(reply, status, (STATUS_CODES[status] ?? 'error').toLowerCase());
  });

  app.addHook('onListen', async () => {
    const addresses = (app.addresses() as unknown[]).filter((a): a is AddressInfo => typeof a === 'object' && a !== null);
    const warning = exposureWarning(addresses, web);
    if (warning !== null) log.warn(warning);
    return Promise.resolve();
  });

  const tls = web?.config.tls;
  if (web?.https != null && tls != null) {
    const server: TlsServer = app.server;
    server.on('secureConnection', (socket: TLSSocket) => {
      const cert = socket.getPeerCertificate();
      const presented = Object.keys(cert).length > 0;
      const problem = clientCertProblem(tls, {
        presented,
        authorized: socket.authorized,
        // Node sets it only when the certificate did not verify.
        authorizationError: socket.authorized ? null : String(socket.authorizationError),
        subjectAltName: presented ? (cert.subjectaltname ?? null) : null,
      });
      if (problem !== null) {
        log.debug({ remote: socket.remoteAddress }, `connection refused: ${problem}`);
        socket.destroy();
      }
    });
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      log.debug({ remote: socket.remoteAddress }, `TLS handshake failed: ${err.message}`);
    });
  }
}
