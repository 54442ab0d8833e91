import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv6 } from '../../agent/core/addresses.js';
import { MAX_LINE_BYTES, parseProcNetTcp, TcpTableStream, tcpStateName, type TcpRowSink } from '../../agent/sockets/parse/procNetTcp.js';

const fixture = (p: string): string => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'latin1');
const HEADER4 = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const HEADER6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('parseProcNetTcp on a real capture (real-tw-exhaustion)', () => {
  const parsed = parseProcNetTcp(fixture('real-tw-exhaustion/proc/net/tcp'), 4);

  it('reads every row and no malformed line', () => {
    expect(parsed.malformed).toEqual([]);
    expect(parsed.rows).toHaveLength(131);
  });

  it('decodes little-endian addresses and host-order ports', () => {
    expect(parsed.rows[0]).toMatchObject({ state: 'listen', localIp: '127.0.0.3', localPort: 9000, remoteIp: '0.0.0.0', remotePort: 0 });
    expect(parsed.rows[2]).toMatchObject({ state: 'listen', localIp: '127.0.0.1', localPort: 8080 });
  });

  it('reads TIME_WAIT rows with their timer (time left, 1/100 s)', () => {
    const tw = parsed.rows.filter((r) => r.state === 'time_wait' && r.remoteIp === '127.0.0.2' && r.remotePort === 9000);
    expect(tw).toHaveLength(100);
    for (const r of tw) {
      expect(r.localIp).toBe('127.0.0.1');
      expect(r.localPort).toBeGreaterThanOrEqual(40000);
      expect(r.localPort).toBeLessThanOrEqual(40099);
      // The fixture README: all about 55.9 s left.
      expect(r.timerTicks).toBeGreaterThan(5500);
      expect(r.timerTicks).toBeLessThan(5700);
    }
  });
});

describe('parseProcNetTcp on IPv6 and IPv4-mapped rows', () => {
  const six = parseProcNetTcp(fixture('ipv6-mapped/tcp6'), 6);

  it.each([
    [0, { family: 6, state: 'listen', localIp: '::', localPort: 9001 }],
    [1, { family: 6, state: 'listen', localIp: '::1', localPort: 9000 }],
    [2, { family: 6, state: 'established', localIp: '::1', localPort: 40012, remoteIp: '::1', remotePort: 9000 }],
    [3, { family: 6, state: 'time_wait', localIp: '::1', localPort: 40016, remoteIp: '::1', remotePort: 9000, timerTicks: 0x1751 }],
    [4, { family: 4, state: 'established', localIp: '127.0.0.1', localPort: 40012, remoteIp: '127.0.0.1', remotePort: 9001 }],
    [7, { family: 4, state: 'established', localIp: '127.0.0.1', localPort: 9001, remoteIp: '127.0.0.1', remotePort: 40024 }],
  ])('row %i', (i, expected) => {
    expect(six.rows[i]).toMatchObject(expected);
  });

  it('reads the same bytes as big-endian when told the host is big-endian', () => {
    const be = parseProcNetTcp(`${HEADER4}   0: 7F000001:1F90 7F000002:2328 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0 20 4 30 10 -1\n`, 4, 'BE');
    expect(be.rows[0]).toMatchObject({ localIp: '127.0.0.1', remoteIp: '127.0.0.2', localPort: 8080, remotePort: 9000 });
  });
});

