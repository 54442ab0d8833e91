import { describe, expect, it } from 'vitest';
import { canonicalIp, parseEndpoint, parseIPv6 } from '../../../agent/nginxconf/model/endpoints.js';
import { parseCount, parseTimeMs } from '../../../agent/nginxconf/model/values.js';

describe('parseTimeMs: ngx_parse_time(value, is_sec=0)', () => {
  it.each<[string, number | null]>([
    ['60s', 60_000],
    ['60', 60_000],
    ['500ms', 500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['1m30s', 90_000],
    ['1s500ms', 1500],
    ['1m 30', 90_000],
    ['0', 0],
    // Units out of order or repeated, months and years, and junk are refused.
    ['30m1h', null],
    ['1s1s', null],
    ['1M', null],
    ['1y', null],
    ['', null],
    ['s', null],
    ['1.5s', null],
    ['-1s', null],
    ['1 x', null],
  ])('%j → %j', (text, ms) => {
    expect(parseTimeMs(text)).toBe(ms);
  });
});

describe('parseCount: ngx_atoi', () => {
  it.each<[string, number | null]>([
    ['32', 32],
    ['0', 0],
    ['', null],
    ['-1', null],
    ['+1', null],
    ['1k', null],
    [' 1', null],
  ])('%j → %j', (text, n) => {
    expect(parseCount(text)).toBe(n);
  });
});

describe('addresses as ngx_parse_url reads them', () => {
  it.each([
    ['10.0.0.5:8080', { kind: 'inet', host: '10.0.0.5', port: 8080, ip: '10.0.0.5' }],
    ['10.0.0.5', { kind: 'inet', host: '10.0.0.5', port: null, ip: '10.0.0.5' }],
    ['backend.local:9000', { kind: 'inet', host: 'backend.local', port: 9000, ip: null }],
    ['localhost', { kind: 'inet', host: 'localhost', port: null, ip: null }],
    ['[::1]:9000', { kind: 'inet', host: '::1', port: 9000, ip: '::1' }],
    ['[2001:DB8:0:0::5]', { kind: 'inet', host: '2001:DB8:0:0::5', port: null, ip: '2001:db8::5' }],
    ['[::ffff:10.0.0.5]:80', { kind: 'inet', host: '::ffff:10.0.0.5', port: 80, ip: '10.0.0.5' }],
    ['unix:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['UNIX:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
  ])('%s', (text, expected) => {
    expect(parseEndpoint(text)).toEqual(expected);
  });

  it.each([
    ['10.0.0.5:0', /invalid port "0"/],
    ['10.0.0.5:65536', /invalid port/],
    ['10.0.0.5:http', /invalid port/],
    ['[::1', /no closing/],
    ['[::1]x', /unexpected "x"/],
    ['[zz::1]:80', /invalid IPv6 address/],
    [':80', /no host/],
    ['unix:', /no path/],
    // An unbracketed IPv6 address splits at its first ":", as in nginx.
    ['::1', /no host/],
  ])('%s is refused', (text, message) => {
    const r = parseEndpoint(text);
    expect('error' in r && r.error).toMatch(message);
  });

  it.each<[string, string | null]>([
    ['10.0.0.5', '10.0.0.5'],
    ['010.0.0.5', '10.0.0.5'],
    ['256.0.0.1', null],
    ['10.0.5', null],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0005', '2001:db8::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['::FFFF:7f00:2', '127.0.0.2'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::', '::'],
    ['fe80::1%eth0', null],
    ['1::2::3', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['1:2:3:4:5:6:7', null],
    [':1:2:3:4:5:6:7', null],
    ['1:2:3:4:5:6:7:', null],
    ['localhost', null],
  ])('canonicalIp(%s) → %s', (text, ip) => {
    expect(canonicalIp(text)).toBe(ip);
  });

  it('parseIPv6 gives 32 hex digits', () => {
    expect(parseIPv6('::1.2.3.4')).toBe('00000000000000000000000001020304');
    expect(parseIPv6('1:2:3:4:5:6:1.2.3.4')).toBe('00010002000300040005000601020304');
  });
});
