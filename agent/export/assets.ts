/**
 * The files the status page loads from the agent itself: its stylesheet and
 * its script, which is the compiled renderer (agent/export/render/html/) plus
 * the small browser entry (web/statusClient.ts). Each is served at a fixed path
 * under /assets/ (an allow-list: nothing else under it answers), read once at
 * start from beside this module in dist/, and held in memory.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CSS } from './render/html/style.js';

/**
 * The script's modules, relative to this directory: the entry and everything it
 * imports at run time (test/unit/statusAssets.test.ts checks the list against
 * the imports).
 */
export const STATUS_SCRIPT_MODULES = [
  'web/statusClient.js',
  'render/html/page.js',
  'render/html/charts.js',
  'render/html/sections.js',
  'render/html/pace.js',
  'render/html/svg.js',
  'render/html/generic.js',
  'render/html/format.js',
  'render/html/escape.js',
  'render/html/style.js',
] as const;

export interface Asset {
  type: string;
  body: Buffer;
}

/** URL path → asset. */
export type Assets = ReadonlyMap<string, Asset>;

export const ASSETS_PREFIX = '/assets/';

/** The tab's icon: a gauge in the agent's colours. Served so the browser does not ask for /favicon.ico (a 404). */
const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1b1f24"/><path d="M3 10a5 5 0 0 1 10 0" fill="none" stroke="#d9822b" stroke-width="2"/><path d="M8 10l3-4" stroke="#fff" stroke-width="1.5"/></svg>\n';

/** The stylesheet and icon, and the script modules when they are there (running from dist/); `missing` lists those that are not. */
export function loadStatusAssets(dir: URL = new URL('./', import.meta.url)): { assets: Assets; missing: string[] } {
  const assets = new Map<string, Asset>([
    [`${ASSETS_PREFIX}status.css`, { type: 'text/css; charset=utf-8', body: Buffer.from(STATUS_CSS) }],
    [`${ASSETS_PREFIX}favicon.svg`, { type: 'image/svg+xml', body: Buffer.from(FAVICON_SVG) }],
  ]);
  const missing: string[] = [];
  for (const rel of STATUS_SCRIPT_MODULES) {
    let text: string;
    try {
      text = readFileSync(new URL(rel, dir), 'utf8');
    } catch {
      missing.push(rel);
      continue;
    }
    // The source map is not served: a browser's developer tools would ask for it and get a 404.
    text = text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    assets.set(`${ASSETS_PREFIX}${rel}`, { type: 'text/javascript; charset=utf-8', body: Buffer.from(text) });
  }
  return { assets, missing };
}
