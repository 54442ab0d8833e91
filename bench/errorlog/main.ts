/**
 * `npm run bench:errorlog`: the error-log benchmark, the agent against mtail.
 *
 * 1. Generates a realistic 1 000 000-line nginx error log (bench/errorlog/generate.ts,
 *    seeded, so every run reads the same bytes) in a temporary directory.
 * 2. Agent: dist/bench/errorlog/ingest.js in a child process, so the peak RSS
 *    (VmHWM) is the agent's alone. It does what the daemon does with a log it
 *    backfills: the real ErrorLogPipeline, its Tailer reading the file from its
 *    start, the backlog read in parts by worker threads (the daemon's default:
 *    one per core, up to four), every line into ErrorLogCounts and the findings
 *    window. Throughput = lines / time from the pipeline's start to the last byte
 *    counted (the process's start-up is reported apart). The same with one thread
 *    (--error-log-read-threads 1: line by line, as the daemon reads what nginx
 *    writes while it runs) is measured in the same rounds.
 * 3. mtail (Debian's 3.0.0~rc50): `mtail --one_shot --one_shot_format json --progs
 *    <dir> --logs <file>` with bench/errorlog/nginx_errors.mtail, the same
 *    classification by kind and destination. Throughput = lines / wall time of the
 *    process; its fixed cost (start, compile, an empty log) is measured and shown.
 * 4. Runs the two sides in turn, BENCH_RUNS times each (default 3), and takes medians.
 *    In the same run, as many times: `agent diagnose --json --error-log <file>` over
 *    the whole file (a whole process, as an operator runs it), mtail with a six-rule
 *    per-kind program (bench/errorlog/nginx_kinds.mtail, its yardstick), and
 *    `grep -c ''` (the floor: read the file, count its lines). Every ratio printed
 *    is of runs in the same sitting; the load average is printed at both ends.
 * 5. Checks that both count the same per kind (and per kind and destination, and
 *    lines and unparsed lines), and that the agent's kinds match what the
 *    generator wrote; prints every mismatch.
 * 6. Prints a table with PASS/FAIL per target, writes .bench/errorlog-<time>.json,
 *    exits 1 if a target is missed or the counts disagree (2 if mtail is missing).
 *
 * Knobs for quick experiments (defaults are the benchmark): BENCH_LINES,
 * BENCH_RUNS, BENCH_SEED.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_KINDS } from '../../agent/errorlog/parse/classify.js';
import { GENERATE_DEFAULTS, generateErrorLog } from './generate.js';
import type { IngestResult } from './ingest.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INGEST_JS = fileURLToPath(new URL('./ingest.js', import.meta.url));
const MTAIL_PROGRAM = join(ROOT, 'bench/errorlog/nginx_errors.mtail');
const MTAIL_KINDS_PROGRAM = join(ROOT, 'bench/errorlog/nginx_kinds.mtail');
const AGENT_MAIN_JS = fileURLToPath(new URL('../../agent/main.js', import.meta.url));

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

const CONFIG = {
  lines: envInt('BENCH_LINES', GENERATE_DEFAULTS.lines),
  seed: envInt('BENCH_SEED', GENERATE_DEFAULTS.seed),
  runs: envInt('BENCH_RUNS', 3),
};

const TARGETS = {
  speedupOverMtailMin: 10,
  agentLinesPerSecondMin: 1_000_000,
  agentRssMbMax: 150,
};

const t0 = Date.now();
function log(msg: string): void {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

function thousands(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** kind → destination → count */
type Counts = Map<string, Map<string, number>>;

function addCount(c: Counts, kind: string, destination: string, n: number): void {
  let byDest = c.get(kind);
  if (byDest === undefined) c.set(kind, (byDest = new Map<string, number>()));
  byDest.set(destination, (byDest.get(destination) ?? 0) + n);
}

function perKind(c: Counts): Map<string, number> {
  const out = new Map<string, number>();
  for (const [kind, byDest] of c) out.set(kind, [...byDest.values()].reduce((a, b) => a + b, 0));
  return out;
}

