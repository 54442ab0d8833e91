#!/usr/bin/env -S node --max-semi-space-size=4
// The flag: see nodeFlags.ts.
//
// `agent diagnose` starts from the one-file build of the CLI (scripts/bundle.mjs,
// run by `npm run build`): a one-shot command pays Node's per-module loading on
// every run. Every other command starts from the modules as tsc wrote them, so the
// daemon never holds two copies of one module. A build without the bundle (tsc
// alone) runs everything from the modules.
//
// `agent diagnose` over a large error log also starts one of its scan threads
// here, before the CLI loads, on the core that is idle meanwhile
// (errorlog/read/scanWorker.ts says why one, and how diagnose takes it).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

type Cli = typeof import('./cli.js');

const BUNDLE = './cli.bundle.js';
/** The scan's chunk of the one-file build (named without a hash: scripts/bundle.mjs), and the module it is built from. */
const SCAN_CHUNK = './cli.bundle-scan.js';
const SCAN_MODULE = './errorlog/read/recent.js';

const args = process.argv.slice(2);

// Only a command line that names a log can ask for it: the others load nothing more.
if (args.includes('diagnose') && args.some((a) => a === '--error-log' || a.startsWith('--error-log='))) {
  const scan = await import('./errorlog/read/scanWorker.js');
  if (scan.scanPrestartWanted(args, availableParallelism(), scan.plainFileSize)) {
    const chunk = new URL(SCAN_CHUNK, import.meta.url);
    scan.prestartScanWorker(existsSync(chunk) ? chunk : new URL(SCAN_MODULE, import.meta.url));
  }
}

async function loadCli(): Promise<Cli> {
  if (args.includes('diagnose')) {
    try {
      return (await import(BUNDLE)) as Cli;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !(err as Error).message.includes('cli.bundle.js')) throw err;
    }
  }
  return import('./cli.js');
}

await (await loadCli()).main();
