import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { STATUS_SCRIPT_MODULES, type Assets } from '../../agent/export/assets.js';
import { exposureWarning, MAX_SCRAPES_IN_FLIGHT, TokenBucket } from '../../agent/export/hardening.js';
import { buildServer, type ServerDeps } from '../../agent/export/server.js';
import { systemClock } from '../../agent/io/clock.js';
import type { WebConfig } from '../../agent/export/webConfig.js';
import type { WebSecurity } from '../../agent/export/webConfigReader.js';
import { basic, request } from '../support/httpClient.js';

/** The routes docs/metrics.md documents ("HTTP endpoints"); nothing else may answer. */
const DOCUMENTED_ROUTES = [
  '/',
  '/metrics',
  '/healthz',
  '/readyz',
  '/api/findings',
  '/api/status',
  '/assets/status.css',
  '/assets/favicon.svg',
  ...STATUS_SCRIPT_MODULES.map((m) => `/assets/${m}`),
];

/** The status page's assets as the daemon loads them from dist/, stood in for: the routes are the same. */
const ASSETS: Assets = new Map(DOCUMENTED_ROUTES.filter((p) => p.startsWith('/assets/')).map((p) => [p, { type: 'text/plain', body: Buffer.from(p) }]));

const HASH = bcrypt.hashSync('s3cret', 4);

function web(config: Partial<WebConfig>): WebSecurity {
  return { path: 'web.yml', https: null, config: { tls: null, headers: {}, users: new Map(), rateLimit: null, ...config } };
}

function server(extra: Partial<ServerDeps> = {}) {
  return buildServer({
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    version: '0.0.0-test',
    state: { ready: () => true, notReadyReason: () => '' },
    assets: ASSETS,
    ...extra,
  });
}

/** Full paths from fastify's printRoutes tree, e.g. "└── /" + "    ├── metrics (GET, HEAD)". */
function routePaths(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    stack.length = m[1]!.length / 4;
    stack.push(m[2]!);
    if (m[3] !== undefined) out.push(stack.join(''));
  }
  return out;
}

let closeAfter: (() => Promise<unknown>) | null = null;
afterEach(async () => {
  await closeAfter?.();
  closeAfter = null;
});