// --- the agent ------------------------------------------------------------------------

interface AgentRun {
  result: IngestResult;
  /** The child's whole life, as the parent saw it: start-up, module loading, the ingest. */
  wallSeconds: number;
}

/** threads: --error-log-read-threads (0: the daemon's default). */
function runAgent(file: string, threads: number): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [INGEST_JS, file, String(threads)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        reject(new Error(`ingest exited ${String(code)}: ${err}`));
        return;
      }
      resolve({ result: JSON.parse(out) as IngestResult, wallSeconds });
    });
  });
}

function agentCounts(r: IngestResult): Counts {
  const c: Counts = new Map();
  for (const s of r.series) addCount(c, s.kind, s.destination, s.count);
  return c;
}

// --- mtail ----------------------------------------------------------------------------

interface MtailRun {
  wallSeconds: number;
  /** The highest VmHWM read from /proc/<pid>/status while it ran (every 50 ms). */
  vmHwmKiB: number | null;
  counts: Counts;
  lines: number;
  unparsed: number;
}

interface MtailJsonMetric {
  Name: string;
  Keys?: string[];
  LabelValues?: { Labels?: string[]; Value: { Value: number } }[];
}

function vmHwmOf(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function mtailArgs(progs: string, file: string): string[] {
  // Flags as `mtail --help` of 3.0.0~rc50 lists them. --one_shot reads the logs from
  // their start to EOF, prints the metrics and exits; it still opens its HTTP port,
  // so: loopback, any free port.
  return ['--one_shot', '--one_shot_format', 'json', '--emit_prog_label=false', '--progs', progs, '--logs', file, '--logtostderr', '--address', '127.0.0.1', '--port', '0'];
}

function runMtail(progs: string, file: string): Promise<MtailRun> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('mtail', mtailArgs(progs, file), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let hwm: number | null = null;
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      const v = vmHwmOf(child.pid);
      if (v !== null) hwm = Math.max(hwm ?? 0, v);
    }, 50);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      // glog chatter; kept only for an error message.
      err = (err + d.toString()).slice(-4000);
    });
    child.once('error', (e) => {
      clearInterval(poll);
      reject(e);
    });
    child.once('exit', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearInterval(poll);
      if (code !== 0) {
        reject(new Error(`mtail exited ${String(code)}: ${err}`));
        return;
      }
      const metrics = JSON.parse(out === '' ? '{}' : out) as Record<string, MtailJsonMetric[] | undefined>;
      const counts: Counts = new Map();
      const scalar = (name: string): number =>
        (metrics[name] ?? []).reduce((a, m) => a + (m.LabelValues ?? []).reduce((b, lv) => b + lv.Value.Value, 0), 0);
      for (const m of metrics['nginx_error_log_events_total'] ?? []) {
        const ki = m.Keys?.indexOf('kind') ?? -1;
        const di = m.Keys?.indexOf('destination') ?? -1;
        for (const lv of m.LabelValues ?? []) addCount(counts, lv.Labels?.[ki] ?? '?', lv.Labels?.[di] ?? '?', lv.Value.Value);
      }
      resolve({ wallSeconds, vmHwmKiB: hwm, counts, lines: scalar('nginx_error_log_lines_total'), unparsed: scalar('nginx_error_log_unparsed_lines_total') });
    });
  });
}

// --- diagnose, grep -c --------------------------------------------------------------

interface TimedRun {
  wallSeconds: number;
  /** The highest VmHWM read from /proc/<pid>/status while it ran (every 50 ms), KiB. */
  vmHwmKiB: number | null;
  stdout: string;
}

