/**
 * `npm run bench` (as root): the socket-sampling benchmark, as a growth curve.
 *
 * 1. Creates a private network namespace (always deleted at the end, also on error,
 *    SIGINT or the deadline), brings lo up and sets, inside it only:
 *    ip_local_port_range 10000–65535, tcp_max_tw_buckets above the largest TIME_WAIT
 *    target, tcp_tw_reuse 0 (no TIME_WAIT socket is recycled early).
 * 2. Runs the daemon once with no sockets (the RSS reference).
 * 3. For each size (BENCH_SIZES, ascending; the sockets of one size are kept for the
 *    next): grows the ESTABLISHED connections (population.ts) and sets the churners'
 *    TIME_WAIT target, waits until the kernel's count is within 2% of it, then
 *    measures from inside the namespace (inner.ts): the /proc floor, the agent's
 *    sample inline and through its worker thread, the netlink measures (netlink.ts),
 *    systeminformation (small sizes only), and the real daemon's /metrics latency
 *    and RSS. Each phase records the TIME_WAIT count from its start to its end.
 * 4. Prints PASS/FAIL per target and size, the growth-curve and netlink tables,
 *    writes .bench/sockets-<time>.json, exits 1 if a target is missed (2 if not root).
 *
 * Settings and environment knobs: config.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG, TARGETS, mix } from './config.js';
import { NS, cleanupSync, createNamespace, elapsedSeconds, installTeardown, log, run, sysctlInNs } from './namespace.js';
import { daemonPhase, inner, measured, type Count, type MetricsResult, type SiResult, type StaticResult } from './phases.js';
import { Population, hardNofile } from './population.js';
import { checks, configSummary, details, growthTable, netlinkTable, netlinkVerdict, renderChecks, type SizeResult } from './report.js';
import { fmt } from './stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function uptime(): string {
  return run('uptime', []).trim();
}

/** Builds nldump.c where a C compiler is there; '' (and the measure skipped) where not. */
function buildNldump(): string {
  const src = join(ROOT, 'bench/sockets/nldump.c');
  const out = join(ROOT, 'dist/bench/sockets/nldump');
  const r = spawnSync('cc', ['-O2', '-o', out, src], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    log(`  no binary netlink measure: cc -O2 ${src} failed (${r.error?.message ?? r.stderr.trim()})`);
    return '';
  }
  log(`  built ${out} (the binary netlink measure)`);
  return out;
}

function setUpNamespace(): void {
  log(`step 1: network namespace ${NS}`);
  createNamespace();
  sysctlInNs('net.ipv4.ip_local_port_range', CONFIG.portRange);
  const largestTimeWait = mix(CONFIG.sizes[CONFIG.sizes.length - 1]!).timeWait;
  const buckets = largestTimeWait * 2 + 10_000;
  if (Number(sysctlInNs('net.ipv4.tcp_max_tw_buckets')) < buckets) sysctlInNs('net.ipv4.tcp_max_tw_buckets', String(buckets));
  sysctlInNs('net.ipv4.tcp_tw_reuse', '0');
  log(
    `  lo up; in the namespace: ip_local_port_range ${sysctlInNs('net.ipv4.ip_local_port_range').replace(/\s+/, '–')}, ` +
      `tcp_max_tw_buckets ${sysctlInNs('net.ipv4.tcp_max_tw_buckets')}, tcp_tw_reuse ${sysctlInNs('net.ipv4.tcp_tw_reuse')}, ` +
      `somaxconn ${sysctlInNs('net.core.somaxconn')}, tcp_max_syn_backlog ${sysctlInNs('net.ipv4.tcp_max_syn_backlog')}`,
  );
}

