import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareVersions, parseNginxVersion, readNginxVersion, versionBefore } from '../../../agent/nginxconf/read/version.js';
import { describeWith } from '../../support/gate.js';

describe('parseNginxVersion', () => {
  it.each([
    ['nginx version: nginx/1.22.1\n', { product: 'nginx', version: '1.22.1' }],
    ['nginx version: nginx/1.24.0 (Ubuntu)\n', { product: 'nginx', version: '1.24.0' }],
    ['nginx version: nginx/1.29.7\nbuilt by gcc 12.2.0\n', { product: 'nginx', version: '1.29.7' }],
    ['nginx version: openresty/1.21.4.1\n', { product: 'openresty', version: '1.21.4' }],
    ['nginx version: freenginx/1.27.2\n', { product: 'freenginx', version: '1.27.2' }],
    ['Tengine version: Tengine/2.3.3 (nginx/1.18.0)\n', { product: 'Tengine', version: '1.18.0' }],
    ['nginx version: nginx/1.25.3 (nginx-plus-r31)\n', { product: 'nginx', version: '1.25.3' }],
  ])('%j', (text, expected) => {
    expect(parseNginxVersion(text)).toEqual(expected);
  });

  it.each(['', 'nginx: invalid option: "-v"', 'nginx version: nginx', 'Apache/2.4.57'])('no version in %j', (text) => {
    expect(parseNginxVersion(text)).toBeNull();
  });
});

describe('compareVersions', () => {
  it.each<[string, string, number]>([
    ['1.22.1', '1.29.7', -1],
    ['1.29.7', '1.29.7', 0],
    ['1.29.10', '1.29.7', 1],
    ['1.9.0', '1.22.1', -1],
    ['2.0', '1.99.99', 1],
    ['1.29', '1.29.0', 0],
    ['1.x.3', '1.0.3', 0],
  ])('%s vs %s → %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('versionBefore answers "version < X"', () => {
    expect(versionBefore('1.22.1', '1.29.7')).toBe(true);
    expect(versionBefore('1.29.7', '1.29.7')).toBe(false);
    expect(versionBefore('1.30.0', '1.29.7')).toBe(false);
  });
});

describe('readNginxVersion: runs `bin -v`, no shell, with a time limit, and never throws', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nginxconf-bin-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it('reads the version from stderr, passing -v as the only argument', async () => {
    const bin = script('fake-nginx', 'if [ "$#" = 1 ] && [ "$1" = -v ]; then echo "nginx version: nginx/1.26.2" >&2; else echo "args: $*" >&2; exit 1; fi');
    expect(await readNginxVersion(bin, 5000)).toEqual({ ok: true, product: 'nginx', version: '1.26.2' });
  });

  it('does not hand the path to a shell', async () => {
    const marker = join(dir, 'touched');
    const r = await readNginxVersion(`${join(dir, 'fake-nginx')}; touch ${marker}`, 5000);
    expect(r.ok).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it.each<[string, () => string, number, RegExp]>([
    ['a missing binary', () => join(dir, 'absent'), 5000, /absent does not exist; give nginx's path with --nginx-bin or its version with --nginx-version$/],
    ['a file that is not executable', () => (writeFileSync(join(dir, 'plain'), 'x'), join(dir, 'plain')), 5000, /permission denied/],
    ['a binary that prints something else', () => script('other', 'echo "usage: other" >&2; exit 2'), 5000, /printed "usage: other", not a version line such as "nginx version: nginx\/1.22.1"/],
    ['a binary that prints nothing', () => script('silent', 'exit 0'), 5000, /printed nothing/],
    ['a binary that hangs', () => script('hang', 'exec sleep 30'), 300, /gave no answer within 300 ms and was stopped/],
  ])('%s becomes a message', async (_name, bin, timeout, message) => {
    const started = Date.now();
    const r = await readNginxVersion(bin(), timeout);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(message);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describeWith(['linux', 'command:nginx'], 'readNginxVersion on the installed nginx', () => {
  it('reads the version the installed nginx reports (checked against `nginx -V`)', async () => {
    const bin = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
    const r = await readNginxVersion(bin, 5000);
    expect(r).toMatchObject({ ok: true, product: 'nginx' });
    // -V prints the same first line, then the build options: an independent read of the same fact.
    const viaV = /nginx\/(\d+\.\d+\.\d+)/.exec(spawnSync(bin, ['-V'], { encoding: 'utf8' }).stderr)?.[1];
    expect(viaV).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.ok && r.version).toBe(viaV);
  });
});
