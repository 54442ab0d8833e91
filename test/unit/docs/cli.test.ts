/**
 * docs/cli.md names every option of each command, and no option the command
 * does not have: the "Options:" paragraph of each command's section against the
 * options commander knows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../agent/cli.js';

const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

/** The flags named in the "Options:" paragraph of a section. */
function documented(section: string): string[] {
  const body = doc.split(/^## /m).find((s) => s.startsWith(section))!;
  const para = /^Options: ([\s\S]*?)\n\n/m.exec(body)![1]!;
  return [...new Set([...para.matchAll(/`(--[a-z.-]+)/g)].map((m) => m[1]!))].sort();
}

/** The flags `agent <command> --help` lists. */
async function actual(command: string): Promise<string[]> {
  let out = '';
  await runCli(['node', 'agent', command, '--help'], { stdout: (s) => (out += s), stderr: () => undefined, env: {} });
  return [...new Set([...out.matchAll(/^\s+(?:-\w, )?(--[a-z.-]+)/gm)].map((m) => m[1]!))].filter((f) => f !== '--help').sort();
}

describe('docs/cli.md', () => {
  it.each([
    ['agent run', 'run'],
    ['agent diagnose', 'diagnose'],
  ])('%s: the options it lists are the command\'s', async (section, command) => {
    expect(documented(section)).toEqual(await actual(command));
  });

  it('documents the report formats diagnose accepts', async () => {
    let out = '';
    await runCli(['node', 'agent', 'diagnose', '--help'], { stdout: (s) => (out += s), stderr: () => undefined, env: {} });
    expect(out).toMatch(/--format <format>[\s\S]*?choices:\s+"text",\s+"json",\s+"html"/);
    expect(doc).toContain('`--format text|json|html`');
  });
});
