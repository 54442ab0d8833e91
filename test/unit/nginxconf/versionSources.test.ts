/**
 * The version without running nginx: its binary read as bytes, the running
 * master found under a fixture proc tree, dpkg's database, and which source wins
 * (model/versionSource.ts). Files are written to a scratch directory; nothing of
 * the machine's own /proc or packages is read.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLogVersion, type NginxSnapshot } from '../../../agent/nginxconf/model/evidence.js';
import { chooseVersion, type VersionFinding } from '../../../agent/nginxconf/model/versionSource.js';
import { BINARY_SCAN_OVERLAP, findNginxVersionInBinary } from '../../../agent/nginxconf/parse/binaryVersion.js';
import { installedNginx } from '../../../agent/nginxconf/parse/dpkgStatus.js';
import { executableMappings, nginxProcessRole } from '../../../agent/nginxconf/parse/procfs.js';
import { readVersionFromBinary } from '../../../agent/nginxconf/read/binary.js';
import { readPackageVersion } from '../../../agent/nginxconf/read/package.js';
import { readRunningNginxVersion } from '../../../agent/nginxconf/read/process.js';
import { loadNginx, type NginxSettings } from '../../../agent/nginxconf/read/snapshot.js';

let scratch = '';
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nginx-version-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A stand-in binary: ELF-ish noise, the decoy strings real nginx holds, and the `nginx -v` literal. */
function fakeBinary(version: string, before = 4096, product = 'nginx'): Buffer {
  const noise = Buffer.alloc(before, 0x90);
  const decoys = Buffer.from(`\0Server: ${product}/9.9.9\r\n\0<hr><center>${product}/9.9.9</center>\0`, 'latin1');
  return Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\0', 'latin1'), noise, decoys, Buffer.from(`nginx version: ${product}/${version}\n\0built by gcc\0`, 'latin1'), Buffer.alloc(1000)]);
}

describe('the version string compiled into the binary', () => {
  it.each<[string, string, { product: string; version: string } | null]>([
    ['Debian 12', '\0\0nginx version: nginx/1.22.1\n\0', { product: 'nginx', version: '1.22.1' }],
    ['with a build name', 'xx\0nginx version: nginx/1.24.0 (Ubuntu)\n', { product: 'nginx', version: '1.24.0' }],
    ['OpenResty', '\0nginx version: openresty/1.25.3.1\0', { product: 'openresty', version: '1.25.3' }],
    ['Tengine', '\0Tengine version: Tengine/2.3.3 (nginx/1.18.0)\n', { product: 'Tengine', version: '1.18.0' }],
    ['only the decoys', '\0Server: nginx/1.22.1\r\n\0<center>nginx/1.22.1</center>\0', null],
    ['not nginx', '\0GNU C Library version 2.36\0', null],
  ])('%s', (_name, text, expected) => {
    expect(findNginxVersionInBinary(bytes(text))).toEqual(expected);
  });

  it('reads a file across its 1 MiB chunks, the string cut by a chunk boundary', async () => {
    // "nginx version: " starts 10 bytes before the first chunk ends.
    const file = join(scratch, 'nginx');
    writeFileSync(file, fakeBinary('1.30.6', 1024 * 1024 - 10 - 8 - 60));
    chmodSync(file, 0o644);
    expect(await readVersionFromBinary(file)).toEqual({ ok: true, product: 'nginx', version: '1.30.6' });
    expect(BINARY_SCAN_OVERLAP).toBeGreaterThan(200);
  });

  it('says what is wrong with a file that is not nginx, or not there', async () => {
    writeFileSync(join(scratch, 'sh'), Buffer.alloc(3 * 1024 * 1024, 0x41));
    expect(await readVersionFromBinary(join(scratch, 'sh'))).toEqual({ ok: false, error: 'holds no "nginx version: …" string (not an nginx binary?)', code: 'ENOVERSION' });
    expect(await readVersionFromBinary(join(scratch, 'missing'))).toMatchObject({ ok: false, error: 'does not exist', code: 'ENOENT' });
    expect(await readVersionFromBinary(scratch)).toMatchObject({ ok: false, code: 'ENOTREG' });
  });
});

