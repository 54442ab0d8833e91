/**
 * `npm run bench:startup`: how long `agent diagnose` takes from exec to exit on a
 * host with no sockets, against a bare `node -e 0` started by the same Node.
 *
 * What is left once the sockets are gone is the command's own fixed cost: Node's
 * start, loading the agent's modules, the config, host facts, one sample of an
 * empty table, rendering. That is what an on-call human waits for when the host is
 * healthy, and what a monitoring plugin pays on every check.
 *
 * 1. Copies test/fixtures/real-tw-exhaustion/proc to a temporary proc root with
 *    its TCP tables cut to their header line (the sysctls and counters stay), and
 *    runs `diagnose --json --rate-interval-ms 0` on it with no error log, nginx
 *    config or package database, so nothing but the start-up is timed.
 * 2. Alternates the two commands, bare Node then the agent, BENCH_RUNS times
 *    (default 40) after BENCH_WARMUP rounds (default 3, which also fills Node's
 *    compile cache where there is one). Alternating puts both under the same load
 *    on a shared machine; the ratio of the medians is the figure, not either time.
 * 3. Runs the agent once more with a loader hook that records every module it
 *    loads, and fails if the one-shot path loads what only the daemon needs.
 * 4. Prints the medians, the ratio and the load average; exits 1 when the ratio
 *    is above the target or a daemon-only package was loaded.
 *
 * The time is the parent's wall clock around a synchronous spawn, so both sides
 * carry the same spawn overhead. `hyperfine` is not needed; when it is installed,
 * BENCH_HYPERFINE=1 also prints its view of the same two commands (run one after
 * the other, not interleaved, so only for comparison).
 *
 * BENCH_NODE picks the Node binary to measure (default: the one running this),
 * BENCH_AGENT another build's dist/agent/main.js.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** BENCH_AGENT measures another build of the agent (a before/after), with this tree's fixture. */
const AGENT = process.env['BENCH_AGENT'] ?? join(ROOT, 'dist/agent/main.js');
const TRACE_HOOKS = fileURLToPath(new URL('./traceHooks.js', import.meta.url));

/** The ratio issue 14 asks of the one-shot command. */
const TARGET_RATIO = 3;

/** Packages only the daemon needs; the one-shot path must not pay for them. */
const DAEMON_ONLY = ['fastify', 'prom-client', 'chokidar', 'pino', 'bcryptjs', 'systeminformation', 'yaml'];

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

const NODE = process.env['BENCH_NODE'] ?? process.execPath;
const RUNS = envInt('BENCH_RUNS', 40);
const WARMUP = envInt('BENCH_WARMUP', 3);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A proc root with the fixture's sysctls and counters and no TCP sockets. */
function emptyProcRoot(dir: string): string {
  const proc = join(dir, 'proc');
  cpSync(join(ROOT, 'test/fixtures/real-tw-exhaustion/proc'), proc, { recursive: true });
  for (const table of ['net/tcp', 'net/tcp6']) {
    const path = join(proc, table);
    const header = readFileSync(path, 'utf8').split('\n')[0] ?? '';
    writeFileSync(path, `${header}\n`);
  }
  return proc;
}

function timed(argv: readonly string[], env: NodeJS.ProcessEnv): { ms: number; status: number | null; stderr: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.error) throw r.error;
  return { ms, status: r.status, stderr: r.stderr };
}

function main(): number {
  const dir = mkdtempSync(join(tmpdir(), 'npa-bench-startup-'));
  try {
    const procRoot = emptyProcRoot(dir);
    // A variable meant for a user's own runs would change what is measured.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NGINX_PORT_AGENT_')));
    const bare = [NODE, '-e', '0'];
    const agentArgs = ['diagnose', '--json', '--rate-interval-ms', '0', '--proc-root', procRoot];
    // No error log, nginx config or package database: nothing else to read.
    agentArgs.push('--error-log', join(dir, 'no-error.log'), '--nginx-conf', '', '--nginx-root', '');
    const agent = [NODE, AGENT, ...agentArgs];

    // diagnose exits 0..2 on a report; 3 (UNKNOWN) means it could not make one.
    const check = timed(agent, env);
    if (check.status === null || check.status > 2) {
      console.error(`agent diagnose failed (exit ${String(check.status)}):\n${check.stderr}`);
      return 1;
    }

    const bareMs: number[] = [];
    const agentMs: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const b = timed(bare, env).ms;
      const a = timed(agent, env).ms;
      if (i < WARMUP) continue;
      bareMs.push(b);
      agentMs.push(a);
    }

    const traceFile = join(dir, 'modules.txt');
    const traced = timed([NODE, '--import', pathToFileURL(TRACE_HOOKS).href, AGENT, ...agentArgs], { ...env, BENCH_TRACE_FILE: traceFile });
    if (traced.status === null || traced.status > 2) {
      console.error(`agent diagnose with the module trace failed (exit ${String(traced.status)}):\n${traced.stderr}`);
      return 1;
    }
    const urls = readFileSync(traceFile, 'utf8').split('\n').filter((u) => u !== '');
    const byPackage = new Map<string, number>();
    for (const url of urls) {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      const key = m ? m[1]! : url.startsWith('node:') ? 'node: built-ins' : url.includes('/dist/agent/') ? 'the agent' : 'other';
      byPackage.set(key, (byPackage.get(key) ?? 0) + 1);
    }
    const forbidden = DAEMON_ONLY.filter((p) => byPackage.has(p));

    const b = median(bareMs);
    const a = median(agentMs);
    const ratio = a / b;
    const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
    console.log(`node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()} (${NODE})`);
    console.log(`${RUNS} interleaved runs after ${WARMUP} warm-up rounds, medians; load average ${l1} ${l5} ${l15}`);
    console.log(`  bare node -e 0          ${b.toFixed(1)} ms`);
    console.log(`  agent diagnose --json   ${a.toFixed(1)} ms`);
    console.log(`  ratio                   ${ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO}×) ${ratio <= TARGET_RATIO ? 'PASS' : 'FAIL'}`);
    console.log(`modules loaded by diagnose: ${urls.length}`);
    for (const [key, n] of [...byPackage].sort((x, y) => y[1] - x[1])) console.log(`  ${String(n).padStart(4)}  ${key}`);
    if (forbidden.length > 0) console.log(`FAIL: the one-shot path loaded daemon-only packages: ${forbidden.join(', ')}`);

    if (process.env['BENCH_HYPERFINE'] === '1') {
      const hf = spawnSync('hyperfine', ['-N', '--warmup', '3', bare.join(' '), agent.map((x) => (x === '' ? "''" : x)).join(' ')], { stdio: 'inherit' });
      if (hf.error) console.log(`hyperfine not run (${hf.error.message}); the figures above stand on their own`);
    }
    return ratio <= TARGET_RATIO && forbidden.length === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
