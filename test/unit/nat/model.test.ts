/**
 * The NAT model, table first: open connections plus the closed ones the NAT
 * still holds, for timers shorter and longer than the kernel's 60 s (exact below
 * 60 s, extrapolated from the close rate above it), each scope, endpoint-
 * independent mapping, and which destinations a NAT's CIDR blocks take in
 * (public by default, IPv6, IPv4-mapped).
 */
import { describe, expect, it } from 'vitest';
import { cidrContains, destinationMatcher, isPublic, parseCidr, parseIp, type Cidr } from '../../../agent/core/cidr.js';
import { capacityPerDestination, type NatConfig } from '../../../agent/core/natProfiles.js';
import { computeNat, natTimeWaitThresholdsMs, type NatModel } from '../../../agent/nat/model/nat.js';
import { computeHeadroom, type KernelSettings } from '../../../agent/sockets/model/headroom.js';
import { SocketTableBuilder } from '../../../agent/sockets/model/socketTable.js';
import { scanProcNetTcp } from '../../../agent/sockets/parse/procNetTcp.js';
import { established, tcp4, tcp6, timeWaits, type Row } from '../../support/procText.js';

const SETTINGS: KernelSettings = { portRange: { low: 32768, high: 60999 }, reservedPorts: [], tcpTwReuse: 0, tcpTimestamps: 1, tcpTwReuseDelayMs: 1000 };

function nat(overrides: Partial<NatConfig>): NatConfig {
  return {
    name: 'n',
    profile: 'custom',
    scope: 'host',
    ports: 1000,
    ips: 1,
    destinations: ['public'],
    timeWaitSeconds: 60,
    idleTimeoutSeconds: null,
    endpointIndependentMapping: false,
    dynamicPortAllocation: false,
    maxPortsPerVm: null,
    backendPoolSize: null,
    ...overrides,
  };
}

/** The NAT model over these socket rows, with the TIME_WAIT thresholds the daemon would ask the sample for. */
function run(nats: NatConfig[], rows4: Row[], rows6: Row[] = []): NatModel[] {
  const b = new SocketTableBuilder(SETTINGS.portRange);
  const enc = new TextEncoder();
  for (const [text, family] of [[tcp4(rows4), 4], [tcp6(rows6), 6]] as const) {
    const bytes = enc.encode(text);
    scanProcNetTcp(bytes, bytes.length, family, 'LE', b);
  }
  const thresholds = natTimeWaitThresholdsMs(nats);
  const headroom = computeHeadroom(b.build(), SETTINGS, { rateWindowSeconds: 60, timeWaitAgeThresholdsMs: thresholds });
  return computeNat(nats, headroom, thresholds);
}

/** `n` TIME_WAIT sockets closed `ageS` seconds ago (tm->when counts down from 60 s in 1/100 s). */
const closed = (n: number, first: number, dest: string, ageS: number): Row[] => timeWaits(n, '10.0.0.1', first, dest, 443, Math.round((60 - ageS) * 100));

const API = '203.0.113.10';