/** Runs a command to its end, timing it and sampling its peak RSS; rejects on an exit code not in `ok`. */
function runTimed(cmd: string, args: readonly string[], ok: readonly number[]): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let hwm: number | null = null;
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      const v = vmHwmOf(child.pid);
      if (v !== null) hwm = Math.max(hwm ?? 0, v);
    }, 50);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('error', (e) => {
      clearInterval(poll);
      reject(e);
    });
    child.once('exit', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearInterval(poll);
      if (code === null || !ok.includes(code)) reject(new Error(`${cmd} exited ${String(code)}: ${err}`));
      else resolve({ wallSeconds, vmHwmKiB: hwm, stdout: out });
    });
  });
}

/**
 * `agent diagnose --json --error-log FILE` over the whole file, as an operator runs
 * it (a window from long before the log's first line). Its exit code is the
 * report's status (0–3, monitoring-plugin style), not a failure.
 */
function diagnoseArgs(file: string): string[] {
  return [AGENT_MAIN_JS, 'diagnose', '--json', '--error-log', file, '--from', '2000-01-01T00:00:00Z', '--rate-interval-ms', '0'];
}

async function runDiagnose(file: string): Promise<TimedRun & { perKind: Map<string, number> }> {
  const r = await runTimed(process.execPath, ['--max-semi-space-size=4', ...diagnoseArgs(file)], [0, 1, 2, 3]);
  const report = JSON.parse(r.stdout) as { errorLog?: { byKind: { kind: string; count: number }[] } };
  return { ...r, perKind: new Map((report.errorLog?.byKind ?? []).map((k) => [k.kind, k.count])) };
}

/** mtail with the six-rule program: per kind, its lines. */
async function runMtailKinds(progs: string, file: string): Promise<TimedRun & { perKind: Map<string, number> }> {
  const r = await runTimed('mtail', mtailArgs(progs, file), [0]);
  const metrics = JSON.parse(r.stdout === '' ? '{}' : r.stdout) as Record<string, MtailJsonMetric[] | undefined>;
  const perKind = new Map<string, number>();
  for (const m of metrics['nginx_error_log_kind_lines_total'] ?? []) for (const lv of m.LabelValues ?? []) perKind.set(lv.Labels?.[0] ?? '?', lv.Value.Value);
  return { ...r, perKind };
}

/** `grep -c ''`: reads the file and counts its lines; the floor any line-by-line reader stands on. */
async function runGrep(file: string): Promise<TimedRun> {
  return runTimed('grep', ['-c', '', file], [0]);
}

// --- comparison -----------------------------------------------------------------------

interface Mismatch {
  what: string;
  agent: number;
  other: number;
}

function compare(agent: Counts, mtail: Counts): { perKind: Mismatch[]; perKindDestination: Mismatch[] } {
  const ak = perKind(agent);
  const mk = perKind(mtail);
  const kinds = new Set([...ERROR_KINDS, ...ak.keys(), ...mk.keys()]);
  const perKindOut: Mismatch[] = [];
  for (const k of kinds) {
    const a = ak.get(k) ?? 0;
    const m = mk.get(k) ?? 0;
    if (a !== m) perKindOut.push({ what: k, agent: a, other: m });
  }
  const perKd: Mismatch[] = [];
  for (const k of kinds) {
    const dests = new Set([...(agent.get(k)?.keys() ?? []), ...(mtail.get(k)?.keys() ?? [])]);
    for (const d of dests) {
      const a = agent.get(k)?.get(d) ?? 0;
      const m = mtail.get(k)?.get(d) ?? 0;
      if (a !== m) perKd.push({ what: `${k} ${d}`, agent: a, other: m });
    }
  }
  return { perKind: perKindOut, perKindDestination: perKd };
}

// --- main -----------------------------------------------------------------------------

