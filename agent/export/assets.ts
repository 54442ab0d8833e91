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

/** The stylesheet, and the script modules when they are there (running from dist/); `missing` lists those that are not. */
export function loadStatusAssets(dir: URL = new URL('./', import.meta.url)): { assets: Assets; missing: string[] } {
  const assets = new Map<string, Asset>([[`${ASSETS_PREFIX}status.css`, { type: 'text/css; charset=utf-8', body: Buffer.from(STATUS_CSS) }]]);
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
