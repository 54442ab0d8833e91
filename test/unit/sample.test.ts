import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeReadFailure } from '../../agent/io/files.js';
import { MAX_TEXT_BYTES, ProcBuffer } from '../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../agent/sockets/sample.js';
import { FIXTURE_PROC, scratchProc } from '../support/procTree.js';

const sample = (procRoot: string) => takeSocketSample({ procRoot, endianness: 'LE', rateWindowSeconds: 60 }, new ProcBuffer(64), 1_800_000_000_000);

describe('takeSocketSample on the captured tree', () => {
  const s = sample(FIXTURE_PROC);
  it('reads every source and the sysctls', () => {
    expect(s.sources.map((x) => [x.source, x.state])).toEqual([
      ['sysctl', 'ok'],
      ['tcp', 'ok'],
      ['tcp6', 'ok'],
      ['snmp', 'ok'],
      ['netstat', 'ok'],
      ['sockstat', 'ok'],
      ['conntrack', 'unavailable'],
    ]);
    expect(s.sysctls).toEqual({
      ipLocalPortRange: { low: 40000, high: 40099 },
      ipLocalReservedPorts: [],
      tcpTwReuse: 0,
      tcpTwReuseDelayMs: 1000,
      tcpTimestamps: 1,
      tcpFinTimeoutSeconds: 60,
      tcpMaxTwBuckets: 131072,
    });
    expect(s.assumptions).toEqual([]);
    expect(s.problems).toEqual([]);
    expect(s.headroom?.destinations[0]).toMatchObject({ destination: '127.0.0.2:9000', headroom: 0 });
    expect(s.counters.tcpTimeWait).toBe(127);
    expect(s.takenAtMs).toBe(1_800_000_000_000);
  });
  it('streams the tables through a 64-byte chunk without losing bytes', () => {
    expect(s.headroom?.sockets).toBe(131);
    expect(s.malformedLines).toEqual({ tcp: 0, tcp6: 0 });
  });
});

