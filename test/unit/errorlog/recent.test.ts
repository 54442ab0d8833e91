import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeScanParts, RecentWindow, type ScanEnd } from '../../../agent/errorlog/model/recent.js';
import { linesBackwards, readRecent } from '../../../agent/errorlog/read/recent.js';
import { eaddrnotavailLine } from '../../support/procText.js';

const dir = mkdtempSync(join(tmpdir(), 'npa-recent-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const at = (min: number, sec = 0): string => {
  const d = new Date(2026, 10, 21, 8, min, sec);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const exhausted = (min: number, dest = '10.0.0.5:80'): string =>
  `${at(min)} [crit] 7#7: *1 connect() to ${dest} failed (99: Cannot assign requested address) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /\u001b[31m HTTP/1.1", upstream: "http://${dest}/", host: "h"`;
const refused = (min: number): string =>
  `${at(min)} [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET / HTTP/1.1", upstream: "http://10.0.0.6:80/", host: "h"`;
const since = new Date(2026, 10, 21, 8, 30, 0).getTime();

describe('linesBackwards', () => {
  it('yields lines last first, across chunk boundaries, with or without a final newline', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`);
    const p = join(dir, 'back.log');
    writeFileSync(p, lines.join('\n'));
    expect([...linesBackwards(p, Infinity)]).toEqual(lines.slice().reverse());
    writeFileSync(p, `${lines.join('\n')}\n`);
    expect([...linesBackwards(p, Infinity)]).toEqual(lines.slice().reverse());
  });
  it('stops at the byte limit', () => {
    const p = join(dir, 'limit.log');
    writeFileSync(p, 'a\n'.repeat(200_000));
    const it = linesBackwards(p, 64 * 1024);
    let n = 0;
    let r = it.next();
    while (r.done !== true) {
      n++;
      r = it.next();
    }
    expect(r.value).toBe('limit');
    expect(n).toBeLessThanOrEqual(32 * 1024 + 1);
  });
});

describe('readRecent', () => {
  it('summarises the window by kind and destination, with escaped samples', async () => {
    const p = join(dir, 'error.log');
    writeFileSync(p, [exhausted(10), refused(20), 'garbage', exhausted(31), exhausted(32, '[::1]:9000'), refused(40), exhausted(45), ''].join('\n'));
    const s = await readRecent(p, { sinceMs: since, untilMs: Infinity }, { maxScanBytes: Infinity });
    expect(s.byKind.map((k) => [k.kind, k.count])).toEqual([
      ['eaddrnotavail', 3],
      ['econnrefused', 1],
    ]);
    const e = s.byKind[0]!;
    expect(e.firstMs).toBe(new Date(2026, 10, 21, 8, 31).getTime());
    expect(e.lastMs).toBe(new Date(2026, 10, 21, 8, 45).getTime());
    expect(e.sample).toContain('\\x1b[31m');
    expect(e.sample).not.toContain('\u001b');
    expect(s.byDestination).toEqual({ '10.0.0.5:80': { eaddrnotavail: 2 }, '[::1]:9000': { eaddrnotavail: 1 }, '10.0.0.6:80': { econnrefused: 1 } });
    expect(s.files).toEqual([p]); // the window started inside the file: no predecessor read
    expect(s.unparsed).toBe(1); // "garbage" sits inside the scanned part; the 08:20 line then stopped the scan
  });

  it('continues into error.log.1 when the window reaches past the start of the file', async () => {
    const p = join(dir, 'r1.log');
    writeFileSync(`${p}.1`, [exhausted(20), exhausted(35), exhausted(36)].join('\n') + '\n');
    writeFileSync(p, [exhausted(40), refused(41)].join('\n') + '\n');
    const s = await readRecent(p, { sinceMs: since, untilMs: Infinity }, { maxScanBytes: Infinity });
    expect(s.files).toEqual([p, `${p}.1`]);
    expect(s.byKind.find((k) => k.kind === 'eaddrnotavail')?.count).toBe(3);
  });

  it('reads error.log.1.gz through zlib when there is no error.log.1', async () => {
    const p = join(dir, 'gz.log');
    writeFileSync(`${p}.1.gz`, gzipSync([exhausted(5), exhausted(33), exhausted(34), refused(35)].join('\n') + '\n'));
    writeFileSync(p, `${exhausted(50)}\n`);
    const s = await readRecent(p, { sinceMs: since, untilMs: Infinity }, { maxScanBytes: Infinity });
    expect(s.files).toEqual([p, `${p}.1.gz`]);
    expect(s.byKind.map((k) => [k.kind, k.count])).toEqual([
      ['eaddrnotavail', 3],
      ['econnrefused', 1],
    ]);
  });

  it('reads a .gz archive given by name, streaming: counts the window and stops after it (a corrupt tail past the window is never reached)', async () => {
    const p = join(dir, 'error.log-20261121.gz');
    const inWindow = [exhausted(31), refused(32), exhausted(33)];
    // After the window: enough lines that the stream is still far from the end when it stops, then cut mid-stream.
    const after = Array.from({ length: 60_000 }, (_, i) => `${exhausted(50, `10.9.${i >> 8}.${i & 255}:80`)} ${i.toString(36).repeat(8)}`);
    const whole = gzipSync([exhausted(10), ...inWindow, ...after].join('\n') + '\n');
    writeFileSync(p, whole.subarray(0, whole.length - 64));
    const s = await readRecent(p, { sinceMs: since, untilMs: new Date(2026, 10, 21, 8, 40).getTime() }, { maxScanBytes: Infinity });
    expect(s.files).toEqual([p]);
    expect(s.byKind.map((k) => [k.kind, k.count])).toEqual([
      ['eaddrnotavail', 2],
      ['econnrefused', 1],
    ]);
    expect(Object.keys(s.byDestination).sort()).toEqual(['10.0.0.5:80', '10.0.0.6:80']);
  });

  it('finds the end of a past window by bisecting a large file, and reads only back from there', async () => {
    const p = join(dir, 'bisect.log');
    // 08:00 … 08:59, 2000 lines a minute.
    const lines: string[] = [];
    for (let min = 0; min < 60; min++) for (let i = 0; i < 2000; i++) lines.push(exhausted(min, `10.0.${min}.1:80`));
    writeFileSync(p, lines.join('\n') + '\n');
    const win = { sinceMs: new Date(2026, 10, 21, 8, 20).getTime(), untilMs: new Date(2026, 10, 21, 8, 21, 59).getTime() };
    const s = await readRecent(p, win, { maxScanBytes: 40 * 2000 * 300 });
    expect(s.truncated).toBe(false); // the window is 38 minutes from the end: without the bisection the limit would cut it
    expect(Object.entries(s.byDestination)).toEqual([
      ['10.0.21.1:80', { eaddrnotavail: 2000 }],
      ['10.0.20.1:80', { eaddrnotavail: 2000 }],
    ]);
    expect(s.lines).toBe(4000);
  });

  it('a window that ended before the live file began continues into the rotated predecessor', async () => {
    const p = join(dir, 'past.log');
    writeFileSync(`${p}.1`, [exhausted(20), exhausted(35), exhausted(36)].join('\n') + '\n');
    writeFileSync(p, [exhausted(40), refused(41)].join('\n') + '\n');
    const s = await readRecent(p, { sinceMs: since, untilMs: new Date(2026, 10, 21, 8, 37).getTime() }, { maxScanBytes: Infinity });
    expect(s.files).toEqual([p, `${p}.1`]);
    expect(s.byKind.map((k) => [k.kind, k.count])).toEqual([['eaddrnotavail', 2]]);
  });

  it('refuses what is not a regular file', async () => {
    await expect(readRecent(dir, { sinceMs: since, untilMs: Infinity }, { maxScanBytes: Infinity })).rejects.toThrow(/is a directory/);
  });
});

describe('the backwards reader against the straightforward one', () => {
  // Bytes a line-by-line reader must pass through unchanged: nginx's own lines,
  // multi-byte and invalid UTF-8 (a sequence cut by the newline, a lone
  // continuation byte, a BOM), control bytes, CR, empty lines, and a line longer
  // than the reader's 1 MiB buffer.
  const corpus = ['1.22', '1.30'].flatMap((v) => readFileSync(new URL(`../../fixtures/errorlog-corpus/${v}.log`, import.meta.url), 'utf8').split('\n'));
  const hostile: Buffer[] = [
    Buffer.from(`${at(31)} [error] 7#7: *1 connect() to unix:/run/é.sock failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /日本語 HTTP/1.1", upstream: "http://unix:/run/é.sock:/", host: "h"`),
    Buffer.concat([Buffer.from(`${at(32)} [crit] 7#7: *2 connect() to 10.0.0.5:80 failed (99: Cannot assign requested address) while connecting to upstream, client: 1.1.1.1, server: \u00a0, request: "GET /`), Buffer.from([0xe6, 0x97])]),
    Buffer.concat([Buffer.from(`${at(33)} [crit] 7#7: *3 bind(10.0.0.9`), Buffer.from([0xc3, 0xa0]), Buffer.from(') failed (99: Cannot assign requested address) while connecting to upstream, client: 1.1.1.1')]),
    Buffer.from([0x80, 0xff, 0xef, 0xbb, 0xbf, 0x41, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x0d]),
    Buffer.from(''),
    Buffer.from(`${at(34)} [crit] 7#7: *4 connect() to [::FFFF:10.0.0.5]:80 failed (99: Cannot assign requested address) while connecting to upstream, client: ${'x'.repeat(1_200_000)}`),
    Buffer.from(`${at(35)} [notice] 1#1: nginx/1.30.6`),
  ];
  const lines = [...corpus.map((l) => Buffer.from(l)), ...hostile, ...Array.from({ length: 20_000 }, (_, i) => hostile[i % 4]!)];
  const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  const p = join(dir, 'hostile.log');
  writeFileSync(p, bytes);
  /** Each line decoded alone, last first, empty ones left out: what the reader promises. */
  const straightforward = lines.map((l) => l.toString('utf8')).filter((l) => l !== '').reverse();

  it('yields every line as decoding it alone does', () => {
    expect([...linesBackwards(p, Infinity)]).toEqual(straightforward);
  });

  it('summarises the window as a window fed those lines one by one does', async () => {
    const w = new RecentWindow(0);
    for (const l of straightforward) w.add(l);
    const s = await readRecent(p, { sinceMs: 0, untilMs: Infinity }, { maxScanBytes: Infinity });
    expect({ ...s, files: [] }).toEqual({ ...w.summary(), untilMs: Infinity, files: [] });
  });
});

describe('mergeScanParts: one file read in parts, merged as one scan', () => {
  const T0 = Date.UTC(2026, 10, 21, 6, 0, 0);
  /** A window fed these lines (newest first, as a backwards scan feeds them), with what its scan ended on. */
  const part = (lines: string[], end: ScanEnd) => {
    const w = new RecentWindow(T0, Number.POSITIVE_INFINITY);
    let stopped = false;
    for (const l of lines) if (w.add(l) === 'older') { stopped = true; break; }
    return { summary: w.summary(), end: stopped ? ('window' as const) : end };
  };
  const lines = (from: number, n: number, t: number) => Array.from({ length: n }, (_, i) => eaddrnotavailLine(T0 + t * 1000, `10.1.${Math.floor((from + i) / 200)}.${(from + i) % 200}:80`, i));

  it('equals one window fed the same lines, names over the cap included', () => {
    // 600 names in the newer part, 600 others in the older: one window keeps the first 1 000 met.
    const newer = lines(0, 600, 20);
    const older = lines(600, 600, 10);
    const one = new RecentWindow(T0, Number.POSITIVE_INFINITY);
    for (const l of [...newer, ...older]) one.add(l);
    const merged = mergeScanParts({ sinceMs: T0, untilMs: Number.POSITIVE_INFINITY }, [part(newer, 'limit'), part(older, 'start')]);
    expect(merged.end).toBe('start');
    expect(Object.keys(merged.summary.byDestination)).toHaveLength(1000);
    expect(merged.summary).toEqual({ ...one.summary(), past: false });
  });

  it('stops after the part that met a line older than the window; says truncated when the lowest part hit its limit', () => {
    const stale = eaddrnotavailLine(T0 - 60_000, '10.9.9.9:80');
    const a = part([...lines(0, 5, 30), stale, ...lines(5, 5, 30)], 'limit');
    const b = part(lines(100, 7, 20), 'limit');
    const stopped = mergeScanParts({ sinceMs: T0, untilMs: Number.POSITIVE_INFINITY }, [a, b]);
    expect(stopped.end).toBe('window');
    expect(stopped.summary.lines).toBe(5);
    const through = mergeScanParts({ sinceMs: T0, untilMs: Number.POSITIVE_INFINITY }, [part(lines(0, 5, 30), 'limit'), b]);
    expect(through).toMatchObject({ end: 'limit', summary: { lines: 12, truncated: true } });
  });
});
