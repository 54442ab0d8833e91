/**
 * `node --import <this> …`: writes the URL of every module the process loads to
 * $BENCH_TRACE_FILE, one a line. ES modules through a loader hook (traceLoader.ts,
 * which Node runs on its own thread); CommonJS packages (commander is one) through
 * require, which those hooks do not see on Node 20.
 */
import { appendFileSync } from 'node:fs';
import type Module from 'node:module';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env['BENCH_TRACE_FILE'];
if (file !== undefined) {
  register('./traceLoader.js', import.meta.url);
  const require = createRequire(import.meta.url);
  const cjs = require('node:module') as typeof Module & {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
    _resolveFilename: (request: string, parent: unknown, isMain: boolean) => string;
  };
  const seen = new Set<string>();
  const load = cjs._load;
  cjs._load = function traced(request, parent, isMain) {
    const resolved = cjs._resolveFilename(request, parent, isMain);
    const url = resolved.startsWith('node:') || !resolved.includes('/') ? `node:${resolved.replace(/^node:/, '')}` : pathToFileURL(resolved).href;
    if (!seen.has(url)) {
      seen.add(url);
      appendFileSync(file, `${url}\n`);
    }
    return load.call(this, request, parent, isMain);
  };
}