describe('routes and methods', () => {
  it('registers only documented routes, each for GET and HEAD only', async () => {
    const app = server();
    await app.ready();
    const tree = app.printRoutes({ commonPrefix: false });
    const paths = routePaths(tree);
    expect(paths.length).toBeGreaterThanOrEqual(4);
    for (const p of paths) expect(DOCUMENTED_ROUTES).toContain(p);
    expect(paths.toSorted()).toEqual(DOCUMENTED_ROUTES.toSorted());
    for (const line of tree.split('\n').filter((l) => l.includes('('))) expect(line).toMatch(/\(GET, HEAD\)$/);
  });

  it.each(['/nope', '/metrics/', '/METRICS', '/metrics.json', '//metrics', '/debug/pprof', '/.env', '/api', '/api/findings/x', '/assets/', '/assets/../package.json', '/assets/web/statusClient.js.map', '/assets/render/report.js', '/assets/web/../../main.js'])(
    'answers 404 with a short text for %s',
    async (url) => {
      const res = await server().inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.body).toBe('not found\n');
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    },
  );

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const)('answers 405 to %s, known route or not', async (method) => {
    const app = server();
    for (const url of ['/metrics', '/healthz', '/nope']) {
      const res = await app.inject({ method, url, ...(method === 'POST' ? { payload: 'x=1' } : {}) });
      expect(res.statusCode).toBe(405);
      expect(res.headers['allow']).toBe('GET, HEAD');
      expect(res.body).toBe('method not allowed\n');
    }
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await server().inject({ method: 'HEAD', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });

  it('discloses no server software or version, and no stack trace or message on an internal error', async () => {
    const app = server();
    app.get('/boom', () => {
      throw new Error('secret internal detail at /srv/agent/x.js:1');
    });
    const res = await app.inject({ url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.body).toBe('internal server error\n');
    for (const r of [res, await app.inject({ url: '/metrics' }), await app.inject({ url: '/nope' })]) {
      expect(r.headers['server']).toBeUndefined();
      expect(r.headers['x-powered-by']).toBeUndefined();
      expect(r.body).not.toMatch(/fastify|node\.js|secret internal/i);
    }
  });
});

describe('basic authentication', () => {
  const users = new Map([['prometheus', HASH]]);

  it('answers 401 with WWW-Authenticate: Basic without the right credentials, on every path', async () => {
    const app = server({ web: web({ users }) });
    for (const authorization of [undefined, basic('prometheus', 'wrong'), basic('someone', 's3cret'), 'Bearer s3cret']) {
      for (const url of ['/metrics', '/healthz', '/', '/api/status', '/assets/status.css', '/assets/web/statusClient.js', '/nope']) {
        const res = await app.inject({ url, headers: authorization === undefined ? {} : { authorization } });
        expect(res.statusCode, `${url} ${String(authorization)}`).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="nginx-port-agent"/);
        expect(res.body).toBe('unauthorized\n');
      }
    }
  });

  it('serves the routes with the right credentials; 404 and 405 come after authentication', async () => {
    const app = server({ web: web({ users }) });
    const authorization = basic('prometheus', 's3cret');
    expect((await app.inject({ url: '/metrics', headers: { authorization } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/nope', headers: { authorization } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/metrics', headers: { authorization } })).statusCode).toBe(405);
    expect((await app.inject({ method: 'POST', url: '/metrics' })).statusCode).toBe(401);
  });

  it('sets the configured headers on every answer, refusals included', async () => {
    const app = server({ web: web({ users, headers: { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=60' } }) });
    for (const res of [await app.inject({ url: '/metrics' }), await app.inject({ url: '/metrics', headers: { authorization: basic('prometheus', 's3cret') } })]) {
      expect(res.headers['x-frame-options']).toBe('deny');
      expect(res.headers['strict-transport-security']).toBe('max-age=60');
    }
  });
});

describe('rate limit', () => {
  it('answers 429 beyond the burst', async () => {
    const app = server({ web: web({ rateLimit: { intervalMs: 60_000, burst: 2 } }) });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await app.inject({ url: '/healthz' })).statusCode);
    expect(codes).toEqual([200, 200, 429, 429]);
  });

  it('TokenBucket refills one token per interval up to the burst', () => {
    const b = new TokenBucket(1000, 2);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([true, true, false]);
    expect(b.take(999)).toBe(false);
    expect(b.take(2000)).toBe(true); // two intervals since 0: full again, one taken
    expect(b.take(100_000)).toBe(true);
    expect(b.take(100_000)).toBe(true);
    expect(b.take(100_000)).toBe(false);
  });
});

describe('concurrent scrapes', () => {
  it(`answers 503 beyond ${MAX_SCRAPES_IN_FLIGHT} /metrics requests in flight, and frees a slot when a request ends or its client goes away`, async () => {
    // A registry whose metrics() waits until released: scrapes stay in flight.
    let release: () => void = () => undefined;
    let gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const registry = new Registry();
    registry.metrics = async () => {
      calls++;
      await gate;
      return 'm 1\n';
    };
    let generation = 0;
    const app = server({ registry, generation: () => ++generation }); // a new generation each time: no cached body
    await app.listen({ host: '127.0.0.1', port: 0 });
    closeAfter = () => app.close();
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    const held = Array.from({ length: MAX_SCRAPES_IN_FLIGHT }, () => request(`${base}/metrics`));
    await expect.poll(() => calls).toBe(MAX_SCRAPES_IN_FLIGHT);
    const over = await Promise.all(Array.from({ length: 5 }, () => request(`${base}/metrics`)));
    expect(over.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    expect(over[0]!.headers['retry-after']).toBe('1');
    expect(over[0]!.body).toBe('too many scrapes in flight, retry\n');
    // Health checks are not counted.
    expect((await request(`${base}/healthz`)).status).toBe(200);
    release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(MAX_SCRAPES_IN_FLIGHT).fill(200));

    // Every slot is free again: a client that goes away mid-request gives its slot back too.
    gate = new Promise<void>((r) => (release = r));
    const before = calls;
    const aborted = httpRequest(`${base}/metrics`, { agent: false });
    aborted.on('error', () => undefined);
    aborted.end();
    await expect.poll(() => calls).toBe(before + 1);
    aborted.destroy();
    await new Promise((r) => aborted.once('close', r)); // events.once would reject on its 'error'
    release();
    gate = new Promise<void>((r) => (release = r));
    const again = Array.from({ length: MAX_SCRAPES_IN_FLIGHT }, () => request(`${base}/metrics`));
    await expect.poll(() => calls).toBe(before + 1 + MAX_SCRAPES_IN_FLIGHT);
    release();
    expect((await Promise.all(again)).map((r) => r.status)).toEqual(Array(MAX_SCRAPES_IN_FLIGHT).fill(200));
  });
});

describe('request bounds on a real socket', () => {
  it('refuses oversized headers (431)', async () => {
    const app = server();
    await app.listen({ host: '127.0.0.1', port: 0 });
    closeAfter = () => app.close();
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    expect((await request(`${base}/healthz`, { headers: { 'x-big': 'a'.repeat(9000) } })).status).toBe(431);
    expect((await request(`${base}/healthz`, { headers: { 'x-small': 'a'.repeat(1000) } })).status).toBe(200);
  });
});

describe('exposureWarning', () => {
  const auth = web({ users: new Map([['u', HASH]]) });
  const tls: WebSecurity = { ...web({}), https: { cert: 'x', key: 'y' } };
  it.each<[string, { address: string; port: number }[], WebSecurity | null, boolean]>([
    ['loopback IPv4', [{ address: '127.0.0.1', port: 9842 }], null, false],
    ['loopback IPv6', [{ address: '::1', port: 9842 }], null, false],
    ['loopback 127/8', [{ address: '127.0.0.53', port: 9842 }], null, false],
    ['all interfaces, nothing configured', [{ address: '0.0.0.0', port: 9842 }], null, true],
    ['all IPv6 interfaces', [{ address: '::', port: 9842 }], null, true],
    ['a routable address', [{ address: '10.1.2.3', port: 9842 }], null, true],
    ['a web config with neither TLS nor users', [{ address: '0.0.0.0', port: 9842 }], web({ headers: { 'X-Frame-Options': 'deny' } }), true],
    ['basic auth', [{ address: '0.0.0.0', port: 9842 }], auth, false],
    ['TLS', [{ address: '0.0.0.0', port: 9842 }], tls, false],
  ])('%s', (_name, addresses, config, warns) => {
    const w = exposureWarning(addresses, config);
    if (warns) expect(w).toMatch(/not a loopback address, with neither TLS nor authentication.*--web\.config\.file/);
    else expect(w).toBeNull();
  });
});
