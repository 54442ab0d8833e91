import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCollectors, type Collector, type CollectorContext } from '../../../agent/sockets/collectors/collector.js';
import { conntrackCollector } from '../../../agent/sockets/collectors/conntrack.js';
import { COLLECTORS } from '../../../agent/sockets/collectors/index.js';
import { netstatCollector } from '../../../agent/sockets/collectors/netstat.js';
import { readActiveOpens, snmpCollector } from '../../../agent/sockets/collectors/snmp.js';
import { sockstatCollector } from '../../../agent/sockets/collectors/sockstat.js';
import { sysctlCollector, type SysctlCollected } from '../../../agent/sockets/collectors/sysctl.js';
import { tcpCollector } from '../../../agent/sockets/collectors/tcp.js';
import { SOURCES } from '../../../agent/sockets/model/types.js';
import { ProcBuffer } from '../../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../../agent/sockets/sample.js';
import { FIXTURE_PROC, scratchProc } from '../../support/procTree.js';

const ctx = <Needs extends object>(procRoot: string, earlier: Needs): CollectorContext<Needs> => ({
  procRoot,
  buffer: new ProcBuffer(64),
  endianness: 'LE',
  earlier,
});
const sysctlOf = (procRoot: string): SysctlCollected => sysctlCollector.collect(ctx(procRoot, {})).values;
const tcpOn = (procRoot: string) => tcpCollector.collect(ctx(procRoot, { sysctl: sysctlOf(procRoot) }));
const OPTS = { procRoot: FIXTURE_PROC, endianness: 'LE' as const, rateWindowSeconds: 60 };
const AT = 1_800_000_000_000;

let cleanup = (): void => undefined;
afterEach(() => {
  cleanup();
  cleanup = () => undefined;
});
/** A scratch copy of the captured tree, with `change` applied to it. */
const treeWith = (change: (root: string) => void): string => {
  const t = scratchProc();
  cleanup = t.cleanup;
  change(t.root);
  return t.root;
};
const asDirectory = (root: string, rel: string): void => {
  rmSync(join(root, rel));
  mkdirSync(join(root, rel));
};

describe('each collector on the captured tree', () => {
  it('sysctl: every value, no assumption', () => {
    const r = sysctlCollector.collect(ctx(FIXTURE_PROC, {}));
    expect(r.status).toEqual([{ source: 'sysctl', state: 'ok' }]);
    expect(r.values.sysctls).toEqual({
      ipLocalPortRange: { low: 40000, high: 40099 },
      ipLocalReservedPorts: [],
      tcpTwReuse: 0,
      tcpTwReuseDelayMs: 1000,
      tcpTimestamps: 1,
      tcpFinTimeoutSeconds: 60,
      tcpMaxTwBuckets: 131072,
    });
    expect(r.values.settings).toEqual({ portRange: { low: 40000, high: 40099 }, reservedPorts: [], tcpTwReuse: 0, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 });
    expect(r.values.assumptions).toEqual([]);
    expect(r.values.problems).toEqual([]);
  });

  it('tcp: both tables into one socket table', () => {
    const r = tcpOn(FIXTURE_PROC);
    expect(r.status).toEqual([{ source: 'tcp', state: 'ok' }, { source: 'tcp6', state: 'ok' }]);
    expect(r.values.table?.rows).toBe(131);
    expect(r.values.table?.range).toEqual({ low: 40000, high: 40099 });
    expect(r.values.malformedLines).toEqual({ tcp: 0, tcp6: 0 });
    expect(r.values.problems).toEqual([]);
  });

  it.each([
    ['snmp', snmpCollector, { activeOpens: 215, passiveOpens: 215, attemptFails: 0 }],
    ['netstat', netstatCollector, { timeWaitOverflow: 0 }],
    ['sockstat', sockstatCollector, { tcpInUse: 4, tcpOrphan: 0, tcpTimeWait: 127, tcp6InUse: 0 }],
  ] as const)('%s: its counters', (_name, collector, values) => {
    const r = collector.collect(ctx(FIXTURE_PROC, {}));
    expect(r.status).toEqual([{ source: collector.name, state: 'ok' }]);
    expect(r.values).toEqual(values);
  });

  it('conntrack: read when the module is loaded', () => {
    const root = treeWith((r) => {
      mkdirSync(join(r, 'sys/net/netfilter'), { recursive: true });
      writeFileSync(join(r, 'sys/net/netfilter/nf_conntrack_count'), '950\n');
      writeFileSync(join(r, 'sys/net/netfilter/nf_conntrack_max'), '1000\n');
    });
    expect(conntrackCollector.collect(ctx(root, {}))).toEqual({
      status: [{ source: 'conntrack', state: 'ok' }],
      values: { conntrackCount: 950, conntrackMax: 1000 },
    });
  });

  it('readActiveOpens reads what the snmp collector reads', () => {
    expect(readActiveOpens(FIXTURE_PROC)).toBe(snmpCollector.collect(ctx(FIXTURE_PROC, {})).values.activeOpens);
    expect(readActiveOpens(treeWith((r) => { rmSync(join(r, 'net/snmp')); }))).toBeNull();
  });
});