describe('nginx processes in procfs', () => {
  it.each<[string, string, string, string | null]>([
    ['Debian master', 'nginx\n', 'nginx: master process /usr/sbin/nginx -g daemon on; master_process on;', 'master'],
    ['worker', 'nginx\n', 'nginx: worker process', 'worker'],
    ['cache manager', 'nginx\n', 'nginx: cache manager process', 'worker'],
    // Started through the loader: its arguments come before nginx's title (captured from nginx 1.30 under ld.so).
    ['loader-started master, its title cut short', 'nginx\n', '/opt/nginx-1.30/loader/nginx\0--library-path\0/opt/nginx-1.30/usr/lib/x86_64-linux-gnu\0--argv0\0nginx: master proces\0\0/opt/nginx-1.30/usr/sbin/nginx\0-p\0/tmp/x/\0', 'master'],
    ['master_process off', 'nginx\n', '/usr/sbin/nginx\0-c\0/etc/nginx/nginx.conf\0', 'single'],
    ['the official image\'s debug binary', 'nginx-debug\n', 'nginx-debug\0-g\0daemon off;\0', 'single'],
    ['a shell that only says the words', 'bash\n', 'bash\0-c\0echo nginx: master process\0', null],
    ['not nginx at all', 'node\n', 'node\0dist/agent/main.js\0', null],
  ])('%s', (_name, comm, cmdline, role) => {
    expect(nginxProcessRole(comm, cmdline)).toBe(role);
  });

  it('lists the executables a process maps, libraries left out (captured from nginx 1.30 started through ld.so)', () => {
    const maps = [
      '55d0c6a00000-55d0c6a2c000 r--p 00000000 fd:01 1311 /opt/nginx-1.30/usr/sbin/nginx',
      '55d0c6a2c000-55d0c6b4b000 r-xp 0002c000 fd:01 1311 /opt/nginx-1.30/usr/sbin/nginx',
      '7f1c2e600000-7f1c2e628000 r-xp 00028000 fd:01 2210 /opt/nginx-1.30/usr/lib/x86_64-linux-gnu/libc.so.6',
      '7f1c2e900000-7f1c2e901000 r-xp 00001000 fd:01 2200 /opt/nginx-1.30/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      '7f1c2e800000-7f1c2e810000 r-xp 00002000 fd:01 2300 /usr/lib/nginx/modules/ngx_stream_module.so',
      '7ffd3c9f3000-7ffd3c9f5000 r-xp 00000000 00:00 0                          [vdso]',
      '7f1c2ea00000-7f1c2ea01000 r-xp 00000000 fd:01 1400 /usr/sbin/nginx.old (deleted)',
    ].join('\n');
    expect(executableMappings(maps)).toEqual(['/opt/nginx-1.30/usr/sbin/nginx', '/usr/sbin/nginx.old']);
  });
});

/** A proc tree: one directory per pid with comm, cmdline, and exe (a symlink to a stand-in binary) or maps and root/. */
function proc(pids: Record<number, { comm: string; cmdline: string; exe?: Buffer; maps?: string; rootFiles?: Record<string, Buffer> }>): string {
  const root = join(scratch, 'proc');
  for (const [pid, p] of Object.entries(pids)) {
    const d = join(root, pid);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'comm'), p.comm);
    writeFileSync(join(d, 'cmdline'), p.cmdline);
    if (p.exe !== undefined) {
      writeFileSync(join(scratch, `bin-${pid}`), p.exe);
      symlinkSync(join(scratch, `bin-${pid}`), join(d, 'exe'));
    }
    if (p.maps !== undefined) writeFileSync(join(d, 'maps'), p.maps);
    for (const [path, content] of Object.entries(p.rootFiles ?? {})) {
      mkdirSync(join(d, 'root', path, '..'), { recursive: true });
      writeFileSync(join(d, 'root', path), content);
    }
  }
  mkdirSync(join(root, 'net'), { recursive: true });
  return root;
}

