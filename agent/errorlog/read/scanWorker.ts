/**
 * Starting diagnose's scan threads (read/recent.ts, ScanThreads), and starting
 * one of them early: from the agent's entry (main.ts), before the command's own
 * modules load.
 *
 * Why early: from Node's start to `diagnose` asking its threads to read, the
 * command's thread loads its modules and reads its settings, about 45 ms on the
 * 2-core benchmark machine, while the other core is idle; a worker takes
 * 30–35 ms to start. Started from the entry, one worker boots on that idle core
 * and is ready when the first request comes, instead of ~80 ms after (booting
 * beside the other worker and the command's own work). `diagnose` over the
 * benchmark's 1 M lines, alternating runs on Node 20: 0.973× and 0.975× the
 * time. One, not all: starting both there, an earlier build measured no gain
 * (bench/README.md), the two booting threads taking the cores the command's
 * loading needed.
 *
 * The entry only guesses, from the command line (scanPrestartWanted), before
 * any setting is read; diagnose takes the worker when it starts its threads and
 * ends it when it reads no file in parts. The worker is handed over through a
 * process-wide slot (a registered symbol on globalThis), not through this
 * module's state: the entry runs this module as tsc wrote it, diagnose runs a
 * copy of it inside the one-file build (scripts/bundle.mjs).
 *
 * Small on purpose: the entry loads it before anything else of the agent's.
 */
import { statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { SCAN_V8_FLAGS } from '../../nodeFlags.js';

/** What a scan worker is told it is (its workerData), so the module it runs knows to serve scans. */
export const SCAN_ROLE = 'nginx-port-agent errorlog scan';

/** Below this many bytes to scan, a file is read by one thread: a worker's start (tens of ms) would cost more than it saves. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

/** A scan worker and, once it has failed to start or died, why. */
export interface StartedWorker {
  readonly worker: Worker;
  failure: string | null;
}

/**
 * A worker running the scan module at `url`, unref'd (it never holds the
 * process), with the V8 flags the scan wants set first (nodeFlags.ts: V8 reads
 * them when it creates the worker's isolate).
 */
export function startScanWorker(url: URL): StartedWorker {
  setFlagsFromString(SCAN_V8_FLAGS);
  const started: StartedWorker = { worker: new Worker(url, { workerData: { role: SCAN_ROLE } }), failure: null };
  started.worker.unref();
  // A worker that fails to start says so here; the scan then leaves its parts to the others.
  started.worker.on('error', (err) => {
    started.failure ??= err.message;
  });
  started.worker.on('exit', (code) => {
    started.failure ??= `the scan thread exited (${code})`;
  });
  return started;
}

interface Prestarted {
  /** The module the worker runs. */
  href: string;
  started: StartedWorker;
}

const SLOT = Symbol.for('nginx-port-agent.prestartedScanWorker');
type Slotted = typeof globalThis & { [SLOT]?: Prestarted | undefined };

/** Starts one scan worker running the module at `url` now, for diagnose to take (takePrestarted). */
export function prestartScanWorker(url: URL): void {
  const g = globalThis as Slotted;
  if (g[SLOT] !== undefined) return;
  g[SLOT] = { href: url.href, started: startScanWorker(url) };
}

/**
 * The worker prestartScanWorker started, if it runs the module at `url`; a
 * worker running any other module is ended. Either way the slot is empty after.
 */
export function takePrestarted(url: URL): StartedWorker | null {
  const p = emptySlot();
  if (p?.href === url.href) return p.started;
  void p?.started.worker.terminate();
  return null;
}

/** Ends a prestarted worker nobody took (diagnose reads no file in parts). */
export function discardPrestarted(): void {
  void emptySlot()?.started.worker.terminate();
}

/** What the slot held; it is empty after. */
function emptySlot(): Prestarted | undefined {
  const g = globalThis as Slotted;
  const p = g[SLOT];
  g[SLOT] = undefined;
  return p;
}

/** The values of a repeatable `--name <value>` option (also `--name=value`), in order. */
function optionValues(args: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === name && i + 1 < args.length) values.push(args[++i]!);
    else if (a.startsWith(`${name}=`)) values.push(a.slice(name.length + 1));
  }
  return values;
}

/**
 * Whether the command line (process.argv less node and the script) is a
 * `diagnose` that will read an error log in parts: an `--error-log` that names
 * a plain file (not .gz, not a pattern) of PARALLEL_MIN_BYTES or more, and
 * threads to read it (`--error-log-read-threads` not 1; unset or 0, more than
 * one core). Only the command line: logs and threads set in a config file or
 * the environment start no worker early (diagnose then starts its own as
 * usual), and a guess that turns out wrong costs one worker's start on a core
 * that was idle. Pure: sizes come from `sizeOf` (null: not a plain file).
 */
export function scanPrestartWanted(args: readonly string[], cores: number, sizeOf: (path: string) => number | null): boolean {
  if (args[0] !== 'diagnose') return false;
  const given = optionValues(args, '--error-log-read-threads').at(-1);
  // Not a number: diagnose will refuse the setting, and read nothing.
  const threads = given === undefined ? 0 : /^\d+$/.test(given) ? Number(given) : 1;
  if (threads === 1 || (threads === 0 && cores < 2)) return false;
  return optionValues(args, '--error-log').some((p) => !p.endsWith('.gz') && !/[*?[]/.test(p) && (sizeOf(p) ?? 0) >= PARALLEL_MIN_BYTES);
}

/** A path's size when it is a plain file, else null. */
export function plainFileSize(path: string): number | null {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}