describe('a missing optional file is unavailable', () => {
  it('tcp6 (IPv6 disabled): unavailable, and net/tcp alone makes the table', () => {
    const r = tcpOn(treeWith((root) => { rmSync(join(root, 'net/tcp6')); }));
    expect(r.status[1]).toMatchObject({ source: 'tcp6', state: 'unavailable' });
    expect(r.values.table?.rows).toBe(131);
  });

  it.each([
    ['snmp', snmpCollector, 'net/snmp', { activeOpens: null, passiveOpens: null, attemptFails: null }],
    ['netstat', netstatCollector, 'net/netstat', { timeWaitOverflow: null }],
    ['sockstat', sockstatCollector, 'net/sockstat', { tcpInUse: null, tcpOrphan: null, tcpTimeWait: null, tcp6InUse: null }],
  ] as const)('%s', (_name, collector, rel, values) => {
    const root = treeWith((r) => { rmSync(join(r, rel)); });
    expect(collector.collect(ctx(root, {}))).toEqual({
      status: [{ source: collector.name, state: 'unavailable', detail: `${join(root, rel)}: does not exist` }],
      values,
    });
  });

  it('sockstat6 alone: sockstat stays ok, without the TCP6 count', () => {
    const r = sockstatCollector.collect(ctx(treeWith((root) => { rmSync(join(root, 'net/sockstat6')); }), {}));
    expect(r.status).toEqual([{ source: 'sockstat', state: 'ok' }]);
    expect(r.values).toMatchObject({ tcpTimeWait: 127, tcp6InUse: null });
  });

  it('conntrack (module not loaded)', () => {
    expect(conntrackCollector.collect(ctx(FIXTURE_PROC, {}))).toEqual({
      status: [{ source: 'conntrack', state: 'unavailable', detail: 'nf_conntrack not loaded in this network namespace' }],
      values: { conntrackCount: null, conntrackMax: null },
    });
  });

  it('an optional sysctl: still ok, the default assumed and said', () => {
    const r = sysctlCollector.collect(ctx(treeWith((root) => { rmSync(join(root, 'sys/net/ipv4/tcp_tw_reuse_delay')); }), {}));
    expect(r.status).toEqual([{ source: 'sysctl', state: 'ok' }]);
    expect(r.values.settings?.tcpTwReuseDelayMs).toBe(1000);
    expect(r.values.assumptions).toEqual(['this kernel has no tcp_tw_reuse_delay: TIME_WAIT reuse after about 1 s']);
  });
});