describe('broken sources', () => {
  let cleanup = (): void => undefined;
  afterEach(() => {
    cleanup();
  });
  const broken = (): string => {
    const t = scratchProc();
    cleanup = t.cleanup;
    return t.root;
  };

  it('a missing optional sysctl is assumed to hold the kernel default, and says so', () => {
    const root = broken();
    rmSync(join(root, 'sys/net/ipv4/tcp_tw_reuse_delay'));
    rmSync(join(root, 'sys/net/ipv4/tcp_tw_reuse'));
    const s = sample(root);
    expect(s.settings).toMatchObject({ tcpTwReuse: 2, tcpTwReuseDelayMs: 1000 });
    expect(s.assumptions).toEqual([
      'tcp_tw_reuse unreadable: assumed the kernel default 2 (loopback only)',
      'this kernel has no tcp_tw_reuse_delay: TIME_WAIT reuse after about 1 s',
    ]);
    // Loopback + reuse 2 + TIME_WAIT ~4 s old: all reusable.
    expect(s.headroom?.destinations.find((d) => d.destination === '127.0.0.2:9000')?.headroom).toBe(100);
  });

  it('a missing port range makes headroom unknown, names the file, and keeps the rest', () => {
    const root = broken();
    rmSync(join(root, 'sys/net/ipv4/ip_local_port_range'));
    const s = sample(root);
    expect(s.headroom).toBeNull();
    expect(s.sources.find((x) => x.source === 'sysctl')).toEqual({
      source: 'sysctl',
      state: 'error',
      detail: `${join(root, 'sys/net/ipv4/ip_local_port_range')}: does not exist`,
      code: 'AGENT_ERR_PROC_UNREADABLE',
    });
    expect(s.counters.activeOpens).not.toBeNull();
  });

  it('a garbled port range is a clear error', () => {
    const root = broken();
    writeFileSync(join(root, 'sys/net/ipv4/ip_local_port_range'), 'wide open\n');
    const s = sample(root);
    expect(s.headroom).toBeNull();
    expect(s.sources.find((x) => x.source === 'sysctl')?.detail).toMatch(/ip_local_port_range: "wide" is not a port number/);
    expect(s.sources.find((x) => x.source === 'sysctl')?.code).toBe('AGENT_ERR_PROC_MALFORMED');
  });

  it('an unreadable net/tcp is an error naming the file', () => {
    const root = broken();
    rmSync(join(root, 'net/tcp'));
    mkdirSync(join(root, 'net/tcp'));
    const s = sample(root);
    expect(s.headroom).toBeNull();
    expect(s.sources.find((x) => x.source === 'tcp')).toMatchObject({ state: 'error', detail: `${join(root, 'net/tcp')}: is not a regular file`, code: 'AGENT_ERR_PROC_UNREADABLE' });
  });

  it.each([
    ['EACCES', 'permission denied', false],
    ['EPERM', 'permission denied', false],
    ['ENOENT', 'does not exist', true],
    ['EIO', 'EIO: i/o error', false],
  ])('a read failing with %s says "%s"', (code, text, missing) => {
    const err = Object.assign(new Error(`${code}: i/o error`), { code });
    expect(describeReadFailure('/proc/net/tcp', err)).toEqual({ ok: false, missing, path: '/proc/net/tcp', error: `/proc/net/tcp: ${text}` });
  });

  it('a missing tcp6 (IPv6 disabled) is unavailable, not an error', () => {
    const root = broken();
    rmSync(join(root, 'net/tcp6'));
    const s = sample(root);
    expect(s.sources.find((x) => x.source === 'tcp6')?.state).toBe('unavailable');
    expect(s.headroom?.destinations[0]?.headroom).toBe(0);
  });

  it('garbage lines in net/tcp are counted, reported and skipped', () => {
    const root = broken();
    const text = readFileSync(join(root, 'net/tcp'), 'latin1');
    writeFileSync(join(root, 'net/tcp'), text + 'garbage\n\u0000\u0001binary\n');
    const s = sample(root);
    expect(s.malformedLines.tcp).toBe(2);
    expect(s.problems[0]).toMatch(/net\/tcp line 133: no "sl:" slot column/);
    expect(s.headroom?.destinations[0]?.headroom).toBe(0);
  });

  it.each([
    ['nonsense', Buffer.concat([Buffer.from('not a socket table\n'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))])],
    ['one endless line', Buffer.alloc(2 * 1024 * 1024, 'x')],
    ['the header and nothing that parses', Buffer.from('  sl  local_address rem_address   st\ngarbage\n')],
  ])('a net/tcp of %s is malformed: no headroom (the last values stand) rather than an empty table', (_name, bytes) => {
    const root = broken();
    writeFileSync(join(root, 'net/tcp'), bytes);
    const s = sample(root);
    expect(s.headroom).toBeNull();
    expect(s.sources.find((x) => x.source === 'tcp')).toMatchObject({ state: 'error', code: 'AGENT_ERR_PROC_MALFORMED' });
    expect(s.sources.find((x) => x.source === 'tcp')?.detail).toMatch(/net\/tcp: not the kernel's format \(\d+ malformed line\(s\), no socket row; line \d+: [^)]+\)$/);
    expect(s.malformedLines.tcp).toBeGreaterThan(0);
  });

  it('an empty net/tcp (the kernel always prints the header) is malformed', () => {
    const root = broken();
    writeFileSync(join(root, 'net/tcp'), '');
    const s = sample(root);
    expect(s.headroom).toBeNull();
    expect(s.sources.find((x) => x.source === 'tcp')).toMatchObject({ state: 'error', code: 'AGENT_ERR_PROC_MALFORMED', detail: `${join(root, 'net/tcp')}: empty, not the kernel's format` });
  });

  it('a net/tcp6 of nonsense marks tcp6 down; headroom stands on net/tcp', () => {
    const root = broken();
    writeFileSync(join(root, 'net/tcp6'), 'nonsense\nmore nonsense\n');
    const s = sample(root);
    expect(s.sources.find((x) => x.source === 'tcp6')?.state).toBe('error');
    expect(s.headroom?.destinations[0]).toMatchObject({ destination: '127.0.0.2:9000', headroom: 0 });
  });

  it('a sysctl file of a megabyte or more is refused, not read whole', () => {
    const root = broken();
    writeFileSync(join(root, 'sys/net/ipv4/ip_local_port_range'), Buffer.alloc(MAX_TEXT_BYTES, '4'));
    const s = sample(root);
    expect(s.headroom).toBeNull();
    expect(s.sources.find((x) => x.source === 'sysctl')).toMatchObject({
      state: 'error',
      code: 'AGENT_ERR_PROC_UNREADABLE',
      detail: `${join(root, 'sys/net/ipv4/ip_local_port_range')}: ${MAX_TEXT_BYTES} bytes or more, not what the kernel writes there`,
    });
  });

  it('conntrack is read when present', () => {
    const root = broken();
    mkdirSync(join(root, 'sys/net/netfilter'), { recursive: true });
    writeFileSync(join(root, 'sys/net/netfilter/nf_conntrack_count'), '950\n');
    writeFileSync(join(root, 'sys/net/netfilter/nf_conntrack_max'), '1000\n');
    const s = sample(root);
    expect(s.counters).toMatchObject({ conntrackCount: 950, conntrackMax: 1000 });
    expect(s.sources.find((x) => x.source === 'conntrack')?.state).toBe('ok');
  });
});