describe('the running nginx master', () => {
  const MASTER = 'nginx: master process /usr/sbin/nginx -g daemon on;\0';
  it('reads the master\'s executable, not a worker\'s nor any other process', async () => {
    const root = proc({
      1: { comm: 'systemd\n', cmdline: '/sbin/init\0' },
      812: { comm: 'nginx\n', cmdline: MASTER, exe: fakeBinary('1.30.6') },
      813: { comm: 'nginx\n', cmdline: 'nginx: worker process\0', exe: fakeBinary('9.9.9') },
    });
    expect(await readRunningNginxVersion(root)).toEqual({
      found: { from: 'process', product: 'nginx', version: '1.30.6', detail: `${root}/812/exe (nginx master pid 812)` },
      attempt: null,
    });
  });

  it('started through a dynamic loader: the nginx binary it maps, read through the process\'s root', async () => {
    const root = proc({
      700: {
        comm: 'nginx\n',
        cmdline: '/opt/nginx/loader/nginx\0--argv0\0nginx: master process /opt/nginx/nginx\0',
        exe: Buffer.from('\x7fELF the loader, no version here'),
        maps: '55d0c6a2c000-55d0c6b4b000 r-xp 0002c000 fd:01 1311 /opt/nginx/usr/sbin/nginx\n',
        rootFiles: { 'opt/nginx/usr/sbin/nginx': fakeBinary('1.30.6') },
      },
    });
    const r = await readRunningNginxVersion(root);
    expect(r.found).toMatchObject({ version: '1.30.6', detail: `/opt/nginx/usr/sbin/nginx, mapped by the nginx master pid 700 (read as ${root}/700/root/opt/nginx/usr/sbin/nginx)` });
  });

  it('says why when the executable cannot be opened (another user, no CAP_SYS_PTRACE)', async () => {
    const root = proc({ 812: { comm: 'nginx\n', cmdline: MASTER, exe: fakeBinary('1.30.6') } });
    const r = await readRunningNginxVersion(root, () => Promise.resolve({ ok: false, error: 'permission denied', code: 'EACCES' }));
    expect(r.found).toBeNull();
    expect(r.attempt!.error).toBe(
      `${root}/812/exe (nginx master pid 812): permission denied (the agent may read another process's executable only as the same user or with CAP_SYS_PTRACE: run it as nginx's user, grant CAP_SYS_PTRACE, or give --nginx-version)`,
    );
  });

  it('two masters with different versions: unknown, not a guess', async () => {
    const root = proc({
      812: { comm: 'nginx\n', cmdline: MASTER, exe: fakeBinary('1.22.1') },
      900: { comm: 'nginx\n', cmdline: 'nginx: master process /opt/nginx/sbin/nginx\0', exe: fakeBinary('1.30.6') },
    });
    const r = await readRunningNginxVersion(root);
    expect(r.found).toBeNull();
    expect(r.attempt!.error).toMatch(/^nginx masters run different versions \(.*812\/exe.*: 1\.22\.1, .*900\/exe.*: 1\.30\.6\): give --nginx-version$/);
  });

  it('no nginx under the proc root', async () => {
    const root = proc({ 1: { comm: 'systemd\n', cmdline: '/sbin/init\0' } });
    expect(await readRunningNginxVersion(root)).toEqual({ found: null, attempt: { from: 'process', error: `no nginx process under ${root}` } });
  });
});

const STATUS = `Package: libc6
Status: install ok installed
Version: 2.36-9+deb12u9

Package: nginx
Status: install ok installed
Priority: optional
Version: 1.22.1-9+deb12u1
Description: small, powerful, scalable web/proxy server

Package: nginx-common
Status: install ok installed
Version: 1.22.1-9+deb12u1
`;

