/**
 * End to end: a real nginx runs out of ephemeral ports, the agent sees it, a real
 * Prometheus with the project's rules raises the critical alerts, every query of
 * the Grafana dashboards works on the result, and after the fix (an upstream
 * keepalive pool) headroom comes back and the alerts resolve.
 *
 * Everything runs inside one private network namespace, as a sidecar shares
 * nginx's: a 200-port ephemeral range (40000-40199) and tcp_tw_reuse=0 (the
 * default 2 would reuse loopback TIME_WAIT sockets after 1 s).
 *   - nginx on 127.0.0.1:8080 proxies to 127.0.0.2:9000 (a second server block of
 *     the same nginx). The first configuration has no `keepalive` in its upstream
 *     block: nginx closes every upstream connection itself, and each leaves a
 *     TIME_WAIT socket on its side for 60 s. (It already sends HTTP/1.1 without
 *     "Connection: close", so the upstream never closes first and the TIME_WAIT
 *     socket is always on nginx's side: the incident of
 *     test/fixtures/real-tw-exhaustion.)
 *   - wrk, 2 connections paced by a Lua delay() of 1 ms (about 1 700 requests/s,
 *     a fraction of what wrk can do, as the machine is shared): the 200 ports are
 *     gone within a second, and from then on nearly every request fails with
 *     EADDRNOTAVAIL. The rate matters: the ports all went into TIME_WAIT within
 *     that first second, so they all come free together 60 s later (the kernel
 *     expires TIME_WAIT sockets in timer-wheel batches) and stay free until nginx
 *     takes them again. At 100 requests/s that took 2 s, long enough for a sample
 *     to see 20-45 % headroom once a minute, which restarts a `for: 1m` each
 *     time; at this rate it takes about 0.1 s.
 *   - the agent (`dist/agent/main.js run`) with its default 5 s sample interval,
 *     tailing nginx's error log and reading its nginx.conf, on 127.0.0.1:9842,
 *     told that two NATs (a VM's own, and a shared gateway) with a million
 *     mappings each stand in front of the upstream, so the NAT panels and rules
 *     have data and stay quiet.
 *   - the fix: nginx reloaded with `keepalive 32` in the upstream block (the
 *     headers are there already). Also `keepalive_requests`: its default of 1000
 *     requests per pooled connection would still close about 1.7 connections/s
 *     at this rate, over half of what 200 ports sustain (200 / 60 s), and
 *     NginxPortConnectRateHigh goes pending, rightly; a real range of 28 000
 *     ports sustains 470/s.
 *   - Debian's prometheus on 127.0.0.1:9090 with a temporary config and storage
 *     directory, scraping the agent as job "nginx-port-agent" and evaluating
 *     rules/*.yml every second. The rules' own for: durations apply unchanged.
 * The test talks to Prometheus and the agent through a helper inside the
 * namespace (test/system/helpers/fetch.mjs, keep-alive connections).
 *
 * The cases run in order and share the scene; once one fails the later ones fail
 * at once instead of waiting out their time limits. Clean-up runs whatever
 * happened; on failure the scene's directory is kept (nginx.conf, error.log,
 * agent.log, prometheus.log, wrk.log, timeline.log, and snapshots of the alerts,
 * the rules and /metrics taken at the end) and its path printed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachNginx } from '../../support/nginxVersions.js';
import {
  AGENT_JOB,
  REPO,
  alertRules,
  labelValuesQuery,
  loadDashboards,
  loadRules,
  metricNames,
  panelQueries,
  recordingRules,
  substituteGrafanaVars,
} from '../../support/monitoring.js';
import { AGENT_MAIN, Netns, sweepStale, type Helper } from '../support/netns.js';

const execFileP = promisify(execFile);

const RANGE = '40000 40199';
const CAPACITY = 200;
const UPSTREAM = '127.0.0.2:9000';
const FRONT = '127.0.0.1:8080';
const AGENT_ADDR = '127.0.0.1:9842';
const PROM = 'http://127.0.0.1:9090';
/** Milliseconds between two requests on one wrk connection. */
const PACE_MS = 1;
const DEST = { source_ip: '127.0.0.1', destination: UPSTREAM };
/** NATs the agent is told sit in front of the upstream (loopback counts as "behind" them here). */
const NATS = [
  { profile: 'custom', name: 'e2e-host', scope: 'host', ports: 1_000_000, destinations: [`${UPSTREAM.split(':')[0]!}/32`], timeWaitSeconds: 30 },
  { profile: 'custom', name: 'e2e-gateway', scope: 'fleet', ports: 1_000_000, destinations: [`${UPSTREAM.split(':')[0]!}/32`], timeWaitSeconds: 120 },
];