describe('unreadable or garbage: error, with a code for a required source', () => {
  it('sysctl: a missing port range is AGENT_ERR_PROC_UNREADABLE, and no settings', () => {
    const root = treeWith((r) => { rmSync(join(r, 'sys/net/ipv4/ip_local_port_range')); });
    const r = sysctlCollector.collect(ctx(root, {}));
    expect(r.status).toEqual([
      { source: 'sysctl', state: 'error', code: 'AGENT_ERR_PROC_UNREADABLE', detail: `${join(root, 'sys/net/ipv4/ip_local_port_range')}: does not exist` },
    ]);
    expect(r.values.settings).toBeNull();
    expect(r.values.sysctls.tcpTwReuse).toBe(0);
  });

  it('sysctl: a garbled port range is AGENT_ERR_PROC_MALFORMED', () => {
    const r = sysctlCollector.collect(ctx(treeWith((root) => { writeFileSync(join(root, 'sys/net/ipv4/ip_local_port_range'), 'wide open\n'); }), {}));
    expect(r.status[0]).toMatchObject({ state: 'error', code: 'AGENT_ERR_PROC_MALFORMED' });
    expect(r.status[0]?.detail).toMatch(/ip_local_port_range: "wide" is not a port number$/);
  });

  it('sysctl: a garbled optional value is a problem in the detail, the source stays ok', () => {
    const root = treeWith((r) => { writeFileSync(join(r, 'sys/net/ipv4/tcp_tw_reuse'), 'on\n'); });
    const r = sysctlCollector.collect(ctx(root, {}));
    const problem = `${join(root, 'sys/net/ipv4/tcp_tw_reuse')}: tcp_tw_reuse: expected an integer, got "on"`;
    expect(r.status).toEqual([{ source: 'sysctl', state: 'ok', detail: problem }]);
    expect(r.values.problems).toEqual([problem]);
    expect(r.values.assumptions).toEqual(['tcp_tw_reuse unreadable: assumed the kernel default 2 (loopback only)']);
  });

  it('tcp: net/tcp not a regular file is AGENT_ERR_PROC_UNREADABLE, and no table', () => {
    const root = treeWith((r) => { asDirectory(r, 'net/tcp'); });
    const r = tcpOn(root);
    expect(r.status[0]).toEqual({ source: 'tcp', state: 'error', detail: `${join(root, 'net/tcp')}: is not a regular file`, code: 'AGENT_ERR_PROC_UNREADABLE' });
    expect(r.values.table).toBeNull();
  });

  it('tcp: net/tcp of garbage is AGENT_ERR_PROC_MALFORMED, its lines counted and named', () => {
    const root = treeWith((r) => { writeFileSync(join(r, 'net/tcp'), '  sl  local_address rem_address   st\ngarbage\n'); });
    const r = tcpOn(root);
    expect(r.status[0]).toEqual({
      source: 'tcp',
      state: 'error',
      detail: `${join(root, 'net/tcp')}: not the kernel's format (1 malformed line(s), no socket row; line 2: no "sl:" slot column)`,
      code: 'AGENT_ERR_PROC_MALFORMED',
    });
    expect(r.values).toMatchObject({ table: null, malformedLines: { tcp: 1, tcp6: 0 }, problems: [`${join(root, 'net/tcp')} line 2: no "sl:" slot column`] });
  });

  it('tcp6: garbage is an error without a code (optional); the table stands on net/tcp', () => {
    const r = tcpOn(treeWith((root) => { writeFileSync(join(root, 'net/tcp6'), 'nonsense\n'); }));
    expect(r.status[1]).toMatchObject({ source: 'tcp6', state: 'error' });
    expect(r.status[1]).not.toHaveProperty('code');
    expect(r.values.table?.rows).toBe(131);
  });

  it.each([
    ['snmp', snmpCollector, 'net/snmp'],
    ['netstat', netstatCollector, 'net/netstat'],
    ['sockstat', sockstatCollector, 'net/sockstat'],
  ] as const)('%s: unreadable is an error without a code (optional)', (_name, collector, rel) => {
    const root = treeWith((r) => { asDirectory(r, rel); });
    expect(collector.collect(ctx(root, {})).status).toEqual([{ source: collector.name, state: 'error', detail: `${join(root, rel)}: is not a regular file` }]);
  });

  it('snmp: a file without Tcp ActiveOpens is an error', () => {
    const r = snmpCollector.collect(ctx(treeWith((root) => { writeFileSync(join(root, 'net/snmp'), 'Ip: Forwarding\nIp: 1\n'); }), {}));
    expect(r.status).toEqual([{ source: 'snmp', state: 'error', detail: 'Tcp ActiveOpens missing' }]);
    expect(r.values.activeOpens).toBeNull();
  });

  it('conntrack: a garbled count is an error naming the file', () => {
    const root = treeWith((r) => {
      mkdirSync(join(r, 'sys/net/netfilter'), { recursive: true });
      writeFileSync(join(r, 'sys/net/netfilter/nf_conntrack_count'), 'lots\n');
      writeFileSync(join(r, 'sys/net/netfilter/nf_conntrack_max'), '1000\n');
    });
    expect(conntrackCollector.collect(ctx(root, {}))).toEqual({
      status: [{ source: 'conntrack', state: 'error', detail: `${join(root, 'sys/net/netfilter/nf_conntrack_count')}: nf_conntrack_count: expected an integer, got "lots"` }],
      values: { conntrackCount: null, conntrackMax: 1000 },
    });
  });

  it.runIf(process.getuid?.() !== 0)('a file without read permission says so', () => {
    const root = treeWith((r) => { chmodSync(join(r, 'net/netstat'), 0o000); });
    expect(netstatCollector.collect(ctx(root, {})).status[0]).toMatchObject({ state: 'error', detail: `${join(root, 'net/netstat')}: permission denied` });
  });
});

