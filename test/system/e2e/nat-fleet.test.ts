/**
 * End to end, a shared NAT gateway across a fleet: two agents, each on a proc root
 * of its own with synthetic sockets (600 connections each to 203.0.113.10:443,
 * a public address nothing is ever sent to), both told they sit behind the same
 * AWS NAT gateway whose limit towards a destination is set to 1 000. Each host's
 * share (60 %) is under the limit, and each agent says so: status OK, no host
 * alert. Their sum (1 200) is over it: a real Prometheus with rules/ loaded, in a
 * private network namespace, must fire NginxPortNatGatewayHeadroomCritical for the
 * gateway and destination (its for: 1m unchanged), list both hosts, and fire
 * nothing with an instance label.
 *
 * On failure the scene's directory is kept (configs, logs, the alerts and rules
 * at the end) and its path printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../support/gate.js';
import { AGENT_JOB, REPO, loadRules } from '../../support/monitoring.js';
import { established, tcp4, tcp6 } from '../../support/procText.js';
import { scratchProc } from '../../support/procTree.js';
import { AGENT_MAIN, Netns, sweepStale, type Helper } from '../support/netns.js';

const PROM = 'http://127.0.0.1:9090';
const AGENTS = ['127.0.0.1:9851', '127.0.0.1:9852'];
const NAT = 'use1-natgw-a';
const DEST = '203.0.113.10:443';
const LIMIT = 1000;
const PER_HOST = 600;

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

describeWith(['netns', 'built', 'command:prometheus', 'command:setpriv'], 'end to end: a shared NAT gateway over the limit across two hosts, each under it', () => {
  let ns: Netns | undefined;
  let dir = '';
  let fetcher: Helper | undefined;
  const children = new Set<ChildProcess>();
  const cleanups: (() => void)[] = [];
  /** A process of the scene that exited before the end: the first one, with its log's tail. */
  let died: string | undefined;
  let stopping = false;
  let failed = true;

  const log = (msg: string): void => {
    appendFileSync(join(dir, 'timeline.log'), `${new Date().toISOString()} ${msg}\n`);
    console.info(`[nat-fleet] ${msg}`);
  };

  function spawnIn(logName: string, cmd: string, args: readonly string[]): ChildProcess {
    const fd = openSync(join(dir, logName), 'a');
    const child = spawn('ip', ['netns', 'exec', ns!.name, 'setpriv', '--pdeathsig', 'KILL', '--', cmd, ...args], { stdio: ['ignore', fd, fd], cwd: REPO });
    closeSync(fd);
    children.add(child);
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (died === undefined && !stopping) {
        const tail = readFileSync(join(dir, logName), 'utf8').split('\n').slice(-6).join('\n');
        died = `${cmd} (${logName}) exited with ${code ?? signal}:\n${tail}`;
      }
    });
    return child;
  }

  async function get(url: string): Promise<{ status: number; body: string }> {
    const r = await fetcher!.command<{ status?: number; body?: string }>({ url }, 15_000);
    return { status: r.status ?? 0, body: r.body ?? '' };
  }

  async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const r = JSON.parse((await get(`${PROM}/api/v1/query?${new URLSearchParams({ query: q }).toString()}`)).body) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (r.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(r)}`);
    return r.data.result;
  }

  async function alerts(): Promise<Alert[]> {
    return (JSON.parse((await get(`${PROM}/api/v1/alerts`)).body) as { data: { alerts: Alert[] } }).data.alerts;
  }

  async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Waiting on a process that is gone only delays the failure: say why at once.
      if (died !== undefined) throw new Error(`while waiting for ${what}: ${died}; see ${dir}`);
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; see ${dir}`);
      await sleep(everyMs);
    }
  }

  beforeAll(async () => {
    await sweepStale();
    ns = await Netns.create();
    dir = mkdtempSync(join(tmpdir(), 'npa-nat-fleet-'));
    mkdirSync(join(dir, 'prometheus-data'));
    // Two hosts behind one gateway: each holds PER_HOST connections to DEST from its own address.
    AGENTS.forEach((listen, i) => {
      const proc = scratchProc();
      cleanups.push(proc.cleanup);
      writeFileSync(join(proc.root, 'net/tcp'), tcp4(established(PER_HOST, `10.0.${i}.10`, 33000, '203.0.113.10', 443)));
      writeFileSync(join(proc.root, 'net/tcp6'), tcp6([]));
      writeFileSync(join(proc.root, 'sys/net/ipv4/ip_local_port_range'), '32768\t60999\n');
      const config = join(dir, `agent-${i + 1}.json`);
      writeFileSync(config, JSON.stringify({ procRoot: proc.root, listen, errorLogs: [], nginxConf: '', sampleIntervalMs: 1000, nat: [{ profile: 'aws-nat-gateway', name: NAT, ports: LIMIT }] }));
      spawnIn(`agent-${i + 1}.log`, process.execPath, [AGENT_MAIN, 'run', '--config', config]);
    });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${REPO}rules/*.yml\n` +
        `scrape_configs:\n  - job_name: ${AGENT_JOB}\n    static_configs:\n      - targets: [${AGENTS.map((a) => `'${a}'`).join(', ')}]\n`,
    );
    spawnIn('prometheus.log', 'prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      '--storage.tsdb.retention.time=1h',
      '--web.listen-address=127.0.0.1:9090',
    ]);
    fetcher = ns.spawnHelper('fetch.mjs', {});
    await fetcher.until('ready');
  }, 60_000);

  afterAll(async () => {
    if (failed && dir !== '' && fetcher !== undefined) {
      try {
        writeFileSync(join(dir, 'alerts.json'), JSON.stringify(await alerts(), null, 2));
        writeFileSync(join(dir, 'rules.json'), (await get(`${PROM}/api/v1/rules`)).body);
      } catch {
        // the snapshot is a courtesy
      }
    }
    stopping = true;
    for (const c of [...children]) c.kill('SIGKILL');
    await ns?.destroy();
    for (const c of cleanups) c();
    if (failed) console.error(`[nat-fleet] FAILED: logs and configs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('fires the gateway alert for the sum, lists both hosts, and nothing on either host', { timeout: 420_000 }, async () => {
    const rules = loadRules();
    await waitFor('Prometheus to load the rules', 60_000, async () => {
      const r = JSON.parse((await get(`${PROM}/api/v1/rules`)).body) as { data: { groups: { name: string }[] } };
      return r.data.groups.length === rules.groups.length ? true : undefined;
    });
    const up = await waitFor('both agents scraped', 60_000, async () => {
      const r = await query(`up{job="${AGENT_JOB}"} == 1`);
      return r.length === AGENTS.length ? r : undefined;
    });
    log(`both agents up: ${up.map((u) => u.metric['instance']).join(', ')}`);

    // Each host: its own share, under the limit; no headroom ratio of a shared gateway's.
    for (const listen of AGENTS) {
      const used = await query(`nginx_port_nat_destination_used{instance="${listen}",nat="${NAT}",destination="${DEST}"}`);
      expect(used.map((u) => u.value[1])).toEqual([String(PER_HOST)]);
      const findings = JSON.parse((await get(`http://${listen}/api/findings`)).body) as { status: string; findings: { id: string; severity: string }[] };
      expect(findings.status).toBe('OK');
      expect(findings.findings.map((f) => `${f.id}:${f.severity}`)).toEqual(['nat_gateway_share:info']);
    }
    expect(await query('nginx_port_nat_destination_headroom_ratio')).toEqual([]);
    // The rule group may first be evaluated between the two agents' first scrapes (one host's share
    // alone): wait for an evaluation that has both, and say what the sum was if none comes.
    let lastSum = 'none';
    const sum = await waitFor('the fleet sum of both hosts', 90_000, async () => {
      const r = await query(`nat_destination:nginx_port_nat_destination_used:sum{nat="${NAT}",destination="${DEST}"}`);
      lastSum = r.map((x) => x.value[1]).join(', ') || 'none';
      return r.length === 1 && r[0]!.value[1] === String(2 * PER_HOST) ? r[0]! : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; the last sum was ${lastSum}, expected ${2 * PER_HOST}`);
    });
    expect(sum.value[1]).toBe(String(2 * PER_HOST));
    log(`fleet sum ${sum.value[1]} of ${LIMIT}`);

    const started = Date.now();
    const critical = await waitFor('NginxPortNatGatewayHeadroomCritical firing', 180_000, async () =>
      (await alerts()).find((a) => a.labels['alertname'] === 'NginxPortNatGatewayHeadroomCritical' && a.state === 'firing'),
    );
    log(`NginxPortNatGatewayHeadroomCritical firing ${((Date.now() - started) / 1000).toFixed(0)} s after the sum was recorded`);
    expect(critical.labels).toEqual({ alertname: 'NginxPortNatGatewayHeadroomCritical', severity: 'critical', nat: NAT, destination: DEST });
    expect(critical.annotations['summary']).toBe(`NAT gateway ${NAT} is at its limit towards ${DEST} (120% held)`);
    for (const listen of AGENTS) expect(critical.annotations['description']).toContain(`${listen} ${PER_HOST}`);

    // Nothing about either host: no alert with an instance, the warning still pending (for: 5m).
    const all = await alerts();
    expect(all.filter((a) => a.labels['instance'] !== undefined).map((a) => `${a.labels['alertname']} ${a.state}`)).toEqual([]);
    expect(all.map((a) => `${a.labels['alertname']} ${a.state}`).sort()).toEqual(['NginxPortNatGatewayHeadroomCritical firing', 'NginxPortNatGatewayHeadroomLow pending']);
    failed = false;
  });
});