async function main(): Promise<number> {
  const version = spawnSync('mtail', ['--version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) {
    console.error('mtail is not installed (Debian: apt-get install mtail); the benchmark compares against it.');
    return 2;
  }
  const mtailVersion = (version.stdout.split('\n')[0] ?? '').trim();
  const machine = {
    node: process.version,
    mtail: mtailVersion,
    cpu: cpus()[0]?.model ?? '?',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
  log(`node ${machine.node}, ${machine.mtail}, ${machine.cpus} × ${machine.cpu}, load average ${machine.loadAverageAtStart.join(' ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'npa-bench-errorlog-'));
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }

  const file = join(dir, 'error.log');
  const genStart = Date.now();
  const gen = generateErrorLog(file, { lines: CONFIG.lines, seed: CONFIG.seed });
  // Written back to disk before anything is timed: the kernel's flusher would otherwise write the
  // 321 MB during the first rounds (dirty pages expire after 30 s) and take CPU from whichever ran then.
  const fd = openSync(file, 'r');
  fsyncSync(fd);
  closeSync(fd);
  const sizeMb = statSync(file).size / 1e6;
  log(`generated ${thousands(gen.lines)} lines, ${fmt(sizeMb)} MB (${gen.truncated} cut at 2048 bytes) in ${fmt((Date.now() - genStart) / 1000, 2)} s: ${file}`);
  const progs = join(dir, 'progs');
  mkdirSync(progs);
  copyFileSync(MTAIL_PROGRAM, join(progs, 'nginx_errors.mtail'));
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, '');

  // Compiles the program (a syntax error fails here, not after a long run) and
  // measures mtail's fixed cost.
  const mtailFixed = await runMtail(progs, empty);
  log(`mtail on an empty log: ${fmt(mtailFixed.wallSeconds * 1000, 0)} ms (start, compile, exit)`);

  const kindsProgs = join(dir, 'kinds');
  mkdirSync(kindsProgs);
  copyFileSync(MTAIL_KINDS_PROGRAM, join(kindsProgs, 'nginx_kinds.mtail'));

  const agentRuns: AgentRun[] = [];
  const oneThreadRuns: AgentRun[] = [];
  const mtailRuns: MtailRun[] = [];
  const diagnoseRuns: Awaited<ReturnType<typeof runDiagnose>>[] = [];
  const kindsRuns: Awaited<ReturnType<typeof runMtailKinds>>[] = [];
  const grepRuns: TimedRun[] = [];
  for (let i = 0; i < CONFIG.runs; i++) {
    const d = await runDiagnose(file);
    diagnoseRuns.push(d);
    log(`diagnose run ${i + 1}/${CONFIG.runs}: ${fmt(d.wallSeconds, 3)} s, ${thousands(gen.lines / d.wallSeconds)} lines/s, VmHWM ${fmt((d.vmHwmKiB ?? Number.NaN) / 1024)} MiB`);
    const k = await runMtailKinds(kindsProgs, file);
    kindsRuns.push(k);
    log(`mtail six-rule run ${i + 1}/${CONFIG.runs}: ${fmt(k.wallSeconds, 3)} s, ${thousands(gen.lines / k.wallSeconds)} lines/s`);
    const g = await runGrep(file);
    grepRuns.push(g);
    log(`grep -c run ${i + 1}/${CONFIG.runs}: ${fmt(g.wallSeconds, 3)} s, ${thousands(gen.lines / g.wallSeconds)} lines/s`);
  }
  for (let i = 0; i < CONFIG.runs; i++) {
    const a = await runAgent(file, 0);
    agentRuns.push(a);
    log(`agent run ${i + 1}/${CONFIG.runs} (${a.result.threads} threads): ${fmt(a.result.seconds, 3)} s ingest (${fmt(a.wallSeconds, 3)} s process), ${thousands(a.result.linesPerSecond)} lines/s, VmHWM ${fmt((a.result.vmHwmKiB ?? Number.NaN) / 1024)} MiB`);
    const a1 = await runAgent(file, 1);
    oneThreadRuns.push(a1);
    log(`agent run ${i + 1}/${CONFIG.runs} (one thread): ${fmt(a1.result.seconds, 3)} s ingest, ${thousands(a1.result.linesPerSecond)} lines/s, VmHWM ${fmt((a1.result.vmHwmKiB ?? Number.NaN) / 1024)} MiB`);
    const m = await runMtail(progs, file);
    mtailRuns.push(m);
    log(`mtail run ${i + 1}/${CONFIG.runs}: ${fmt(m.wallSeconds, 3)} s, ${thousands(m.lines / m.wallSeconds)} lines/s, VmHWM ${fmt((m.vmHwmKiB ?? Number.NaN) / 1024)} MiB`);
  }

  const agentLps = median(agentRuns.map((r) => r.result.linesPerSecond));
  const oneThreadLps = median(oneThreadRuns.map((r) => r.result.linesPerSecond));
  const agentThreads = agentRuns[0]!.result.threads;
  const agentProcessLps = median(agentRuns.map((r) => r.result.lines / r.wallSeconds));
  const mtailLps = median(mtailRuns.map((r) => r.lines / r.wallSeconds));
  const ratio = agentLps / mtailLps;
  const grepLps = median(grepRuns.map((r) => gen.lines / r.wallSeconds));
  const diagnoseLps = median(diagnoseRuns.map((r) => gen.lines / r.wallSeconds));
  const kindsLps = median(kindsRuns.map((r) => gen.lines / r.wallSeconds));
  const diagnoseRatio = diagnoseLps / kindsLps;
  const diagnoseRssMb = (Math.max(...diagnoseRuns.map((r) => r.vmHwmKiB ?? Number.NaN)) * 1024) / 1e6;
  // The six kinds the short program counts must be what diagnose counts.
  const kindsDiffs: Mismatch[] = [];
  for (const [kind, n] of kindsRuns[0]!.perKind) {
    const got = diagnoseRuns[0]!.perKind.get(kind) ?? 0;
    if (got !== n) kindsDiffs.push({ what: kind, agent: got, other: n });
  }
  const rssMb = (Math.max(...[...agentRuns, ...oneThreadRuns].map((r) => r.result.vmHwmKiB ?? Number.NaN)) * 1024) / 1e6;
  const mtailRssMb = (Math.max(...mtailRuns.map((r) => r.vmHwmKiB ?? Number.NaN)) * 1024) / 1e6;

  // Agreement: every run of each side must count the same; then agent vs mtail.
  const a0 = agentRuns[0]!;
  const m0 = mtailRuns[0]!;
  const ac = agentCounts(a0.result);
  const unstable =
    [...agentRuns, ...oneThreadRuns].some((r) => JSON.stringify(compare(agentCounts(r.result), ac)) !== JSON.stringify({ perKind: [], perKindDestination: [] })) ||
    mtailRuns.some((r) => JSON.stringify(compare(r.counts, m0.counts)) !== JSON.stringify({ perKind: [], perKindDestination: [] }));
  const diff = compare(ac, m0.counts);
  const lineDiffs: Mismatch[] = [];
  if (a0.result.lines !== m0.lines) lineDiffs.push({ what: 'lines', agent: a0.result.lines, other: m0.lines });
  if (a0.result.unparsed !== m0.unparsed) lineDiffs.push({ what: 'unparsed lines', agent: a0.result.unparsed, other: m0.unparsed });
  const intendedDiffs: Mismatch[] = [];
  const ak = perKind(ac);
  for (const [kind, n] of Object.entries(gen.intended)) {
    const got = kind === 'unparsed' ? a0.result.unparsed : (ak.get(kind) ?? 0);
    if (got !== n) intendedDiffs.push({ what: kind, agent: got, other: n });
  }
  const agree = diff.perKind.length === 0 && lineDiffs.length === 0 && !unstable;

  // --- report ---
  const w = [44, 14, 30];
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log('');
  console.log(`${thousands(gen.lines)} lines, ${fmt(sizeMb)} MB; ${CONFIG.runs} runs each, medians; node ${machine.node}`);
  console.log(row(['', 'lines/s', 'runs (s)']));
  console.log(row([`agent: daemon backfill, ${agentThreads} threads`, thousands(agentLps), agentRuns.map((r) => fmt(r.result.seconds, 3)).join(' ')]));
  console.log(row(['  same, whole process (Node start-up incl.)', thousands(agentProcessLps), agentRuns.map((r) => fmt(r.wallSeconds, 3)).join(' ')]));
  console.log(row(['  one thread, line by line (as when tailing)', thousands(oneThreadLps), oneThreadRuns.map((r) => fmt(r.result.seconds, 3)).join(' ')]));
  console.log(row([`mtail --one_shot (${mtailVersion.replace(/^mtail version (\S+).*$/, '$1')})`, thousands(mtailLps), mtailRuns.map((r) => fmt(r.wallSeconds, 3)).join(' ')]));
  console.log(row(['  of which fixed cost (empty log)', '', fmt(mtailFixed.wallSeconds, 3)]));
  console.log(row(['agent diagnose --json --error-log (process)', thousands(diagnoseLps), diagnoseRuns.map((r) => fmt(r.wallSeconds, 3)).join(' ')]));
  console.log(row(['mtail --one_shot, six-rule per-kind program', thousands(kindsLps), kindsRuns.map((r) => fmt(r.wallSeconds, 3)).join(' ')]));
  console.log(row(["grep -c '' (the floor)", thousands(grepLps), grepRuns.map((r) => fmt(r.wallSeconds, 3)).join(' ')]));
  console.log('');
  console.log(`ingest:   ${fmt(ratio, 2)}× mtail, ${fmt(agentLps / grepLps, 3)}× grep -c; one thread ${fmt(oneThreadLps / mtailLps, 2)}× mtail`);
  console.log(`diagnose: ${fmt(diagnoseRatio, 2)}× mtail (six rules), ${fmt(diagnoseLps / grepLps, 3)}× grep -c, peak RSS ${fmt(diagnoseRssMb)} MB`);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('');
  const results = [
    { target: `agent lines/s ≥ ${thousands(TARGETS.agentLinesPerSecondMin)}`, value: thousands(agentLps), ok: agentLps >= TARGETS.agentLinesPerSecondMin },
    { target: `agent/mtail lines/s ≥ ${TARGETS.speedupOverMtailMin}×`, value: `${fmt(ratio, 2)}×`, ok: ratio >= TARGETS.speedupOverMtailMin },
    { target: `agent peak RSS (VmHWM) < ${TARGETS.agentRssMbMax} MB`, value: `${fmt(rssMb)} MB`, ok: rssMb < TARGETS.agentRssMbMax },
    { target: `agent = mtail per kind (${ERROR_KINDS.length} kinds, lines, unparsed)`, value: agree ? 'equal' : 'DIFFER', ok: agree },
    { target: `diagnose/mtail six-rule lines/s ≥ ${TARGETS.speedupOverMtailMin}×`, value: `${fmt(diagnoseRatio, 2)}×`, ok: diagnoseRatio >= TARGETS.speedupOverMtailMin },
    { target: 'diagnose = mtail six-rule per kind', value: kindsDiffs.length === 0 ? 'equal' : 'DIFFER', ok: kindsDiffs.length === 0 },
  ];
  const rw = [48, 12, 6];
  for (const r of results) console.log([r.target.padEnd(rw[0]!), r.value.padStart(rw[1]!), (r.ok ? 'PASS' : 'FAIL').padStart(rw[2]!)].join('  '));
  console.log(`mtail peak RSS (VmHWM, sampled every 50 ms) ${fmt(mtailRssMb)} MB`);
  console.log('');
  console.log('per kind (agent = mtail = generator unless marked)');
  for (const kind of [...ERROR_KINDS, 'unparsed']) {
    const a = kind === 'unparsed' ? a0.result.unparsed : (ak.get(kind) ?? 0);
    const m = kind === 'unparsed' ? m0.unparsed : (perKind(m0.counts).get(kind) ?? 0);
    const g = gen.intended[kind] ?? 0;
    const mark = a !== m || a !== g ? `   ← agent ${a}, mtail ${m}, generator ${g}` : '';
    console.log(`  ${kind.padEnd(24)}${thousands(a).padStart(10)}${mark}`);
  }
  const show = (title: string, ms: Mismatch[], otherName: string) => {
    if (ms.length === 0) return;
    console.log(`${title}: ${ms.length}`);
    for (const m of ms.slice(0, 30)) console.log(`  ${m.what}: agent ${m.agent}, ${otherName} ${m.other}`);
    if (ms.length > 30) console.log(`  … ${ms.length - 30} more`);
  };
  show('MISMATCH agent vs mtail per kind', diff.perKind, 'mtail');
  show('mismatch agent vs mtail per kind and destination', diff.perKindDestination, 'mtail');
  show('MISMATCH agent vs mtail lines', lineDiffs, 'mtail');
  show('mismatch agent vs generator per kind', intendedDiffs, 'generator');
  show('MISMATCH diagnose vs mtail six-rule per kind', kindsDiffs, 'mtail');
  if (unstable) console.log('MISMATCH: runs of the same side counted differently');
  if (diff.perKindDestination.length === 0) console.log(`per kind and destination: equal (${[...ac.values()].reduce((a, d) => a + d.size, 0)} series)`);

  const outDir = join(ROOT, '.bench');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outFile = join(outDir, `errorlog-${stamp}.json`);
  writeFileSync(
    outFile,
    `${JSON.stringify(
      {
        benchmark: 'errorlog',
        at: new Date().toISOString(),
        machine,
        config: CONFIG,
        targets: TARGETS,
        input: { lines: gen.lines, bytes: gen.bytes, truncated: gen.truncated, intended: gen.intended },
        agent: {
          threads: agentThreads,
          linesPerSecondMedian: agentLps,
          processLinesPerSecondMedian: agentProcessLps,
          oneThread: {
            linesPerSecondMedian: oneThreadLps,
            runs: oneThreadRuns.map((r) => ({ seconds: r.result.seconds, linesPerSecond: r.result.linesPerSecond, vmHwmKiB: r.result.vmHwmKiB })),
          },
          vmHwmMb: rssMb,
          runs: agentRuns.map((r) => ({ seconds: r.result.seconds, processSeconds: r.wallSeconds, linesPerSecond: r.result.linesPerSecond, vmHwmKiB: r.result.vmHwmKiB, lines: r.result.lines, unparsed: r.result.unparsed, tooLong: r.result.tooLong })),
          perKind: Object.fromEntries(ak),
        },
        mtail: {
          version: mtailVersion,
          args: mtailArgs('<progs>', '<file>'),
          linesPerSecondMedian: mtailLps,
          fixedSeconds: mtailFixed.wallSeconds,
          vmHwmMb: mtailRssMb,
          runs: mtailRuns.map((r) => ({ seconds: r.wallSeconds, linesPerSecond: r.lines / r.wallSeconds, vmHwmKiB: r.vmHwmKiB, lines: r.lines, unparsed: r.unparsed })),
          perKind: Object.fromEntries(perKind(m0.counts)),
        },
        ratio,
        grep: { linesPerSecondMedian: grepLps, runs: grepRuns.map((r) => r.wallSeconds) },
        diagnose: {
          args: diagnoseArgs('<file>').slice(1),
          linesPerSecondMedian: diagnoseLps,
          vmHwmMb: diagnoseRssMb,
          runs: diagnoseRuns.map((r) => ({ seconds: r.wallSeconds, vmHwmKiB: r.vmHwmKiB })),
          mtailSixRule: { linesPerSecondMedian: kindsLps, runs: kindsRuns.map((r) => r.wallSeconds), perKind: Object.fromEntries(kindsRuns[0]!.perKind) },
          ratioToMtailSixRule: diagnoseRatio,
          ratioToGrep: diagnoseLps / grepLps,
        },
        loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
        mismatches: { perKind: diff.perKind, perKindDestination: diff.perKindDestination, lines: lineDiffs, generator: intendedDiffs, unstable },
        results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results: ${outFile}`);
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