async function measureSize(pop: Population, size: number, nldump: string): Promise<SizeResult> {
  const { timeWait, connections } = mix(size);
  log(`size ${size}: ${connections} ESTABLISHED connections (${connections * 2} sockets) + ${timeWait} TIME_WAIT; ${uptime()}`);
  await pop.setTimeWait(timeWait);
  await pop.growConnections(connections);
  const settle = await pop.settleTimeWait();
  log(`  TIME_WAIT at ${settle.tw} (target ${timeWait}) after ${fmt(settle.seconds)} s more`);
  const count = await inner<Count>('count', {});
  log(`  /proc/net/tcp{,6}: ${count.total} rows (tcp ${count.tcp.rows}, tcp6 ${count.tcp6.rows}; states ${JSON.stringify(count.tcp.byState)}; ${fmt((count.tcp.bytes + count.tcp6.bytes) / 1e6)} MB)`);

  log(`  floor, sample, netlink: ${CONFIG.warmups} warm-up + ${CONFIG.runs} interleaved rounds`);
  const stat = await measured(pop, 'floor/sample/netlink', () =>
    inner<StaticResult>('static', { runs: CONFIG.runs, warmups: CONFIG.warmups, breakdownRuns: CONFIG.breakdownRuns, nldump }),
  );
  let si = null;
  if (size <= CONFIG.siMaxSockets) {
    log(`  systeminformation.networkConnections(): ${CONFIG.siWarmups} warm-up + ${CONFIG.siRuns} rounds, the sample interleaved`);
    si = await measured(pop, 'systeminformation', () => inner<SiResult>('si', { runs: CONFIG.siRuns, warmups: CONFIG.siWarmups }));
  } else {
    log(`  systeminformation skipped above ${CONFIG.siMaxSockets} sockets (BENCH_SI_MAX_SOCKETS)`);
  }
  log(`  the daemon sampling every ${CONFIG.sampleIntervalMs} ms; /metrics ${CONFIG.steadySeconds} s at ${CONFIG.steadyRate}/s, then ${CONFIG.metricsSeconds} s back-to-back`);
  const metrics = await measured(pop, 'daemon', daemonPhase);
  return { size, timeWaitTarget: timeWait, connections, settleSeconds: settle.seconds, count, static: stat, si, metrics };
}

async function bench(): Promise<number> {
  installTeardown(CONFIG.deadlineSeconds);
  const uptimeAtStart = uptime();
  log(`node ${process.version}, kernel ${release()}, ${cpus().length} CPUs, ${fmt(totalmem() / 2 ** 30)} GiB RAM; ${uptimeAtStart}`);
  log(configSummary());
  setUpNamespace();
  const nldump = buildNldump();

  log('step 2: the daemon with no sockets, same /metrics load (RSS reference, not a target)');
  const baseline = await daemonPhase();
  log(`  daemon VmHWM with no sockets: ${fmt(((baseline.daemonMemoryAfterSteady.vmHwmKiB ?? Number.NaN) * 1024) / 1e6)} MB`);

  const nofile = hardNofile();
  const pop = new Population(nofile);
  log(`step 3: the curve; RLIMIT_NOFILE hard limit ${nofile}, so ≤ ${pop.perProcess} connections per holder process`);
  await pop.startChurners();
  const results: SizeResult[] = [];
  for (const size of CONFIG.sizes) results.push(await measureSize(pop, size, nldump));
  const uptimeAtEnd = uptime();

  log('step 4: teardown');
  await pop.stop();
  cleanupSync();
  return report(results, baseline, { uptimeAtStart, uptimeAtEnd, processes: pop.processes });
}

function report(results: SizeResult[], baseline: MetricsResult, meta: Record<string, unknown>): number {
  console.log('');
  console.log(`=== socket sampling growth curve — node ${process.version}, ${cpus().length} CPUs, ${fmt(elapsedSeconds() / 60, 1)} min ===`);
  for (const r of results) console.log(`${details(r)}\n`);
  console.log(`reference: the daemon with no sockets peaked at ${fmt(((baseline.daemonMemoryAfterSteady.vmHwmKiB ?? Number.NaN) * 1024) / 1e6, 0)} MB`);
  console.log(`load: at start "${String(meta['uptimeAtStart'])}", at end "${String(meta['uptimeAtEnd'])}"\n`);
  console.log('growth curve (medians):\n');
  console.log(growthTable(results));
  console.log('\nnetlink against the /proc floor (medians):\n');
  console.log(netlinkTable(results));
  const verdict = netlinkVerdict(results);
  console.log(`\nnetlink: ${verdict}\n`);
  const all = checks(results);
  console.log('targets');
  console.log(renderChecks(all));
  const pass = all.every((c) => c.ok);

  const dir = join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sockets-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const json = {
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    loadavgAtEnd: loadavg(),
    namespace: NS,
    config: CONFIG,
    targets: { ...TARGETS, daemonRssMbMax: results.map((r) => [r.size, TARGETS.daemonRssMbMax(r.size)]) },
    meta,
    minutes: elapsedSeconds() / 60,
    checks: all,
    pass,
    netlinkVerdict: verdict,
    tables: { growth: growthTable(results), netlink: netlinkTable(results) },
    baseline,
    sizes: results,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
  console.log(pass ? 'ALL TARGETS MET' : 'SOME TARGETS MISSED');
  return pass ? 0 : 1;
}

if (process.getuid?.() !== 0) {
  console.error('npm run bench must run as root: it creates a network namespace (ip netns) and sets sysctls in it.');
  process.exit(2);
}

bench().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    cleanupSync();
    process.exitCode = 1;
  },
);
