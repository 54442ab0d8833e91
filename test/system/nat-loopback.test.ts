/**
 * The NAT model on real sockets, with the kernel as the oracle. In a private
 * network namespace (tcp_tw_reuse=0, so TIME_WAIT stays put), `--nat-destinations
 * 127.0.0.2/32` puts loopback "behind" a NAT: nothing leaves the namespace, and the
 * agent counts the sockets towards 127.0.0.2:9000 as the NAT's mappings.
 *
 * The holder makes 30 TIME_WAIT sockets (batch A), waits until they are 7 s old,
 * makes 20 more (batch B), and holds 10 connections open. With a NAT timer of 5 s
 * the closed connections the NAT still holds are batch B only, so used = 10 + 20;
 * the kernel's own count of TIME_WAIT sockets with more than 55 s left (`ss -o`)
 * must agree. With a 120 s timer every TIME_WAIT socket counts, plus the close rate
 * times the 60 s the kernel no longer shows, labelled an estimate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Report } from '../../agent/diagnosis/report.js';
import { describeWith } from '../support/gate.js';
import { AGENT_MAIN, destroyAll, Netns, sweepStale } from './support/netns.js';

const DEST = '127.0.0.2:9000';
const NAT_TIMER_S = 5;
/** Batch A is made this long before batch B: well past the NAT's timer, well inside the kernel's 60 s. */
const GAP_MS = 7000;

interface BatchReport {
  count: number;
  doneAtMs: number;
}

/**
 * TIME_WAIT sockets towards DEST by the seconds left on their timer, from `ss -o`:
 * iproute2's print_ms_timer writes `timer:(timewait,54sec,0)`, `54.320ms` (54 s 320 ms)
 * or `320ms`.
 */
async function timeWaitLeft(n: Netns): Promise<number[]> {
  const out = await n.run('ss', ['-Htano', 'state', 'time-wait', 'dst', DEST]);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const field = /timer:\(timewait,([^,]*),/.exec(l)?.[1];
      if (field === undefined) throw new Error(`no timewait timer in: ${l}`);
      const m = /^(?:(\d+)min)?(?:(\d+)sec|(\d+)\.(\d+)ms|(\d+)ms)?$/.exec(field);
      if (m === null) throw new Error(`unreadable timer "${field}" in: ${l}`);
      return Number(m[1] ?? 0) * 60 + Number(m[2] ?? m[3] ?? 0) + Number(m[4] ?? 0) / 1000 + Number(m[5] ?? 0) / 1000;
    });
}

