/**
 * What real nginx writes about its upstreams, and what the agent makes of it:
 * nginx 1.22 and 1.30 are the oracle for the error-log formats.
 *
 * One private network namespace per nginx version, one nginx in it with a server
 * block per failure, and a client (helpers/corpus-client.mjs) that sends each one
 * its request. The namespace holds every peer the failures need: nothing
 * listening (refused), a route out of a veth pair to a link-layer address
 * nobody has (connect timeout), an `unreachable` route (113) and no route at all (101),
 * peers that never answer or reset (helpers/corpus-peers.mjs), a resolver
 * address with nothing behind it, a proxy_bind address the host does not have,
 * a narrowed ephemeral range (exhaustion), the stream module (TCP and UDP), and
 * TLS to a plain-HTTP server; and two small nginx that run out of file
 * descriptors and of connection slots. Every line nginx wrote is classified and each
 * scenario's lines must give their kind, destination and upstream group.
 *
 * The lines are kept as test/fixtures/errorlog-corpus/<version>.log (write them
 * again with UPDATE_CORPUS=1); test/unit/errorlog/corpus.test.ts holds the
 * classifier to them without nginx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { classifyLine, type ErrorLogEvent } from '../../../agent/errorlog/parse/classify.js';
import { describeEachNginx, type NginxBinary } from '../../support/nginxVersions.js';
import { Netns, REPO_ROOT } from '../support/netns.js';
import { CORPUS_DIR, CORPUS_SCENARIOS, scenarioOf } from '../../support/errorlogCorpus.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/errorlog-corpus');
const UPDATE = process.env['UPDATE_CORPUS'] === '1';

/** The namespace's addresses: see the file's comment. */
const NET = {
  dropped: '10.255.0.9', // routed out of veth0 to a MAC address nobody has: SYNs go unanswered
  unreachable: '10.99.0.9', // `ip route add unreachable 10.99.0.0/24`
  noRoute: '10.98.0.9', // no route at all
  notLocal: '192.0.2.250', // TEST-NET-1, on no interface: proxy_bind to it fails
} as const;

function nginxConf(dir: string, nginx: NginxBinary): string {
  const tmp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `${n}_temp_path ${dir}/tmp/${n};`).join('\n  ');
  const server = (name: string, port: number, location: string): string =>
    `  server { listen 127.0.0.1:${port}; server_name ${name}; location / { ${location} } }`;
  return `# corpus.test.ts: one server block per failure
${nginx.streamModule !== null ? `load_module ${nginx.streamModule};` : ''}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${tmp}
  proxy_connect_timeout 1s;
  proxy_read_timeout 1s;
  proxy_send_timeout 1s;
  upstream dead {
    server 127.0.0.2:9011 max_fails=1 fail_timeout=60s;
    server 127.0.0.3:9011 max_fails=1 fail_timeout=60s;
  }
  upstream held { server 127.0.0.6:9006; }
${server('refused.test', 8001, 'proxy_pass http://127.0.0.2:9001;')}
${server('timeout.test', 8002, `proxy_pass http://${NET.dropped}:80;`)}
${server('unreachable.test', 8003, `proxy_pass http://${NET.unreachable}:80;`)}
${server('noroute.test', 8004, `proxy_pass http://${NET.noRoute}:80;`)}
${server('read-timeout.test', 8005, 'proxy_pass http://127.0.0.6:9006;')}
${server('reset.test', 8006, 'proxy_pass http://127.0.0.7:9007;')}
${server('nolive.test', 8007, 'proxy_pass http://dead/;')}
${server('bind99.test', 8008, `proxy_bind ${NET.notLocal}; proxy_pass http://127.0.0.2:9001;`)}
${server('bind98.test', 8009, 'proxy_bind 127.0.0.1:45000; proxy_pass http://held;')}
${server('resolver.test', 8010, 'resolver 127.0.0.1:5353; resolver_timeout 1s; set $b backend.corpus.invalid; proxy_pass http://$b:9001;')}
${server('unix.test', 8011, `proxy_pass http://unix:${dir}/missing.sock:/x;`)}
${server('tls.test', 8012, 'proxy_pass https://127.0.0.1:8099;')}
${server('tls-timeout.test', 8013, 'proxy_pass https://127.0.0.6:9006;')}
${server('mapped.test', 8014, 'proxy_pass http://[::ffff:127.0.0.2]:9001;')}
${server('exhausted.test', 8015, 'proxy_pass http://127.0.0.8:9008; proxy_read_timeout 5s;')}
  server { listen 127.0.0.1:8099; server_name plain.test; location / { return 200 "plain\\n"; } }
}
${
  nginx.streamModule === null
    ? ''
    : `stream {
  proxy_connect_timeout 1s;
  server { listen 127.0.0.1:7001; proxy_pass 127.0.0.2:9001; }
  server { listen 127.0.0.1:7002 udp; proxy_pass 127.0.0.2:9002; proxy_timeout 1s; proxy_responses 1; }
}`
}
`;
}

/**
 * Two small nginx beside the first, to run out of what is not ports: file
 * descriptors (worker_rlimit_nofile 20: after a handful of held requests,
 * accept4() or the upstream's socket() fails with EMFILE) and connection slots
 * (worker_connections 5: the listener and two held requests fill them).
 */
function limitsConf(dir: string, name: string, lines: string, port: number, upstream: string): string {
  const d = join(dir, name);
  const tmp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `${n}_temp_path ${d}/${n};`).join(' ');
  return `daemon off;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${dir}/${name}.log warn;
