// After tsc: the one-shot command (`agent diagnose`) as one file, dist/agent/cli.bundle.js.
// Old chunks are removed first, so a rebuild leaves only the ones it wrote.
//
// Why: `diagnose` runs from cron jobs and monitoring checks, so its start-up is most
// of its cost, and most of that is Node's ES module loader doing its per-module
// work for the agent's own ~110 modules (bench/README.md, "Starting agent
// diagnose"). One file instead cuts that work to a single module.
//
// What it holds: the agent's own code behind cli.js. What cli.js loads only when
// it is needed (the HTML renderer, the nginx readers, zod to word a bad setting)
// stays a dynamic import, of a chunk file next to the bundle (cli.bundle-*.js), so
// a run that does not need it does not load it. Packages and Node built-ins stay
// imports, loaded as before. The daemon's modules (commands/run.js, logger.js)
// stay out: `agent run` starts from the unbundled cli.js (main.ts), so the
// daemon never mixes two copies of one module.
//
// The error-log scan (errorlog/read/recent.js and what it imports) is a chunk of
// its own, cli.bundle-scan.js: diagnose's worker threads run that module
// (`new URL(import.meta.url)`), and a worker that loads 65 KB instead of the
// whole diagnose chunk (270 KB) is ready about 8 ms sooner. Its name has no hash:
// the entry (main.ts) starts one scan thread on it before the bundle loads.
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'rolldown';

for (const f of readdirSync('dist/agent')) if (f.startsWith('cli.bundle')) rmSync(`dist/agent/${f}`);

const DAEMON_ONLY = new Set(['./commands/run.js', './logger.js']);

await build({
  input: 'dist/agent/cli.js',
  platform: 'node',
  logLevel: 'warn',
  // Bare specifiers are packages or built-ins: imported at run time, as without the bundle.
  external: (id, importer) => DAEMON_ONLY.has(id) && importer?.endsWith('/dist/agent/cli.js') === true ? true : !id.startsWith('.') && !id.startsWith('/'),
  output: {
    dir: 'dist/agent',
    entryFileNames: 'cli.bundle.js',
    chunkFileNames: (chunk) => (chunk.name === 'scan' ? 'cli.bundle-scan.js' : 'cli.bundle-[name]-[hash].js'),
    format: 'esm',
    codeSplitting: { groups: [{ name: 'scan', test: /dist\/agent\/errorlog\/read\/recent\.js$/ }] },
  },
});
