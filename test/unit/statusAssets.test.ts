/**
 * The status page's script is the compiled renderer served from the agent's own
 * routes: the list of modules the server serves must be exactly what the
 * browser entry imports at run time, and none of them may import anything the
 * browser cannot load from there (a Node module, a package, a file outside the
 * list).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStatusAssets, STATUS_SCRIPT_MODULES } from '../../agent/export/assets.js';

const EXPORT_DIR = 'agent/export/';

/** Run-time imports of a TypeScript module (`import type` is erased by the compiler). */
function runtimeImports(rel: string): string[] {
  const text = readFileSync(`${EXPORT_DIR}${rel.replace(/\.js$/, '.ts')}`, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (rel: string): void => {
    if (seen.has(rel)) return;
    seen.add(rel);
    for (const spec of runtimeImports(rel)) {
      expect(spec, `${rel} imports ${spec}: the browser can load only relative modules the agent serves`).toMatch(/^\.\.?\//);
      walk(posix.normalize(posix.join(posix.dirname(rel), spec)));
    }
  };
  walk(entry);
  return seen;
}

describe('the status page script', () => {
  it('serves exactly the modules the browser entry imports at run time', () => {
    expect([...closure('web/statusClient.js')].sort()).toEqual([...STATUS_SCRIPT_MODULES].sort());
  });

  it('the renderer it shares with the server imports no Node module, package or other part of the agent', () => {
    for (const rel of STATUS_SCRIPT_MODULES) {
      for (const spec of runtimeImports(rel)) expect(STATUS_SCRIPT_MODULES).toContain(posix.normalize(posix.join(posix.dirname(rel), spec)));
    }
  });

  it('loads the stylesheet always, and names the modules missing when run from the TypeScript sources', () => {
    const { assets, missing } = loadStatusAssets(new URL('../../agent/export/', import.meta.url));
    expect(assets.get('/assets/status.css')?.type).toBe('text/css; charset=utf-8');
    expect(missing).toEqual([...STATUS_SCRIPT_MODULES]);
  });
});