const rules = loadRules();
const dashboards = loadDashboards();

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}
type QueryData = { resultType: 'vector'; result: VectorSample[] } | { resultType: 'matrix'; result: MatrixSeries[] } | { resultType: 'scalar' | 'string'; result: [number, string] };
interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}
interface RuleGroup {
  name: string;
  rules: { name: string; type: 'alerting' | 'recording'; health: string; lastError?: string }[];
}

interface Scene {
  ns: Netns;
  dir: string;
  started: number;
  children: Set<ChildProcess>;
  nginx?: ChildProcess;
  agent?: ChildProcess;
  prometheus?: ChildProcess;
  wrk?: ChildProcess;
  fetcher?: Helper;
  /** When the load started and when nginx was reloaded with the pool (ms since the epoch). */
  loadAt?: number;
  fixAt?: number;
}

function nginxConf(dir: string, pool: boolean): string {
  const tmp = (name: string) => `${name}_temp_path ${dir}/tmp/${name};`;
  return `# prometheus.test.ts: ${pool ? 'fixed, with an upstream keepalive pool' : 'no upstream keepalive pool'}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(tmp).join('\n  ')}
  upstream backend {
    server ${UPSTREAM};${pool ? '\n    keepalive 32;\n    keepalive_requests 1000000;' : ''}
  }
  server { listen ${UPSTREAM}; keepalive_requests 1000000; location / { return 200 "ok\\n"; } }
  server {
    listen ${FRONT};
    keepalive_requests 1000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;
}

function prometheusConfig(): string {
  return `# prometheus.test.ts: the agent's job and the project's rules, evaluated every second
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - ${REPO}rules/*.yml
scrape_configs:
  - job_name: ${AGENT_JOB}
    static_configs:
      - targets: ['${AGENT_ADDR}']
`;
}

/** Metric names in Prometheus text format (sample lines only). */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m !== null) names.add(m[1]!);
  }
  return names;
}

