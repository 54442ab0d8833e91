/**
 * `agent diagnose` behind a NAT, in-process on proc roots of synthetic sockets to
 * public addresses (nothing is sent to them): the "Behind NAT" section and the
 * JSON `nat` array, a host-scope NAT in the verdict and the exit code, a shared
 * gateway's share that never makes it critical, and no change at all without a NAT.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../../agent/commands/diagnose.js';
import { resolveConfig, type Config } from '../../../agent/config.js';
import { FakeClock } from '../../support/fakeClock.js';
import { established, tcp4, tcp6, timeWaits, type Row } from '../../support/procText.js';
import { syntheticProc } from '../../support/procTree.js';

const NOW = Date.UTC(2026, 10, 21, 8, 44, 0);
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** TIME_WAIT sockets with ages spread evenly over the last minute. */
const churn = (n: number, first: number, dest: string, port: number): Row[] =>
  timeWaits(n, '10.0.0.1', first, dest, port, 0).map((r, i) => ({ ...r, when: 6000 - Math.floor((i * 6000) / n) }));

/** 20 open and 30 a minute to a SaaS API (and its IPv6 twin), a database on a public address, and an internal service. */
const ROWS: Row[] = [
  ...established(20, '10.0.0.1', 33000, '203.0.113.10', 443),
  ...churn(30, 34000, '203.0.113.10', 443),
  ...established(5, '10.0.0.1', 35000, '198.51.100.7', 5432),
  ...established(500, '10.0.0.1', 36000, '10.20.0.5', 8080),
];
const ROWS6: Row[] = [...established(3, '2001:db8::10', 37000, '2600:1f18::5', 443), ...established(2, '10.0.0.1', 37100, '192.0.2.44', 8443)];

function procRoot(rows: Row[], rows6: Row[] = []): string {
  const p = syntheticProc({ tcp: tcp4(rows), tcp6: tcp6(rows6) });
  cleanups.push(p.cleanup);
  return p.root;
}

async function config(procRootDir: string, nat: unknown): Promise<Config> {
  const r = await resolveConfig({ env: {}, flags: { procRoot: procRootDir, nginxConf: '', errorLogs: [], ...(nat !== undefined ? { nat } : {}) } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

const run = (c: Config, json: boolean) => diagnose(c, { format: json ? 'json' : 'text', rateIntervalMs: 0, hostFacts: false, clock: new FakeClock(NOW) });

describe('diagnose behind Google Cloud NAT (host scope)', () => {
  const root = procRoot(ROWS, ROWS6);

  it('says CRITICAL when the VM\'s 64 ports towards a destination are held, though the kernel has 28 232', async () => {
    const result = await run(await config(root, [{ profile: 'gcp-cloud-nat', name: 'nat-euw1' }]), false);
    expect(result.exitCode).toBe(2);
    expect(result.output).toMatch(/^NGINX-PORTS CRITICAL - NAT nat-euw1 \(Google Cloud NAT\): 1 destination short of NAT ports; \d+ mappings towards 203\.0\.113\.10:443 .*, the VM has 64 \(the kernel allows 28232\); worst: NAT nat-euw1 → 203\.0\.113\.10:443 \d+\/64 mappings used \| headroom_ratio_min=/);
    expect(result.output).toMatch(/ nat_headroom_ratio_min=0\.0000;0\.2;0\.05;0;1\n/);
    // The scratch proc root's path changes from run to run.
    await expect(result.output.replace(root, '<proc>')).toMatchFileSnapshot('../../golden/diagnose-nat-gcp.txt');
  });

  it('gives the JSON nat array: per NAT its limit and per destination what this host holds', async () => {
    const { report } = await run(await config(root, [{ profile: 'gcp-cloud-nat', name: 'nat-euw1' }]), true);
    expect(report.nat).toHaveLength(1);
    const nat = report.nat![0]!;
    expect(nat).toMatchObject({ name: 'nat-euw1', profile: 'gcp-cloud-nat', scope: 'host', capacityPerDestination: 64, timeWaitSeconds: 120, heldAfterCloseBasis: 'estimated', destinationsTotal: 4 });
    expect(nat.docsUrl).toBe('https://cloud.google.com/nat/docs/ports-and-addresses');
    expect(nat.destinations.map((d) => d.destination)).toEqual(['203.0.113.10:443', '198.51.100.7:5432', '[2600:1f18::5]:443', '192.0.2.44:8443']);
    const api = nat.destinations[0]!;
    expect(api).toMatchObject({ established: 20, open: 20, timeWait: 30, heldAfterCloseMeasured: 30, heldAfterCloseIsEstimate: true, capacity: 64, headroom: 0, headroomRatio: 0, level: 'exhausted' });
    expect(api.used).toBe(api.open + api.heldAfterClose);
    expect(api.heldAfterClose).toBe(30 + Math.round(api.heldAfterCloseEstimated));
    expect(nat.destinations[1]).toMatchObject({ used: 5, headroom: 59, level: 'ok' });
    expect(report.findings.map((f) => f.id)).toEqual(expect.arrayContaining(['nat_ports_short', 'nat_held_after_close']));
  });

  it('with a 30 s timer (a new gateway): closes counted from TIME_WAIT ages, nothing estimated', async () => {
    const { report } = await run(await config(root, [{ profile: 'gcp-cloud-nat', timeWaitSeconds: 30 }]), true);
    const api = report.nat![0]!.destinations[0]!;
    // 30 closes spread over 60 s: 15 of them in the last 30 s.
    expect(api).toMatchObject({ heldAfterCloseMeasured: 15, heldAfterCloseEstimated: 0, heldAfterClose: 15, used: 35, headroom: 29 });
    expect(report.status).toBe('OK');
  });
});

describe('diagnose behind an AWS NAT gateway (fleet scope)', () => {
  it('reports this host\'s share; over the gateway\'s limit alone it warns, never critical', async () => {
    const root = procRoot([...established(1200, '10.0.0.1', 33000, '203.0.113.10', 443)]);
    const result = await run(await config(root, [{ profile: 'aws-nat-gateway', name: 'use1-natgw-a', ports: 1000 }]), true);
    expect(result.exitCode).toBe(1);
    const d = result.report.nat![0]!.destinations[0]!;
    expect(d).toMatchObject({ used: 1200, capacity: 1000, headroom: null, headroomRatio: null, share: 1.2, level: null });
    expect(result.report.findings.map((f) => `${f.id}:${f.severity}`)).toEqual(['nat_gateway_share:warning']);
    const text = await run(await config(root, [{ profile: 'aws-nat-gateway', name: 'use1-natgw-a', ports: 1000 }]), false);
    expect(text.output).toContain('  use1-natgw-a (AWS NAT Gateway, fleet scope: a gateway the hosts share, this host\'s share shown): 1000 per destination; no hold after close documented: open connections only; idle timeout 350 s; 1 of 1 destination(s)');
    // No perfdata for a shared gateway's headroom.
    expect(text.output.split('\n')[0]).not.toContain('nat_headroom_ratio_min');
  });
});

describe('without a NAT', () => {
  it('the report has no nat key and no "Behind NAT" section', async () => {
    const root = procRoot(ROWS, ROWS6);
    const json = await run(await config(root, undefined), true);
    expect('nat' in json.report).toBe(false);
    expect(json.output).not.toContain('"nat"');
    const text = await run(await config(root, undefined), false);
    expect(text.output).not.toContain('Behind NAT');
    expect(text.exitCode).toBe(0);
  });
});