${lines}
http {
  access_log off;
  ${tmp}
  server { listen 127.0.0.1:${port}; server_name ${name}.test; location / { proxy_pass http://${upstream}; proxy_read_timeout 2s; } }
}
`;
}

/** The requests, step by step: the second no-live request finds every server of `dead` marked failed by the first. */
function clientSteps(): unknown[][] {
  const http = (port: number, path = '/'): { http: string } => ({ http: `http://127.0.0.1:${port}${path}` });
  return [
    [...[8001, 8002, 8003, 8004, 8005, 8006, 8008, 8010, 8011, 8012, 8013, 8014].map((p) => http(p)), http(8007)],
    [
      http(8007, '/again'),
      // proxy_bind 127.0.0.1:45000 is one socket at a time: the second of two held requests cannot bind it.
      http(8009, '/one'),
      http(8009, '/two'),
      // The narrowed range holds 4 ports (the client binds ports outside it); 8 held requests leave the last
      // ones none towards 127.0.0.8:9008.
      ...Array.from({ length: 8 }, (_, i) => http(8015, `/${i}`)),
      { tcp: { host: '127.0.0.1', port: 7001 } },
      { udp: { host: '127.0.0.1', port: 7002 } },
    ],
  ];
}

interface ClientDone {
  results: { error?: string }[];
}

/**
 * A request the client could not send (its own bind() or connect() to nginx failed) says nothing about what
 * nginx writes: stop there, naming it, rather than report its scenario as a line nginx did not write.
 * Errors after the connection (a reset, a timeout, a 5xx) are what the scenarios are made of.
 */
function unsent(done: ClientDone): void {
  const failed = done.results.filter((r) => r.error !== undefined && /EADDRINUSE|EADDRNOTAVAIL|ECONNREFUSED 127\.0\.0\.1:8/.test(r.error));
  if (failed.length > 0) throw new Error(`the client could not send ${failed.length} request(s) to nginx: ${JSON.stringify(failed)}`);
}

interface Run {
  ns: Netns;
  dir: string;
  nginxes: ChildProcess[];
  stderr: string;
}

/** Starts nginx (daemon off) with this config in the namespace and waits for its pid file. */
async function startNginx(run: Run, nginx: NginxBinary, name: string, conf: string, pidFile: string): Promise<void> {
  const path = join(run.dir, `${name}.conf`);
  writeFileSync(path, conf);
  const child = spawn('ip', ['netns', 'exec', run.ns.name, nginx.bin, '-p', `${run.dir}/`, '-c', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  run.nginxes.push(child);
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (child.exitCode !== null) throw new Error(`nginx (${name}) exited ${child.exitCode}: ${run.stderr}`);
    if (Date.now() > deadline) throw new Error(`nginx (${name}) did not start: ${run.stderr}`);
    await sleep(50);
  }
  await sleep(300); // the worker
}

async function setUp(run: Run, nginx: NginxBinary): Promise<void> {
  const { ns, dir } = run;
  // 10.255.0.0/24 goes out of veth0 to a link-layer address nobody has: its other end, veth1, drops every
  // frame (not addressed to it), so SYNs go unanswered. The address gives connect() a source for that route.
  await ns.run('ip', ['link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1']);
  for (const dev of ['veth0', 'veth1']) await ns.run('ip', ['link', 'set', dev, 'up']);
  await ns.run('ip', ['addr', 'add', '10.254.0.1/24', 'dev', 'veth0']);
  await ns.run('ip', ['route', 'add', '10.255.0.0/24', 'dev', 'veth0']);
  await ns.run('ip', ['neigh', 'add', NET.dropped, 'lladdr', '02:00:00:00:00:01', 'dev', 'veth0', 'nud', 'permanent']);
  await ns.run('ip', ['route', 'add', 'unreachable', '10.99.0.0/24']);
  // The client binds fixed ports from 50000 up (corpus-client.mjs). Left in the default range (32768-60999),
  // nginx's upstream connections of the limits and slots steps could take them first: connect() picks
  // consecutive even ports towards one destination (net/ipv4/inet_hashtables.c, __inet_hash_connect), and a
  // socket still there, or its TIME_WAIT, makes the client's bind() fail with EADDRINUSE, so the request
  // never reaches nginx. Keep the range below them from the start.
  await ns.sysctl('net.ipv4.ip_local_port_range', '32768 49999');
  const peers = ns.spawnHelper('corpus-peers.mjs', {
    silent: [6, 8, 9, 10].map((n) => ({ address: `127.0.0.${n}`, port: 9000 + n })),
    reset: [{ address: '127.0.0.7', port: 9007 }],
  });
  await peers.until('ready', 15_000);
  await startNginx(run, nginx, 'nginx', nginxConf(dir, nginx), join(dir, 'nginx.pid'));
  for (const name of ['limits', 'slots']) mkdirSync(join(dir, name));
  await startNginx(run, nginx, 'limits', limitsConf(dir, 'limits', 'worker_rlimit_nofile 20;\nevents { worker_connections 16; }', 8101, '127.0.0.9:9009'), join(dir, 'limits', 'nginx.pid'));
  await startNginx(run, nginx, 'slots', limitsConf(dir, 'slots', 'events { worker_connections 5; }', 8102, '127.0.0.10:9010'), join(dir, 'slots', 'nginx.pid'));
  // Descriptors and slots first, while the ephemeral range is whole.
  const http = (port: number, i: number): { http: string } => ({ http: `http://127.0.0.1:${port}/${i}` });
  unsent(await ns.runHelper<ClientDone>('corpus-client.mjs', { steps: [[...Array.from({ length: 10 }, (_, i) => http(8101, i)), ...Array.from({ length: 6 }, (_, i) => http(8102, i))]], timeoutMs: 5000, firstLocalPort: 51000 }));
  // After nginx has its listeners: 4 ports for its upstream connections.
  await ns.sysctl('net.ipv4.ip_local_port_range', '40000 40003');
}

async function tearDown(run: Run): Promise<void> {
  for (const child of run.nginxes) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  await run.ns.destroy();
  rmSync(run.dir, { recursive: true, force: true });
}

describeEachNginx(
  'error-log corpus: what real nginx writes, as the agent reads it',
  (nginx) => {
    let run: Run | undefined;
    let lines: string[] = [];
    let events: { line: string; event: ErrorLogEvent }[] = [];

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), `npa-corpus-${nginx.label}-`));
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, 'tmp'));
      run = { ns: await Netns.create(), dir, nginxes: [], stderr: '' };
      await setUp(run, nginx);
      unsent(await run.ns.runHelper<ClientDone>('corpus-client.mjs', { steps: clientSteps(), timeoutMs: 8000, pauseMs: 300 }));
      await sleep(1500); // the UDP session's proxy_timeout, the resolver's last retry
      // The temporary directory (in the unix socket's path) as the kept lines name it.
      lines = ['error.log', 'limits.log', 'slots.log']
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').replaceAll(dir, CORPUS_DIR).split('\n'))
        .filter((l) => l !== '');
      events = lines.flatMap((line) => {
        const r = classifyLine(line);
        return r.ok ? [{ line, event: r.event }] : [];
      });
      // What the unit test reads: the lines of the scenarios (start-up notices left out).
      if (UPDATE) {
        mkdirSync(FIXTURES, { recursive: true });
        writeFileSync(join(FIXTURES, `${nginx.label}.log`), `${lines.filter((l) => scenarioOf(l) !== null).join('\n')}\n`);
      }
    }, 120_000);

    afterAll(async () => {
      if (run !== undefined) await tearDown(run);
    });

    it('nginx wrote every line in its format', () => {
      expect(lines.length).toBeGreaterThan(10);
      expect(events.length).toBe(lines.length);
    });

    it('every line nginx wrote about the requests belongs to a scenario (no line goes unexamined)', () => {
      // Start-up and shutdown notices are nginx's own, not about a request.
      const unexamined = lines.filter((l) => scenarioOf(l) === null && !/\[notice\]/.test(l));
      expect(unexamined).toEqual([]);
    });

    it.each(CORPUS_SCENARIOS.filter((s) => s.versions === undefined || s.versions.includes(nginx.label)).filter((s) => nginx.streamModule !== null || !s.stream))(
      '$name',
      (s) => {
        const mine = events.filter(({ line }) => scenarioOf(line)?.name === s.name);
        if (s.optional !== true) expect(mine.map(({ line }) => line), `lines of ${s.name}`).not.toEqual([]);
        for (const { line, event } of mine) {
          expect({ line, kind: event.kind, destination: event.destination, upstreamGroup: event.upstreamGroup, bindAddress: event.bindAddress }).toEqual({
            line,
            kind: s.kind,
            destination: s.destination,
            upstreamGroup: s.upstreamGroup ?? null,
            bindAddress: s.bindAddress ?? null,
          });
        }
      },
    );
  },
  { requires: ['netns', 'linux'] },
);