describe('the installed package (dpkg)', () => {
  it.each<[string, string, { package: string; version: string } | null]>([
    ['Debian 12', STATUS, { package: 'nginx', version: '1.22.1' }],
    ['nginx.org', 'Package: nginx\nStatus: install ok installed\nVersion: 1.27.3-1~bookworm\n', { package: 'nginx', version: '1.27.3' }],
    ['an epoch', 'Package: nginx-core\nStatus: install ok installed\nVersion: 2:1.18.0-6ubuntu14.4\n', { package: 'nginx-core', version: '1.18.0' }],
    ['removed, config files left', 'Package: nginx\nStatus: deinstall ok config-files\nVersion: 1.22.1-9\n', null],
    ['no nginx', 'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n', null],
  ])('%s', (_name, status, expected) => {
    const r = installedNginx(status);
    if (expected === null) expect(r).toBeNull();
    else expect(r).toMatchObject(expected);
  });

  it('reads var/lib/dpkg/status under the root it is given', async () => {
    mkdirSync(join(scratch, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(scratch, 'var/lib/dpkg/status'), STATUS);
    expect(await readPackageVersion(scratch)).toEqual({
      found: {
        from: 'package',
        product: 'nginx',
        version: '1.22.1',
        detail: `${scratch}/var/lib/dpkg/status: nginx 1.22.1-9+deb12u1 installed (a running nginx is older if it was not restarted after an upgrade)`,
      },
      attempt: null,
    });
    expect((await readPackageVersion(join(scratch, 'nothing'))).attempt).toEqual({ from: 'package', error: `${scratch}/nothing/var/lib/dpkg/status does not exist` });
  });
});

describe('which source wins', () => {
  const f = (from: VersionFinding['from'], version: string): VersionFinding => ({ from, product: 'nginx', version, detail: `from ${from}` });
  it('the highest precedence, whatever the order found', () => {
    expect(chooseVersion([f('package', '1.22.1'), f('process', '1.30.6'), f('error-log', '1.29.0')], [])).toEqual({ version: '1.30.6', versionFrom: 'process', versionSource: 'process: from process' });
    expect(chooseVersion([f('error-log', '1.29.0'), f('flag', '1.22.1')], [])).toMatchObject({ version: '1.22.1', versionFrom: 'flag' });
  });

  it('none: every source tried, in order, and what to do', () => {
    expect(chooseVersion([], [{ from: 'package', error: 'p' }, { from: 'nginx-bin', error: 'b' }]).versionSource).toBe('unknown: nginx-bin: b; package: p; give --nginx-version or --nginx-bin');
    expect(chooseVersion([], []).versionSource).toBe('unknown: give --nginx-version or --nginx-bin');
  });

  it('the error log\'s start-up line decides only below the running binary and above the package', () => {
    const base = (found: VersionFinding[]): NginxSnapshot => ({ read: null, configPath: null, configNote: null, configChangedAtMs: null, ...chooseVersion(found, []), versionFound: found, versionAttempts: [] });
    const log = f('error-log', '1.29.8');
    expect(withLogVersion(base([f('package', '1.22.1')]), log)).toMatchObject({ version: '1.29.8', versionFrom: 'error-log' });
    expect(withLogVersion(base([f('process', '1.30.6')]), log)).toMatchObject({ version: '1.30.6', versionFrom: 'process' });
    expect(withLogVersion(base([]), { from: 'error-log', error: 'no line' }).versionSource).toBe('unknown: error-log: no line; give --nginx-version or --nginx-bin');
  });
});

describe('loadNginx: the sources in order', () => {
  const settings = (over: Partial<NginxSettings>): NginxSettings => ({
    nginxConf: join(scratch, 'nginx.conf'),
    nginxVersion: '',
    nginxBin: '',
    nginxRoot: '',
    dnsTimeoutMs: 100,
    procRoot: join(scratch, 'no-proc'),
    ...over,
  });
  beforeEach(() => {
    writeFileSync(join(scratch, 'nginx.conf'), 'events {}\nhttp { upstream u { server 127.0.0.1:9; } }\n');
  });

  it('--nginx-bin that cannot be run: its version string, read from the file', async () => {
    const bin = join(scratch, 'nginx-not-executable');
    writeFileSync(bin, fakeBinary('1.30.6'));
    chmodSync(bin, 0o644);
    const s = await loadNginx(settings({ nginxBin: bin }));
    expect(s).toMatchObject({ version: '1.30.6', versionFrom: 'binary', versionSource: `binary: the version string in ${bin}, read without running it` });
    expect(s.versionAttempts!.map((a) => a.from)).toEqual(['nginx-bin']);
  });

  it('nothing explicit: the running master, then the package', async () => {
    const root = proc({ 812: { comm: 'nginx\n', cmdline: 'nginx: master process nginx\0', exe: fakeBinary('1.30.6') } });
    expect(await loadNginx(settings({ procRoot: root }))).toMatchObject({ version: '1.30.6', versionFrom: 'process' });
    mkdirSync(join(scratch, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(scratch, 'var/lib/dpkg/status'), STATUS);
    const pkg = await loadNginx(settings({ nginxRoot: scratch }));
    expect(pkg).toMatchObject({ version: '1.22.1', versionFrom: 'package' });
    expect(pkg.versionAttempts).toEqual([{ from: 'process', error: `no nginx process under ${join(scratch, 'no-proc')}` }]);
  });

  it('--nginx-version wins and nothing else is looked at', async () => {
    const s = await loadNginx(settings({ nginxVersion: '1.22.1', nginxBin: join(scratch, 'missing'), nginxRoot: scratch }));
    expect(s).toMatchObject({ version: '1.22.1', versionFrom: 'flag', versionSource: 'flag: --nginx-version', versionAttempts: [] });
  });

  it('without a configuration, no process or package is probed', async () => {
    const root = proc({ 812: { comm: 'nginx\n', cmdline: 'nginx: master process nginx\0', exe: fakeBinary('1.30.6') } });
    const s = await loadNginx(settings({ nginxConf: '', procRoot: root }));
    expect(s).toMatchObject({ version: null, versionFrom: null, versionSource: 'unknown: give --nginx-version or --nginx-bin' });
  });
});
