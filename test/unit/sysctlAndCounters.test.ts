import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { counter, parseHeaderValuePairs, parseSockstat } from '../../agent/sockets/parse/procNetCounters.js';
import { parseIntegerValue, parsePortRange, parseReservedPorts } from '../../agent/sockets/parse/sysctl.js';

const fixture = (p: string): string => readFileSync(new URL(`../fixtures/real-tw-exhaustion/proc/${p}`, import.meta.url), 'latin1');

describe('ip_local_port_range', () => {
  it.each([
    ['32768\t60999\n', { low: 32768, high: 60999 }],
    ['40000 40099', { low: 40000, high: 40099 }],
    ['1024  65535\n', { low: 1024, high: 65535 }],
    ['5000 5000', { low: 5000, high: 5000 }],
  ])('%j', (text, expected) => {
    expect(parsePortRange(text)).toEqual(expected);
  });
  it('reads the captured file as 40000 to 40099', () => {
    expect(parsePortRange(fixture('sys/net/ipv4/ip_local_port_range'))).toEqual({ low: 40000, high: 40099 });
  });
  it.each([
    ['', /two numbers/],
    ['32768', /two numbers/],
    ['1 2 3', /two numbers/],
    ['60999 32768', /above last port/],
    ['0 70000', /above 65535/],
    ['a b', /not a port number/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePortRange(text)).toThrow(message);
  });
});

describe('ip_local_reserved_ports', () => {
  it.each([
    ['\n', []],
    ['', []],
    ['8080\n', [{ from: 8080, to: 8080 }]],
    ['40010-40019,40050\n', [{ from: 40010, to: 40019 }, { from: 40050, to: 40050 }]],
    ['1-3,5,7-9', [{ from: 1, to: 3 }, { from: 5, to: 5 }, { from: 7, to: 9 }]],
  ])('%j', (text, expected) => {
    expect(parseReservedPorts(text)).toEqual(expected);
  });
  it.each([['8080-80'], ['a'], ['1,,2'], ['70000'], ['1-2-3']])('rejects %j', (text) => {
    expect(() => parseReservedPorts(text)).toThrow(/ip_local_reserved_ports/);
  });
});

describe('integer sysctls', () => {
  it('parses an integer with its trailing newline', () => {
    expect(parseIntegerValue('2\n', 'tcp_tw_reuse')).toBe(2);
  });
  it('names the sysctl when it fails', () => {
    expect(() => parseIntegerValue('on', 'tcp_tw_reuse')).toThrow(/tcp_tw_reuse: expected an integer/);
  });
  it('rejects a number past 2^53 instead of rounding it (or reading +Inf)', () => {
    expect(() => parseIntegerValue('9007199254740993\n', 'tcp_max_tw_buckets')).toThrow(/tcp_max_tw_buckets: "9007199254740993" is out of range/);
    expect(() => parseIntegerValue('7'.repeat(400), 'tcp_tw_reuse')).toThrow(/out of range/);
  });
  it('quotes at most 40 characters of what it read', () => {
    const junk = 'x'.repeat(100_000);
    for (const f of [() => parseIntegerValue(junk, 'tcp_tw_reuse'), () => parsePortRange(junk), () => parsePortRange(`${junk} 1`), () => parseReservedPorts(junk)]) {
      let message = '';
      try {
        f();
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/"x{40}…"/);
      expect(message.length).toBeLessThan(120);
    }
  });
});

describe('/proc/net/snmp and netstat', () => {
  it('reads Tcp counters from the capture', () => {
    const r = parseHeaderValuePairs(fixture('net/snmp'));
    expect(r.problems).toEqual([]);
    expect(counter(r.groups, 'Tcp', 'ActiveOpens')).toBeGreaterThan(0);
    expect(counter(r.groups, 'Tcp', 'MaxConn')).toBe(-1);
    expect(counter(r.groups, 'Tcp', 'NoSuchField')).toBeNull();
  });
  it('reads TcpExt from netstat', () => {
    const r = parseHeaderValuePairs(fixture('net/netstat'));
    expect(r.problems).toEqual([]);
    expect(counter(r.groups, 'TcpExt', 'TCPTimeWaitOverflow')).toBe(0);
  });
  it('reports mismatched lines and keeps the rest', () => {
    const r = parseHeaderValuePairs('Tcp: A B\nTcp: 1 2\nUdp: X Y\nUdp: 1\nIp: Q\nIp: zz\n');
    expect(r.groups['Tcp']).toEqual({ A: 1, B: 2 });
    expect(r.groups['Udp']).toBeUndefined();
    expect(r.problems).toHaveLength(2);
  });
});

describe('/proc/net/sockstat', () => {
  it('reads the captured file without problems: 127 TCP sockets in TIME_WAIT', () => {
    const r = parseSockstat(fixture('net/sockstat'));
    expect(r.problems).toEqual([]);
    expect(counter(r.groups, 'TCP', 'tw')).toBe(127);
  });
  it('reports garbage lines', () => {
    expect(parseSockstat('TCP: inuse\ngarbage\n').problems).toHaveLength(2);
  });
});