describe('malformed input', () => {
  const good = '   0: 0100007F:9C58 0100007F:2329 01 00000000:00000000 00:00000000 00000000     0        0 1 2 0 20 0 0 10 -1';
  it.each([
    ['garbage', 'hello world'],
    ['short address', '   1: 0100007:9C58 0100007F:2329 01 00000000:00000000 00:00000000 00000000'],
    ['non-hex port', '   1: 0100007F:9CZ8 0100007F:2329 01 00000000:00000000 00:00000000 00000000'],
    ['missing state', '   1: 0100007F:9C58 0100007F:2329'],
    ['missing timer', '   1: 0100007F:9C58 0100007F:2329 01 00000000:00000000'],
    ['IPv6 width in the IPv4 table', '   1: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 0:0 00:0'],
    ['binary', '\u0000\u0001\u00ff\u00fe'],
  ])('%s is counted and skipped; the good rows around it still parse', (_name, bad) => {
    const r = parseProcNetTcp(`${HEADER4}${good}\n${bad}\n${good.replace('   0:', '   2:')}\n`, 4);
    expect(r.rows).toHaveLength(2);
    expect(r.malformed).toHaveLength(1);
    expect(r.malformed[0]!.lineNumber).toBe(3);
  });

  it('accepts slot numbers wider than four digits and a missing trailing newline', () => {
    const r = parseProcNetTcp(`${HEADER4}123456: 0100007F:9C58 0100007F:2329 06 00000000:00000000 03:0000012C 00000000     0        0 0 3 0`, 4);
    expect(r.malformed).toEqual([]);
    expect(r.rows[0]).toMatchObject({ state: 'time_wait', timerTicks: 300 });
  });

  it('an empty table (header only) has no rows', () => {
    expect(parseProcNetTcp(HEADER6, 6)).toEqual({ rows: [], malformed: [] });
  });

  it('a table without the kernel\'s header line says so on line 1', () => {
    const r = parseProcNetTcp(`this is not a socket table\n${good}\n`, 4);
    expect(r.malformed).toEqual([{ lineNumber: 1, reason: 'no "sl  local_address" header line' }]);
    expect(r.rows).toHaveLength(1);
  });

  it(`a line longer than ${MAX_LINE_BYTES} bytes is malformed even when it starts like a row`, () => {
    const r = parseProcNetTcp(`${HEADER4}${good}${' 0'.repeat(MAX_LINE_BYTES)}\n${good}\n`, 4);
    expect(r.malformed).toEqual([{ lineNumber: 2, reason: `line longer than ${MAX_LINE_BYTES} bytes` }]);
    expect(r.rows).toHaveLength(1);
  });
});

describe('state names', () => {
  it.each([
    [1, 'established'],
    [6, 'time_wait'],
    [10, 'listen'],
    [12, 'new_syn_recv'],
    [99, 'unknown'],
  ])('%i is %s', (n, name) => {
    expect(tcpStateName(n)).toBe(name);
  });
});

// Property: whatever IPv4 rows the kernel could print, formatting them the way
// get_tcp4_sock() does and parsing them back gives the same values.
function hostOrderHex(ip: number[]): string {
  return ip
    .slice()
    .reverse()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

describe('round trip against the kernel format (property)', () => {
  const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
  const row = fc.record({
    local: ipv4,
    lport: fc.integer({ min: 0, max: 65535 }),
    remote: ipv4,
    rport: fc.integer({ min: 0, max: 65535 }),
    state: fc.integer({ min: 1, max: 12 }),
    when: fc.integer({ min: 0, max: 0xffffffff }),
  });
  it('parses what get_tcp4_sock() prints', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 50 }), (rows) => {
        const text =
          HEADER4 +
          rows
            .map(
              (r, i) =>
                `${String(i).padStart(4)}: ${hostOrderHex(r.local)}:${r.lport.toString(16).padStart(4, '0').toUpperCase()} ` +
                `${hostOrderHex(r.remote)}:${r.rport.toString(16).padStart(4, '0').toUpperCase()} ` +
                `${r.state.toString(16).padStart(2, '0').toUpperCase()} 00000000:00000000 03:${r.when.toString(16).padStart(8, '0').toUpperCase()} 00000000     0        0 0 3 0000000000000000`,
            )
            .join('\n') +
          '\n';
        const parsed = parseProcNetTcp(text, 4);
        expect(parsed.malformed).toEqual([]);
        expect(parsed.rows.map((p) => [p.localIp, p.localPort, p.remoteIp, p.remotePort, p.state, p.timerTicks])).toEqual(
          rows.map((r) => [r.local.join('.'), r.lport, r.remote.join('.'), r.rport, tcpStateName(r.state), r.when]),
        );
      }),
    );
  });
});

describe('formatIPv6 (RFC 5952)', () => {
  it.each([
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['20010db8000100020003000400050006', '2001:db8:1:2:3:4:5:6'],
  ])('%s → %s', (hex, text) => {
    expect(formatIPv6(hex)).toBe(text);
  });
});

