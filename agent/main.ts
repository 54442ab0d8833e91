#!/usr/bin/env -S node --max-semi-space-size=4
// The flag: see nodeFlags.ts.
//
// `agent diagnose` starts from the one-file build of the CLI (scripts/bundle.mjs,
// run by `npm run build`): a one-shot command pays Node's per-module loading on
// every run. Every other command starts from the modules as tsc wrote them, so the
// daemon never holds two copies of one module. A build without the bundle (tsc
// alone) runs everything from the modules.
type Cli = typeof import('./cli.js');

const BUNDLE = './cli.bundle.js';

async function loadCli(): Promise<Cli> {
  if (process.argv.slice(2).includes('diagnose')) {
    try {
      return (await import(BUNDLE)) as Cli;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !(err as Error).message.includes('cli.bundle.js')) throw err;
    }
  }
  return import('./cli.js');
}

await (await loadCli()).main();