describe('a collector that throws', () => {
  const throwing = <N extends string, V, Needs extends object>(c: Collector<N, V, Needs>): Collector<N, V, Needs> => ({
    ...c,
    collect() {
      throw new Error('boom');
    },
  });

  it('marks each of its sources error with the message; the collectors after it still run', () => {
    const { sources, values } = runCollectors([sysctlCollector, throwing(tcpCollector), snmpCollector] as const, {
      procRoot: FIXTURE_PROC,
      buffer: new ProcBuffer(64),
      endianness: 'LE',
    });
    expect(sources).toEqual([
      { source: 'sysctl', state: 'ok' },
      { source: 'tcp', state: 'error', detail: 'the tcp collector failed: boom', code: 'AGENT_ERR_COLLECTOR_FAILED' },
      { source: 'tcp6', state: 'error', detail: 'the tcp collector failed: boom', code: 'AGENT_ERR_COLLECTOR_FAILED' },
      { source: 'snmp', state: 'ok' },
    ]);
    expect(values.tcp).toEqual(tcpCollector.empty());
    expect(values.snmp.activeOpens).toBe(215);
  });

  it('does not fail the sample: the rest of it stands, headroom is unknown', () => {
    const table = [COLLECTORS[0], throwing(tcpCollector), COLLECTORS[2], COLLECTORS[3], COLLECTORS[4], COLLECTORS[5]] as const;
    const s = takeSocketSample(OPTS, new ProcBuffer(64), AT, table);
    expect(s.sources.map((x) => [x.source, x.state])).toEqual([
      ['sysctl', 'ok'],
      ['tcp', 'error'],
      ['tcp6', 'error'],
      ['snmp', 'ok'],
      ['netstat', 'ok'],
      ['sockstat', 'ok'],
      ['conntrack', 'unavailable'],
    ]);
    expect(s.headroom).toBeNull();
    expect(s.settings?.portRange).toEqual({ low: 40000, high: 40099 });
    expect(s.counters).toMatchObject({ activeOpens: 215, tcpTimeWait: 127 });
  });

  it('a throwing sysctl collector leaves no settings; the tables are still read', () => {
    const table = [throwing(sysctlCollector), COLLECTORS[1], COLLECTORS[2], COLLECTORS[3], COLLECTORS[4], COLLECTORS[5]] as const;
    const s = takeSocketSample(OPTS, new ProcBuffer(64), AT, table);
    expect(s.sources[0]).toEqual({ source: 'sysctl', state: 'error', detail: 'the sysctl collector failed: boom', code: 'AGENT_ERR_COLLECTOR_FAILED' });
    expect(s.sources.slice(1, 3)).toEqual([{ source: 'tcp', state: 'ok' }, { source: 'tcp6', state: 'ok' }]);
    expect(s.settings).toBeNull();
    expect(s.sysctls.ipLocalPortRange).toBeNull();
    expect(s.headroom).toBeNull();
  });
});

describe('the table', () => {
  it("reports every source once, in the sample's order (which the golden files show)", () => {
    const order = COLLECTORS.flatMap((c) => c.sources);
    expect(order).toEqual(['sysctl', 'tcp', 'tcp6', 'snmp', 'netstat', 'sockstat', 'conntrack']);
    expect([...order].sort()).toEqual([...SOURCES].sort());
    expect(takeSocketSample(OPTS, new ProcBuffer(64), AT).sources.map((s) => s.source)).toEqual(order);
  });
});