describeWith(['netns', 'built', 'command:ss'], 'NAT mappings on real loopback sockets (--nat-destinations 127.0.0.2/32)', () => {
  let ns: Netns | undefined;

  beforeAll(async () => {
    await sweepStale();
  });
  afterEach(async () => {
    await ns?.destroy();
    ns = undefined;
  });
  afterAll(destroyAll);

  async function diagnose(n: Netns, args: string[], env: string[] = []): Promise<Report> {
    const r = await n.exec('env', [...env, process.execPath, AGENT_MAIN, 'diagnose', '--json', '--rate-interval-ms', '0', '--nginx-conf', '', ...args]);
    expect(r.code, `agent diagnose: ${r.stderr}`).toBeLessThan(3);
    return JSON.parse(r.stdout) as Report;
  }

  it('counts open connections and the closed ones younger than the NAT\'s timer, as the kernel shows them', { timeout: 60_000 }, async () => {
    const n = (ns = await Netns.create());
    await n.sysctl('net.ipv4.ip_local_port_range', '40000 40999');
    await n.sysctl('net.ipv4.tcp_tw_reuse', '0');
    const helper = n.spawnHelper('holder.mjs', {
      listeners: [{ address: '127.0.0.2', port: 9000 }],
      batches: [{ host: '127.0.0.2', port: 9000, count: 30, mode: 'time_wait' }],
    });
    const ready = await helper.until<{ batches: BatchReport[] }>('ready');
    await sleep(ready.batches[0]!.doneAtMs + GAP_MS - Date.now());
    const b = await helper.command<BatchReport>({ host: '127.0.0.2', port: 9000, count: 20, mode: 'time_wait' });
    await helper.command<BatchReport>({ host: '127.0.0.2', port: 9000, count: 10, mode: 'established' });
    await n.waitForSockets('time-wait', DEST, 50);
    await n.waitForSockets('established', DEST, 10);

    // The one-NAT flags, a 5 s timer: only batch B is still held.
    const report = await diagnose(n, ['--nat-profile', 'custom', '--nat-name', 'lo-nat', '--nat-ports', '1000', '--nat-destinations', '127.0.0.2/32', '--nat-time-wait-seconds', String(NAT_TIMER_S)]);
    const left = await timeWaitLeft(n);
    // Measured while batch B is still under the NAT's timer and batch A well past it.
    expect(Date.now() - b.doneAtMs).toBeLessThan((NAT_TIMER_S - 1) * 1000);
    const kernelYounger = left.filter((s) => s > 60 - NAT_TIMER_S).length;
    expect(left).toHaveLength(50);
    expect(kernelYounger).toBe(20);

    expect(report.nat).toHaveLength(1);
    const nat = report.nat![0]!;
    expect(nat).toMatchObject({ name: 'lo-nat', profile: 'custom', scope: 'host', capacityPerDestination: 1000, timeWaitSeconds: NAT_TIMER_S, heldAfterCloseBasis: 'measured' });
    const d = nat.destinations.find((x) => x.destination === DEST)!;
    expect(d).toMatchObject({ established: 10, open: 10, timeWait: 50, heldAfterClose: kernelYounger, heldAfterCloseEstimated: 0, used: 10 + kernelYounger, headroom: 1000 - 10 - kernelYounger });
    // The kernel's own headroom towards it is untouched by the NAT: every TIME_WAIT socket blocks its 4-tuple for 60 s.
    expect(report.destinations.find((x) => x.destination === DEST)).toMatchObject({ used: 60, timeWait: 50, established: 10 });
    // Nothing else on loopback is behind this NAT.
    expect(nat.destinations.map((x) => x.destination)).toEqual([DEST]);
    console.info(`[nat] ${DEST}: ss shows ${left.length} TIME_WAIT, ${kernelYounger} with more than ${60 - NAT_TIMER_S} s left; agent used ${d.used} (10 open + ${d.heldAfterClose} held)`);

    // Two NATs from NGINX_PORT_AGENT_NAT (JSON): the 5 s one again, and a 120 s one that
    // counts every TIME_WAIT socket and estimates the 60 s past the kernel's.
    const nats = [
      { profile: 'custom', name: 'short', ports: 1000, destinations: ['127.0.0.2/32'], timeWaitSeconds: NAT_TIMER_S },
      { profile: 'custom', name: 'long', ports: 1000, destinations: ['127.0.0.0/8'], timeWaitSeconds: 120 },
    ];
    const two = await diagnose(n, [], [`NGINX_PORT_AGENT_NAT=${JSON.stringify(nats)}`]);
    const kernelAll = (await timeWaitLeft(n)).length;
    const short = two.nat!.find((x) => x.name === 'short')!.destinations.find((x) => x.destination === DEST)!;
    const long = two.nat!.find((x) => x.name === 'long')!.destinations.find((x) => x.destination === DEST)!;
    expect(short.heldAfterClose).toBe(kernelYounger);
    expect(long).toMatchObject({ heldAfterCloseMeasured: kernelAll, heldAfterCloseIsEstimate: true });
    const rate = two.destinations.filter((x) => x.destination === DEST).reduce((s, x) => s + x.connectRate.perSecond, 0);
    expect(long.closeRatePerSecond).toBeCloseTo(rate, 6);
    expect(long.heldAfterCloseEstimated).toBeCloseTo(rate * 60, 6);
    expect(long.used).toBe(10 + kernelAll + Math.round(rate * 60));
    console.info(`[nat] 120 s timer: ${kernelAll} TIME_WAIT measured + ${long.heldAfterCloseEstimated.toFixed(1)} estimated from ${rate.toFixed(2)} closes/s`);
  });
});