describe('TcpTableStream: chunked parsing', () => {
  function collect(): { sink: TcpRowSink; out: string[] } {
    const out: string[] = [];
    return {
      out,
      sink: {
        row4: (...a) => out.push(`4 ${a.join(' ')}`),
        row6: (...a) => out.push(`6 ${a.join(' ')}`),
        malformed: (line, reason) => out.push(`! ${line} ${reason}`),
      },
    };
  }
  const text =
    fixture('real-tw-exhaustion/proc/net/tcp') +
    'garbage line\n' +
    '   9: 0100007F:9C58 0100007F:2329 01 00000000:00000000 00:00000000 00000000     0        0 1 2 0 20 0 0 10 -1';
  const bytes = new TextEncoder().encode(text);
  const whole = collect();
  const stream = new TcpTableStream(4, 'LE', whole.sink);
  stream.push(bytes, bytes.length);
  stream.end();

  it('gives what the whole-text parser gives, including line numbers of malformed lines and a last line without newline', () => {
    const parsed = parseProcNetTcp(text, 4);
    expect(whole.out.filter((l) => l.startsWith('4'))).toHaveLength(parsed.rows.length);
    expect(whole.out.filter((l) => l.startsWith('!'))).toEqual([`! 133 no "sl:" slot column`]);
    expect(stream.rows).toBe(132);
  });

  it('any chunking of the same bytes gives the same calls (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 60 }), (sizes) => {
        const got = collect();
        const st = new TcpTableStream(4, 'LE', got.sink);
        const chunk = new Uint8Array(800);
        let pos = 0;
        let i = 0;
        while (pos < bytes.length) {
          const n = Math.min(sizes[i++ % sizes.length]!, bytes.length - pos);
          chunk.set(bytes.subarray(pos, pos + n));
          chunk.fill(0x0a, n); // stale bytes past `length` must be ignored
          st.push(chunk, n);
          pos += n;
        }
        st.end();
        expect(got.out).toEqual(whole.out);
      }),
      { numRuns: 200 },
    );
  });
});

describe(`TcpTableStream: lines longer than ${MAX_LINE_BYTES} bytes`, () => {
  const row = (sl: number): string => `${String(sl).padStart(4)}: 0100007F:9C58 0100007F:2329 01 00000000:00000000 00:00000000 00000000     0        0 1 2 0 20 0 0 10 -1`;
  const endless = 'x'.repeat(3 * MAX_LINE_BYTES);
  // An overlong line of nonsense, an overlong line that starts as a row, an exactly-at-the-limit line, and an unterminated overlong last line.
  const text = `${HEADER4}${row(0)}\n${endless}\n${row(1)}\n${row(2)}${' '.repeat(MAX_LINE_BYTES)}\n${'y'.repeat(MAX_LINE_BYTES)}\n${row(3)}\n${endless}`;
  const bytes = new TextEncoder().encode(text);
  const calls = (chunkSizes: readonly number[]): string[] => {
    const out: string[] = [];
    const st = new TcpTableStream(4, 'LE', {
      row4: (...a) => out.push(`4 ${a.join(' ')}`),
      row6: (...a) => out.push(`6 ${a.join(' ')}`),
      malformed: (line, reason) => out.push(`! ${line} ${reason}`),
    });
    const chunk = new Uint8Array(Math.max(...chunkSizes));
    let pos = 0;
    let i = 0;
    while (pos < bytes.length) {
      const n = Math.min(chunkSizes[i++ % chunkSizes.length]!, bytes.length - pos);
      chunk.set(bytes.subarray(pos, pos + n));
      st.push(chunk, n);
      pos += n;
    }
    st.end();
    return out;
  };

  it('reports each as one malformed line and parses the rows around them, as the whole-text parser does', () => {
    const whole = calls([bytes.length]);
    expect(whole.filter((l) => l.startsWith('!'))).toEqual([
      `! 3 line longer than ${MAX_LINE_BYTES} bytes`,
      `! 5 line longer than ${MAX_LINE_BYTES} bytes`,
      `! 6 no "sl:" slot column`,
      `! 8 line longer than ${MAX_LINE_BYTES} bytes`,
    ]);
    expect(whole.filter((l) => l.startsWith('4'))).toHaveLength(3);
    const parsed = parseProcNetTcp(text, 4);
    expect(parsed.malformed.map((m) => m.lineNumber)).toEqual([3, 5, 6, 8]);
    expect(parsed.rows).toHaveLength(3);
  });

  it('any chunking gives the same calls (property)', () => {
    const whole = calls([bytes.length]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2 * MAX_LINE_BYTES + 100 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        expect(calls(sizes)).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  it('a file of one endless line is one malformed line 1', () => {
    const out: string[] = [];
    const st = new TcpTableStream(4, 'LE', { row4: () => out.push('row'), row6: () => out.push('row'), malformed: (line, reason) => out.push(`! ${line} ${reason}`) });
    const chunk = new Uint8Array(256 * 1024).fill(0x78);
    for (let i = 0; i < 64; i++) st.push(chunk, chunk.length);
    st.end();
    expect(out).toEqual([`! 1 line longer than ${MAX_LINE_BYTES} bytes`]);
  });
});