describe('used = open + held after close, per destination, summed over source IPs', () => {
  // 40 established (20 from each of two source IPs), 10 FIN_WAIT2, and TIME_WAIT
  // sockets closed 2 s (30 of them), 20 s (40) and 50 s ago (50): 120 in all.
  const rows: Row[] = [
    ...established(20, '10.0.0.1', 33000, API, 443),
    ...established(20, '10.0.0.2', 33000, API, 443),
    ...Array.from({ length: 10 }, (_, i) => ({ local: '10.0.0.1', lport: 34000 + i, remote: API, rport: 443, state: 5, when: 3000 })),
    ...closed(30, 35000, API, 2),
    ...closed(40, 36000, API, 20),
    ...closed(50, 37000, API, 50),
  ];

  it.each([
    // timer, held after close (measured), estimate
    [null, 0, 0],
    [0, 0, 0],
    [1, 0, 0],
    [5, 30, 0],
    [30, 70, 0],
    [55, 120, 0],
    [60, 120, 0],
  ])('timer %s s: %i closed connections still held, counted exactly', (t, held, estimated) => {
    const [m] = run([nat({ timeWaitSeconds: t })], rows);
    const d = m!.destinations[0]!;
    expect(d).toMatchObject({ destination: `${API}:443`, sourceIps: ['10.0.0.1', '10.0.0.2'], open: 50, established: 40, timeWait: 120 });
    expect(d.heldAfterCloseMeasured).toBe(held);
    expect(d.heldAfterCloseEstimated).toBe(estimated);
    expect(d.heldAfterCloseIsEstimate).toBe(false);
    expect(d.used).toBe(50 + held);
    expect(m!.heldAfterCloseBasis).toBe(t === null ? 'unknown' : t === 0 ? 'none' : 'measured');
  });

  it('timer 120 s: every TIME_WAIT socket, plus the close rate × the 60 s the kernel no longer shows, labelled an estimate', () => {
    const [m] = run([nat({ timeWaitSeconds: 120 })], rows);
    const d = m!.destinations[0]!;
    // 120 sockets over the 60 s window: the oldest is 50 s old, so the span is 50 × 121/120 = 50.4 s, 2.38/s.
    expect(d.closeRatePerSecond).toBeCloseTo(120 / 50.417, 2);
    expect(d.heldAfterCloseMeasured).toBe(120);
    expect(d.heldAfterCloseEstimated).toBeCloseTo(60 * (120 / 50.417), 1);
    expect(d.heldAfterCloseIsEstimate).toBe(true);
    expect(d.heldAfterClose).toBe(120 + Math.round(d.heldAfterCloseEstimated));
    expect(d.used).toBe(50 + d.heldAfterClose);
    expect(m!.heldAfterCloseBasis).toBe('estimated');
    expect(m!.notes.join('\n')).toContain('the other 60 s are estimated from the close rate');
  });

  it('timer 240 s (Azure App Service): three kernel lifetimes extrapolated', () => {
    const d = run([nat({ timeWaitSeconds: 240, ports: 128, profile: 'azure-app-service' })], rows)[0]!.destinations[0]!;
    expect(d.heldAfterCloseEstimated).toBeCloseTo(180 * (120 / 50.417), 1);
    expect(d.capacity).toBe(128);
    expect(d.headroom).toBe(0);
    expect(d.headroomRatio).toBe(0);
  });

  it('takes two NATs with different timers from one pass over the sockets', () => {
    const [a, b] = run([nat({ name: 'a', timeWaitSeconds: 5 }), nat({ name: 'b', timeWaitSeconds: 30 })], rows);
    expect(a!.destinations[0]!.heldAfterCloseMeasured).toBe(30);
    expect(b!.destinations[0]!.heldAfterCloseMeasured).toBe(70);
    expect(natTimeWaitThresholdsMs([{ timeWaitSeconds: 30 }, { timeWaitSeconds: 5 }, { timeWaitSeconds: 30 }, { timeWaitSeconds: 120 }, { timeWaitSeconds: null }])).toEqual([5000, 30_000]);
  });
});

describe('scopes and capacity', () => {
  const rows = [...established(300, '10.0.0.1', 33000, API, 443)];

  it('host scope: headroom and its ratio against the VM\'s own allocation', () => {
    const d = run([nat({ profile: 'gcp-cloud-nat', ports: 512, timeWaitSeconds: 120 })], rows)[0]!.destinations[0]!;
    expect(d).toMatchObject({ used: 300, capacity: 512, headroom: 212, share: 300 / 512 });
    expect(d.headroomRatio).toBeCloseTo(212 / 512, 6);
    expect(d.endpointIndependenceConflictRisk).toBeNull();
  });

  it('fleet scope: this host\'s share only; no headroom of its own', () => {
    const [m] = run([nat({ profile: 'aws-nat-gateway', scope: 'fleet', ports: 55_000, ips: 2, timeWaitSeconds: null })], rows);
    const d = m!.destinations[0]!;
    expect(d).toMatchObject({ used: 300, capacity: 110_000, headroom: null, headroomRatio: null });
    expect(d.share).toBeCloseTo(300 / 110_000, 9);
    expect(m!.notes.join('\n')).toContain('this host\'s mappings only');
    expect(m!.notes.join('\n')).toContain('used counts open connections only, a lower bound');
  });

  it.each([
    [{ profile: 'aws-nat-gateway', ports: 55_000, ips: 3 }, 165_000],
    [{ profile: 'azure-nat-gateway', ports: 50_000, ips: 16 }, 800_000],
    [{ profile: 'gcp-cloud-nat', ports: 64, ips: 4 }, 64],
    [{ profile: 'gcp-cloud-nat', ports: 32, dynamicPortAllocation: true, maxPortsPerVm: 65_536, ips: 1 }, 64_512],
    [{ profile: 'gcp-cloud-nat', ports: 32, dynamicPortAllocation: true, maxPortsPerVm: 4096, ips: 1 }, 4096],
    [{ profile: 'azure-lb-outbound', ports: 1024, ips: 2 }, 1024],
    [{ profile: 'azure-app-service', ports: 128, ips: 1 }, 128],
    [{ profile: 'custom', ports: 1000, ips: 2 }, 2000],
  ] as const)('%j: %i per destination', (n, capacity) => {
    expect(capacityPerDestination(nat(n))).toBe(capacity);
  });
});