// On nginx 1.22 only for now: the first configuration relies on an upstream
// block without `keepalive` closing every connection, and nginx 1.29.7 turned
// upstream keepalive on by default.
describeEachNginx(
  'end to end: nginx out of ports, the agent, Prometheus with the rules, the dashboards\' queries',
  (nginx) => {
    let scene: Scene | undefined;
    /** The first case that failed; later cases fail at once. */
    let broken: string | null = null;

    const elapsed = (s: Scene, from = s.started): string => `${((Date.now() - from) / 1000).toFixed(1)} s`;
    function log(s: Scene, msg: string): void {
      appendFileSync(join(s.dir, 'timeline.log'), `${new Date().toISOString()} +${elapsed(s)} ${msg}\n`);
    }
    function report(s: Scene, msg: string): void {
      log(s, msg);
      console.info(`[e2e] ${msg}`);
    }
    function need(): Scene {
      if (broken !== null) throw new Error(`not run: "${broken}" failed before`);
      if (scene === undefined) throw new Error('no scene');
      return scene;
    }

    /** Starts a command inside the namespace, its output appended to <dir>/<logName>; killed if this process dies. */
    function spawnIn(s: Scene, logName: string, cmd: string, args: readonly string[]): ChildProcess {
      const fd = openSync(join(s.dir, logName), 'a');
      // `ip netns exec` and setpriv exec the command, so the child's pid is the
      // command's, and --pdeathsig takes it down with the test process.
      const child = spawn('ip', ['netns', 'exec', s.ns.name, 'setpriv', '--pdeathsig', 'KILL', '--', cmd, ...args], {
        stdio: ['ignore', fd, fd],
        cwd: REPO,
      });
      closeSync(fd);
      s.children.add(child);
      child.once('exit', (code, signal) => {
        s.children.delete(child);
        log(s, `${cmd} (pid ${child.pid}) exited: code ${code}, signal ${signal}`);
      });
      return child;
    }

    function running(child: ChildProcess | undefined, what: string, s: Scene): void {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${what} is not running (code ${child?.exitCode}, signal ${child?.signalCode}); see ${s.dir}`);
      }
    }

    async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }

    async function waitFor<T>(s: Scene, what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; see ${s.dir}`);
        await sleep(everyMs);
      }
    }

    async function get(s: Scene, url: string): Promise<{ status: number; body: string }> {
      const r = await s.fetcher!.command<{ status?: number; body?: string }>({ url }, 15_000);
      return { status: r.status ?? 0, body: r.body ?? '' };
    }

    async function api<T>(s: Scene, path: string, params: Record<string, string | string[]> = {}): Promise<PromResponse<T>> {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
      const r = await get(s, `${PROM}${path}?${q.toString()}`);
      let parsed: PromResponse<T>;
      try {
        parsed = JSON.parse(r.body) as PromResponse<T>;
      } catch {
        throw new Error(`${path} ${q.toString()}: HTTP ${r.status}, not JSON: ${r.body.slice(0, 500)}`);
      }
      return parsed;
    }

    async function instant(s: Scene, query: string): Promise<VectorSample[]> {
      const r = await api<QueryData>(s, '/api/v1/query', { query });
      if (r.status !== 'success') throw new Error(`query ${query}: ${r.errorType}: ${r.error}`);
      if (r.data.resultType !== 'vector') throw new Error(`query ${query}: a ${r.data.resultType}, not a vector`);
      return r.data.result;
    }

    async function alerts(s: Scene): Promise<Alert[]> {
      const r = await api<{ alerts: Alert[] }>(s, '/api/v1/alerts');
      if (r.status !== 'success') throw new Error(`/api/v1/alerts: ${r.error}`);
      return r.data.alerts;
    }

    const isOurs = (a: Alert, name: string): boolean =>
      a.labels['alertname'] === name && (a.labels['destination'] ?? '') === UPSTREAM && a.labels['job'] === AGENT_JOB;

    /** Snapshots for the post-mortem, each on its own so one failure does not stop the rest. */
    async function snapshot(s: Scene): Promise<void> {
      const save = async (name: string, fn: () => Promise<string>) => {
        try {
          writeFileSync(join(s.dir, name), await fn());
        } catch (err) {
          writeFileSync(join(s.dir, name), `could not take it: ${String(err)}\n`);
        }
      };
      if (s.fetcher === undefined) return;
      await save('alerts.json', async () => JSON.stringify(await alerts(s), null, 2));
      await save('rules.json', async () => JSON.stringify((await api<{ groups: RuleGroup[] }>(s, '/api/v1/rules')).data, null, 2));
      await save('targets.json', async () => (await get(s, `${PROM}/api/v1/targets`)).body);
      await save('metrics.prom', async () => (await get(s, `http://${AGENT_ADDR}/metrics`)).body);
    }

    /** Kills what the scene started, deletes its namespace; keeps the directory when a case failed. */
    async function teardown(s: Scene, keep: boolean): Promise<void> {
      const problems: unknown[] = [];
      const attempt = async (fn: () => Promise<void> | void) => {
        try {
          await fn();
        } catch (err) {
          problems.push(err);
        }
      };
      if (keep) await attempt(() => snapshot(s));
      if (s.wrk !== undefined) await attempt(() => stopChild(s.wrk!, 'SIGKILL'));
      if (s.prometheus !== undefined) await attempt(() => stopChild(s.prometheus!, 'SIGTERM'));
      if (s.agent !== undefined) await attempt(() => stopChild(s.agent!, 'SIGTERM'));
      if (s.nginx !== undefined) await attempt(() => stopChild(s.nginx!, 'SIGQUIT'));
      for (const c of [...s.children]) await attempt(() => stopChild(c, 'SIGKILL'));
      // Whatever is still in the namespace (nginx workers of a killed master) was started here.
      await attempt(async () => {
        const { stdout } = await execFileP('ip', ['netns', 'pids', s.ns.name]);
        for (const pid of stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      });
      await attempt(() => s.ns.destroy());
      if (keep) {
        console.error(`[e2e] FAILED: logs, configs and snapshots kept in ${s.dir}`);
      } else {
        await attempt(() => {
          rmSync(s.dir, { recursive: true, force: true });
        });
      }
      if (problems.length > 0) throw new AggregateError(problems, 'clean-up failed');
    }

    beforeAll(async () => {
      // A test process killed before its clean-up leaves a namespace behind, and
      // perhaps nginx workers in it (setpriv's pdeathsig takes only the master):
      // kill those, then let sweepStale delete the namespaces.
      const { stdout } = await execFileP('ip', ['netns', 'list']);
      for (const name of stdout.split('\n').map((l) => l.split(' ')[0] ?? '')) {
        const m = /^npa-t-(\d+)-\d+$/.exec(name);
        if (m === null) continue;
        try {
          process.kill(Number(m[1]), 0);
          continue;
        } catch {
          // its process is gone
        }
        const pids = await execFileP('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
        for (const pid of pids.stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      const swept = await sweepStale();
      if (swept.length > 0) console.info(`[e2e] deleted namespaces left by dead test runs: ${swept.join(' ')}`);
    });

    afterEach((ctx) => {
      if (ctx.task.result?.state === 'fail' && broken === null) broken = ctx.task.name;
    });

    afterAll(async () => {
      const s = scene;
      scene = undefined;
      if (s === undefined) return;
      report(s, `whole run ${elapsed(s)}`);
      await teardown(s, broken !== null);
    }, 90_000);

    it('starts nginx, the agent and Prometheus with the rules in a namespace; an idle host raises no alert', { timeout: 90_000 }, async () => {
      const ns = await Netns.create();
      const dir = mkdtempSync(join(tmpdir(), 'npa-e2e-'));
      const s: Scene = { ns, dir, started: Date.now(), children: new Set() };
      scene = s;
      // nginx's workers run unprivileged and need to reach the temp paths.
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, 'tmp'));
      mkdirSync(join(dir, 'prometheus-data'));
      report(s, `scene in ${dir}, namespace ${ns.name}`);
      await ns.sysctl('net.ipv4.ip_local_port_range', RANGE);
      await ns.sysctl('net.ipv4.tcp_tw_reuse', '0');

      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, nginxConf(dir, false));
      s.nginx = spawnIn(s, 'nginx.log', nginx.bin, ['-c', conf, '-p', `${dir}/`]);
      await waitFor(s, 'nginx to start', 15_000, () => {
        running(s.nginx, 'nginx', s);
        return Promise.resolve(existsSync(join(dir, 'nginx.pid')) ? true : undefined);
      }, 100);

      s.fetcher = ns.spawnHelper('fetch.mjs', {});
      await s.fetcher.until('ready');
      await waitFor(s, 'nginx to answer', 10_000, async () => {
        const r = await get(s, `http://${FRONT}/`).catch(() => undefined);
        return r?.status === 200 && r.body === 'ok\n' ? true : undefined;
      }, 100);

      const version = /nginx\/(\d+\.\d+\.\d+)/.exec((await execFileP(nginx.bin, ['-v'])).stderr)?.[1];
      expect(version, 'nginx -v').toBeDefined();
      // Two NATs in front of the upstream, so the NAT panels and rules have data: a VM's
      // own allocation and a shared gateway, each far above what 200 ports can use, so
      // neither raises anything while the kernel's range runs out.
      writeFileSync(join(dir, 'agent.json'), JSON.stringify({ nat: NATS }));
      s.agent = spawnIn(s, 'agent.log', process.execPath, [
        AGENT_MAIN, 'run',
        '--config', join(dir, 'agent.json'),
        '--listen', AGENT_ADDR,
        '--error-log', join(dir, 'error.log'),
        '--nginx-conf', conf,
        '--nginx-version', version!,
        '--nginx-conf-reload-ms', '5000',
      ]);
      await waitFor(s, 'the agent to be ready', 20_000, async () => {
        running(s.agent, 'the agent', s);
        const r = await get(s, `http://${AGENT_ADDR}/readyz`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
      }, 200);

      writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig());
      s.prometheus = spawnIn(s, 'prometheus.log', 'prometheus', [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        '--storage.tsdb.retention.time=1h',
        '--web.listen-address=127.0.0.1:9090',
      ]);
      await waitFor(s, 'Prometheus to be ready', 30_000, async () => {
        running(s.prometheus, 'Prometheus', s);
        const r = await get(s, `${PROM}/-/ready`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
      }, 200);
      report(s, `nginx ${version}, the agent and Prometheus ready after ${elapsed(s)}`);

      // Prometheus loaded every rule of the file, and evaluates them without error.
      const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
      const expected = rules.groups.map((g) => ({ name: g.name, rules: g.rules.length })).sort(byName);
      const groups = await waitFor(s, 'the rules to be evaluated', 20_000, async () => {
        const r = await api<{ groups: RuleGroup[] }>(s, '/api/v1/rules');
        const gs = r.data.groups;
        return gs.length > 0 && gs.every((g) => g.rules.every((x) => x.health === 'ok')) ? gs : undefined;
      });
      expect(groups.map((g) => ({ name: g.name, rules: g.rules.length })).sort(byName)).toEqual(expected);

      // Scraped, and a few evaluations after the first scrape nothing is even pending.
      await waitFor(s, 'the first scrape', 20_000, async () => {
        const up = await instant(s, `up{job="${AGENT_JOB}"}`);
        return up.length === 1 && up[0]!.value[1] === '1' && (await instant(s, 'nginx_port_headroom_ratio_min')).length === 1 ? true : undefined;
      });
      await sleep(5000);
      const idle = await alerts(s);
      expect(idle.map((a) => `${a.labels['alertname']} ${a.state} ${JSON.stringify(a.labels)}`)).toEqual([]);
      report(s, `idle host: rules loaded (${groups.length} groups), no alert pending or firing`);
    });

    it('wrk without an upstream pool exhausts the ports towards the upstream within seconds', { timeout: 60_000 }, async () => {
      const s = need();
      writeFileSync(join(s.dir, 'pace.lua'), `-- ${PACE_MS} ms between two requests on each connection\nfunction delay()\n  return ${PACE_MS}\nend\n`);
      s.loadAt = Date.now();
      // Long enough for the whole test; teardown stops it.
      s.wrk = spawnIn(s, 'wrk.log', 'wrk', ['-t1', '-c2', '-d300s', '--timeout', '2s', '-s', join(s.dir, 'pace.lua'), `http://${FRONT}/`]);
      const exhausted = await waitFor(s, 'headroom towards the upstream below 5 % in Prometheus', 30_000, async () => {
        running(s.wrk, 'wrk', s);
        const r = await instant(s, `nginx_port_destination_headroom_ratio{destination="${UPSTREAM}"} < 0.05`);
        return r.length > 0 ? r : undefined;
      });
      expect(exhausted[0]!.metric).toMatchObject(DEST);
      report(s, `exhausted: headroom ratio ${exhausted[0]!.value[1]} towards ${UPSTREAM} ${elapsed(s, s.loadAt)} after the load started`);
      // nginx's own words, counted by the agent, scraped by Prometheus.
      await waitFor(s, 'EADDRNOTAVAIL events towards the upstream in Prometheus', 20_000, async () => {
        const r = await instant(s, `nginx_port_error_log_events_total{kind="eaddrnotavail",destination="${UPSTREAM}"} > 0`);
        return r.length > 0 ? true : undefined;
      });
      expect(readFileSync(join(s.dir, 'error.log'), 'latin1')).toContain(`connect() to ${UPSTREAM} failed (99: Cannot assign requested address) while connecting to upstream`);
      const capacity = await instant(s, `nginx_port_destination_capacity{destination="${UPSTREAM}"}`);
      expect(capacity.map((c) => c.value[1])).toEqual([String(CAPACITY)]);
    });

    it('every dashboard query is valid PromQL and returns data; every variable has values', { timeout: 90_000 }, async () => {
      const s = need();
      // Let rate() windows fill with the incident (1 s scrapes, 1m windows).
      await sleep(Math.max(0, s.loadAt! + 20_000 - Date.now()));
      const job = AGENT_JOB;
      // The variables first: their values are what an operator would pick.
      const values = new Map<string, string[]>();
      for (const d of dashboards) {
        for (const v of d.templating.list) {
          const lv = labelValuesQuery(v);
          if (lv === null) continue;
          const selector = substituteGrafanaVars(lv.selector, { job, instance: `127.0.0.1:9842` });
          const r = await api<string[]>(s, `/api/v1/label/${lv.label}/values`, { 'match[]': selector, start: String(Date.now() / 1000 - 300) });
          expect(r.status, `${d.uid} variable ${v.name}: ${r.error}`).toBe('success');
          expect(r.data.length, `${d.uid} variable ${v.name} (${selector}) has no values`).toBeGreaterThan(0);
          values.set(`${d.uid}/${v.name}`, r.data);
        }
      }
      expect(values.get('nginx-port-agent-host/job')).toContain(AGENT_JOB);
      expect(values.get('nginx-port-agent-host/instance')).toEqual([AGENT_ADDR]);
      expect(values.get('nginx-port-agent-host/destination')).toContain(UPSTREAM);

      const empty: string[] = [];
      let checked = 0;
      const end = Date.now() / 1000;
      for (const d of dashboards) {
        // The host dashboard as an operator looks at the exhausted upstream; the fleet one with every instance.
        const vars = d.uid === 'nginx-port-agent-host' ? { job, instance: AGENT_ADDR, destination: UPSTREAM } : { job, instance: '.*' };
        for (const q of panelQueries(d)) {
          const query = substituteGrafanaVars(q.expr, vars);
          const where = `${d.uid} / ${q.panel} / ${q.refId}: ${query}`;
          if (q.instant) {
            const r = await api<QueryData>(s, '/api/v1/query', { query });
            expect(r.status, `${where}: ${r.errorType} ${r.error}`).toBe('success');
            if (!Array.isArray(r.data.result) || r.data.result.length === 0) empty.push(where);
          } else {
            const r = await api<QueryData>(s, '/api/v1/query_range', { query, start: String(end - 120), end: String(end), step: '5' });
            expect(r.status, `${where}: ${r.errorType} ${r.error}`).toBe('success');
            if (r.data.resultType !== 'matrix' || !r.data.result.some((x) => x.values.length > 0)) empty.push(where);
          }
          checked++;
        }
      }
      expect(empty).toEqual([]);
      report(s, `dashboards: ${checked} panel queries valid with data, ${values.size} variables with values`);
    });

    it('every metric name the rules and dashboards use is in the agent\'s /metrics, every recording rule has data', { timeout: 60_000 }, async () => {
      const s = need();
      const recorded = new Set(recordingRules(rules).map((r) => r.record));
      const used = new Set<string>();
      for (const r of rules.groups.flatMap((g) => g.rules)) for (const n of metricNames(r.expr)) used.add(n);
      for (const a of alertRules(rules)) {
        for (const text of Object.values(a.annotations ?? {})) for (const m of text.matchAll(/"[^"]*?\b(nginx_port_[a-z0-9_]+)/g)) used.add(m[1]!);
      }
      for (const d of dashboards) {
        for (const q of panelQueries(d)) for (const n of metricNames(q.expr)) used.add(n);
        for (const v of d.templating.list) {
          const lv = labelValuesQuery(v);
          if (lv !== null) for (const n of metricNames(lv.selector)) used.add(n);
        }
      }
      expect(used.has('nginx_port_finding_active')).toBe(true);
      const r = await get(s, `http://${AGENT_ADDR}/metrics`);
      expect(r.status).toBe(200);
      const exposed = exposedNames(r.body);
      const missing = [...used].filter((n) => !recorded.has(n) && n !== 'up' && !exposed.has(n)).sort();
      expect(missing, 'used by the rules or dashboards but not in /metrics').toEqual([]);
      // `up` and the recorded series come from Prometheus itself.
      expect((await instant(s, `up{job="${AGENT_JOB}"} == 1`)).length).toBe(1);
      for (const name of recorded) expect((await instant(s, name)).length, `recording rule ${name} has no data`).toBeGreaterThan(0);
      report(s, `metric names: ${used.size} used, all exported (${[...used].filter((n) => !recorded.has(n) && n !== 'up').length} from /metrics, ${recorded.size} recorded, up)`);
    });

    it('the critical alerts for the destination fire', { timeout: 150_000 }, async () => {
      const s = need();
      const firing = async (name: string): Promise<Alert> =>
        waitFor(s, `${name} firing for ${UPSTREAM}`, 130_000, async () => {
          running(s.wrk, 'wrk', s);
          return (await alerts(s)).find((a) => isOurs(a, name) && a.state === 'firing');
        }, 1000);
      const critical = await firing('NginxPortHeadroomCritical');
      report(s, `NginxPortHeadroomCritical firing ${elapsed(s, s.loadAt)} after the load started (active since ${critical.activeAt})`);
      expect(critical.labels).toMatchObject({ ...DEST, severity: 'critical', instance: AGENT_ADDR });
      expect(critical.annotations['description']).toMatch(new RegExp(`^127\\.0\\.0\\.1 → ${UPSTREAM.replace(/\./g, '\\.')} has \\d+ of ${CAPACITY} ports free \\(\\d`));
      expect(critical.annotations['runbook_url']).toMatch(/docs\/runbook\.md#nginxportheadroomcritical$/);
      const errors = await firing('NginxPortEaddrnotavail');
      report(s, `NginxPortEaddrnotavail firing ${elapsed(s, s.loadAt)} after the load started, ${errors.annotations['summary']}`);
      expect(errors.labels).toMatchObject({ destination: UPSTREAM, kind: 'eaddrnotavail', severity: 'critical' });
      expect(Number(errors.value)).toBeGreaterThan(1);
    });

    it('nginx reloaded with a keepalive pool: headroom recovers and the alerts resolve', { timeout: 240_000 }, async () => {
      const s = need();
      const conf = join(s.dir, 'nginx.conf');
      writeFileSync(conf, nginxConf(s.dir, true));
      await s.ns.run(nginx.bin, ['-c', conf, '-p', `${s.dir}/`, '-t']);
      await s.ns.run(nginx.bin, ['-c', conf, '-p', `${s.dir}/`, '-s', 'reload']);
      s.fixAt = Date.now();
      report(s, `nginx reloaded with keepalive 32, ${elapsed(s, s.loadAt)} after the load started`);

      // Back above the warning threshold, under the same load.
      const recovered = await waitFor(s, `headroom towards ${UPSTREAM} back above 20 %`, 90_000, async () => {
        running(s.wrk, 'wrk', s);
        const r = await instant(s, `nginx_port_destination_headroom_ratio{destination="${UPSTREAM}"} >= 0.2`);
        return r.length > 0 ? r[0]! : undefined;
      }, 1000);
      report(s, `headroom ${recovered.value[1]} (≥ 20 %) ${elapsed(s, s.fixAt)} after the reload`);
      // Requests get through again, and nginx writes no more EADDRNOTAVAIL lines.
      const r = await get(s, `http://${FRONT}/`);
      expect(r.status).toBe(200);
      const count = async () => (await instant(s, `nginx_port_error_log_events_total{kind="eaddrnotavail",destination="${UPSTREAM}"}`))[0]?.value[1];
      const before = await count();
      await sleep(5000);
      expect(await count()).toBe(before);

      const resolved = async (name: string, timeoutMs: number): Promise<void> => {
        await waitFor(s, `${name} to resolve`, timeoutMs, async () => ((await alerts(s)).some((a) => isOurs(a, name)) ? undefined : true), 1000);
        report(s, `${name} resolved ${elapsed(s, s.fixAt)} after the reload`);
      };
      await resolved('NginxPortHeadroomCritical', 60_000);
      // Its rate window is 2 minutes from nginx's last EADDRNOTAVAIL line.
      await resolved('NginxPortEaddrnotavail', 170_000);
      // Healthy again: nothing firing, nothing pending.
      const left = await alerts(s);
      expect(left.map((a) => `${a.labels['alertname']} ${a.state} ${JSON.stringify(a.labels)}`)).toEqual([]);
      const final = await instant(s, `nginx_port_destination_headroom_ratio{destination="${UPSTREAM}"}`);
      report(s, `healthy: headroom ${final[0]?.value[1]}, no alert; ${elapsed(s, s.fixAt)} after the reload`);
    });
  },
  { requires: ['netns', 'built', 'command:wrk', 'command:prometheus', 'command:setpriv'], versions: ['1.22'] },
);