describe('endpoint-independent mapping (GCP)', () => {
  it('keeps the VM\'s ports as the limit, and estimates the share of new connections that conflict', () => {
    const [m] = run([nat({ profile: 'gcp-cloud-nat', ports: 64, endpointIndependentMapping: true, timeWaitSeconds: 120 })], established(16, '10.0.0.1', 33000, API, 443));
    const d = m!.destinations[0]!;
    expect(d).toMatchObject({ used: 16, capacity: 64, headroom: 48, endpointIndependenceConflictRisk: 0.25 });
    expect(m!.notes.join('\n')).toContain('ENDPOINT_INDEPENDENCE_CONFLICT');
  });
});

describe('which destinations go through the NAT', () => {
  const rows: Row[] = [
    ...established(1, '10.0.0.1', 33000, API, 443),
    ...established(2, '10.0.0.1', 33100, '10.1.2.3', 443),
    ...established(3, '10.0.0.1', 33200, '100.64.0.9', 443),
    ...established(4, '10.0.0.1', 33300, '169.254.169.254', 80),
    ...established(5, '10.0.0.1', 33400, '127.0.0.2', 9000),
    ...established(6, '10.0.0.1', 33500, '198.51.100.7', 5432),
  ];
  const rows6: Row[] = [
    ...established(7, '2001:db8::1', 33600, '2600:1f18::5', 443),
    ...established(8, 'fd00::1', 33700, 'fd00::9', 443),
    ...established(9, 'fe80::1', 33800, 'fe80::2', 443),
    // IPv4-mapped peers are IPv4 4-tuples: ::ffff:192.0.2.44 is 192.0.2.44.
    ...established(10, '10.0.0.1', 33900, '192.0.2.44', 8443),
    ...established(11, '10.0.0.1', 34000, '172.20.0.4', 8443),
  ];
  const names = (m: NatModel) => m.destinations.map((d) => d.destination).sort();

  it('by default every public address, IPv4, IPv6 and IPv4-mapped', () => {
    expect(names(run([nat({})], rows, rows6)[0]!)).toEqual(['192.0.2.44:8443', '198.51.100.7:5432', `${API}:443`, '[2600:1f18::5]:443'].sort());
  });

  it('given blocks, only those; a mapped block is its IPv4 block', () => {
    expect(names(run([nat({ destinations: ['127.0.0.2/32'] })], rows, rows6)[0]!)).toEqual(['127.0.0.2:9000']);
    expect(names(run([nat({ destinations: ['::ffff:172.16.0.0/108', '2600:1f18::/32'] })], rows, rows6)[0]!)).toEqual(['172.20.0.4:8443', '[2600:1f18::5]:443']);
    expect(names(run([nat({ destinations: ['public', '10.0.0.0/8'] })], rows, rows6)[0]!)).toContain('10.1.2.3:443');
  });

  const block = (t: string): Cidr => parseCidr(t) as Cidr;
  it.each([
    ['10.0.0.0/8', '10.255.0.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['::ffff:10.0.0.0/104', '::ffff:10.9.9.9', true],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
    ['10.1.2.3/8', '10.200.0.1', true],
  ])('%s contains %s: %s', (c, ip, expected) => {
    expect(cidrContains(block(c), parseIp(ip)!)).toBe(expected);
  });

  it.each([
    ['8.8.8.8', true],
    ['100.63.255.255', true],
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['172.15.0.1', true],
    ['172.31.255.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['127.0.0.2', false],
    ['0.1.2.3', false],
    ['::1', false],
    ['fc00::1', false],
    ['fdff::1', false],
    ['fe80::1', false],
    ['2001:db8::1', true],
    ['::ffff:8.8.8.8', true],
    ['::ffff:10.0.0.1', false],
  ])('%s is public: %s', (ip, expected) => {
    expect(isPublic(parseIp(ip)!)).toBe(expected);
    expect(destinationMatcher(['public'])(ip)).toBe(expected);
  });

  it.each(['1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', ''])('%s is not an address', (ip) => {
    expect(parseIp(ip)).toBeNull();
  });
});
