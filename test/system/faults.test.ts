/**
 * Fault tolerance, measured: the built daemon, against a scratch proc root, an
 * error log and an nginx config that the test breaks one after another (files
 * that vanish or hold nonsense, a read that hangs in the kernel, a deleted log,
 * an unreadable config, a burst of 100 000 log lines, 50 concurrent scrapes, the
 * process stopped and starved of CPU). A scraper polls /metrics all along. After
 * each fault: nginx_port_source_up tells the truth while it lasts, the last good
 * values stay, and the daemon recovers by itself once the fault is gone. At the
 * end: every scrape was answered, and memory stayed bounded.
 */
import { mkdirSync, readFileSync, renameSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { MAX_SCRAPES_IN_FLIGHT } from '../../agent/export/hardening.js';
import { DAEMON_NODE_FLAGS } from '../../agent/nodeFlags.js';
import { startDaemon, type Daemon } from '../support/agentProcess.js';
import { describeWith } from '../support/gate.js';
import { seriesValue } from '../support/metricsText.js';
import { eaddrnotavailLine } from '../support/procText.js';
import { scratchProc } from '../support/procTree.js';
import { quantile, Scraper, timedGet, type Scrape } from '../support/scraper.js';
import { mountStuckFs, type StuckFs } from '../support/stuckFs.js';

const MiB = 1024 * 1024;
const SAMPLE_INTERVAL_MS = 100;
const SAMPLE_TIMEOUT_MS = 1000;
const SCRAPE_INTERVAL_MS = 50;
/**
 * Peak resident memory allowed over the whole run. The daemon's documented target
 * is 150 MB while sampling 120 000 sockets (bench/README.md); the fixture here
 * is small, so anything near 200 MB means a fault made it buffer what it read.
 */
const PEAK_RSS_BOUND = 200 * MiB;
/** Size of the nonsense files: far larger than any procfs file the agent reads, small enough to write quickly. */
const BIG_FILE_BYTES = 64 * MiB;
const BURST_LINES = 100_000;
const BURST_CHUNKS = 10;
const FUTURE_LINES = 20_000;
const BINARY_LINES = 1000;
const TOO_LONG_LINES = 5;
const CONCURRENT_SCRAPES = 50;
const CONCURRENT_ROUNDS = 5;
const STOP_MS = 2000;

const DEST = '127.0.0.2:9000';
const S = {
  headroom: `nginx_port_destination_headroom{source_ip="127.0.0.1",destination="${DEST}"}`,
  ratioMin: 'nginx_port_headroom_ratio_min',
  destinations: 'nginx_port_destinations',
  rangeSize: 'nginx_port_range_size',
  lastSample: 'nginx_port_last_sample_timestamp_seconds',
  ok: 'nginx_port_samples_total{result="ok"}',
  timeout: 'nginx_port_samples_total{result="timeout"}',
  malformedTcp: 'nginx_port_malformed_lines_total{source="tcp"}',
  events: `nginx_port_error_log_events_total{kind="eaddrnotavail",destination="${DEST}"}`,
  lines: 'nginx_port_error_log_lines_total',
  unparsed: 'nginx_port_error_log_discarded_lines_total{reason="unparsed"}',
  tooLong: 'nginx_port_error_log_discarded_lines_total{reason="too_long"}',
  up: (source: string) => `nginx_port_source_up{source="${source}"}`,
  finding: (id: string, severity: string) => `nginx_port_finding_active{id="${id}",severity="${severity}"}`,
};
/** The socket sources the fixture has (conntrack is not loaded there). */
const SOCKET_SOURCES = ['tcp', 'tcp6', 'sysctl', 'snmp', 'netstat', 'sockstat'];
/** The fixture's exhaustion towards 127.0.0.2:9000 through an upstream group without keepalive. */
const NGINX_CONF = 'events {}\nhttp {\n  upstream backend { server 127.0.0.2:9000; }\n  server { listen 8080; location / { proxy_pass http://backend; } }\n}\n';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const v = (body: string, series: string): number | undefined => seriesValue(body, series);

function memoryOf(pid: number): { rss: number; peak: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rss: field('VmRSS') * 1024, peak: field('VmHWM') * 1024, threads: field('Threads') };
}

/** Bytes that are nothing like a socket table, reproducibly. */
function nonsense(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = 0x2545f491;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Replaces a file in one step (a reader sees the old or the new content, never half of it). */
async function replace(path: string, data: string | Buffer): Promise<void> {
  await writeFile(`${path}.new`, data);
  await rename(`${path}.new`, path);
}

/** The three phases with the slowest scrape, and that scrape's latency. */
function slowest(scrapes: readonly Scrape[]): string {
  const byPhase = new Map<string, number>();
  for (const s of scrapes) byPhase.set(s.phase, Math.max(byPhase.get(s.phase) ?? 0, s.latencyMs));
  return [...byPhase].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([phase, max]) => `${phase} ${max.toFixed(1)} ms`).join(', ');
}

const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

describeWith(['built', 'linux'], 'agent run under faults', () => {
  const scratch = scratchProc();
  const dir = join(scratch.root, '..');
  const tcp = join(scratch.root, 'net/tcp');
  const range = join(scratch.root, 'sys/net/ipv4/ip_local_port_range');
  const log = join(dir, 'error.log');
  const conf = join(dir, 'nginx.conf');
  const good = { tcp: readFileSync(tcp), range: readFileSync(range) };
  let daemon: Daemon | undefined;
  let scraper: Scraper | undefined;
  let stuck: StuckFs | undefined;
  const figures: { memory: { when: string; rss: number }[]; burstAppendMs?: number; burstIngestMs?: number; concurrent: Scrape[] } = {
    memory: [],
    concurrent: [],
  };

  const d = (): Daemon => {
    if (daemon === undefined) throw new Error('the daemon is not running');
    return daemon;
  };
  const pid = (): number => d().child.pid!;
  const noteMemory = (when: string): void => {
    figures.memory.push({ when, rss: memoryOf(pid()).rss });
  };
  /** The daemon's log since `mark` (a length of its log), at most its last 150 lines, each cut at 1000 characters. */
  const printLogs = (mark: number): void => {
    const lines = (daemon?.logs() ?? '').slice(mark).trimEnd().split('\n');
    console.error(`daemon log during the test, last ${Math.min(150, lines.length)} of ${lines.length} lines:\n${lines.slice(-150).map((l) => l.slice(0, 1000)).join('\n')}`);
  };
  /** One fault: starts from a healthy daemon (so one failure does not cascade), prints the daemon's log if it fails. */
  const fault = (name: string, fn: () => Promise<void>, timeoutMs = 40_000): void => {
    it(name, async () => {
      const mark = daemon?.logs().length ?? 0;
      onTestFailed(() => {
        printLogs(mark);
      });
      scraper!.phase = 'healthy';
      await waitFor('a healthy baseline', (b) => SOCKET_SOURCES.every((s) => v(b, S.up(s)) === 1) && v(b, S.headroom) === 0 && v(b, S.destinations) === 2);
      await fn();
    }, timeoutMs);
  };

  const scrape = async (): Promise<string> => {
    const s = await timedGet(`${d().url}/metrics`, scraper?.phase ?? 'probe');
    if (s.status !== 200) throw new Error(`/metrics answered ${s.status ?? s.error}: ${s.body.slice(0, 200)}`);
    return s.body;
  };
  /** Polls /metrics until `pred` holds; on timeout, says what the sources looked like. */
  const waitFor = async (what: string, pred: (body: string) => boolean, timeoutMs = 10_000): Promise<string> => {
    const end = Date.now() + timeoutMs;
    let body = '';
    while (Date.now() < end) {
      body = await scrape();
      if (pred(body)) return body;
      await sleep(50);
    }
    const shown = body.split('\n').filter((l) => /^nginx_port_(source_up|samples_total|malformed_lines_total|error_log_lines_total|headroom_ratio_min|destinations) ?/.test(l));
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last /metrics:\n${shown.join('\n')}`);
  };
  /** Every socket source up again, from a sample taken after `sinceMs`. */
  const recovered = (sinceMs: number): Promise<string> =>
    waitFor('every socket source up from a fresh sample', (b) => SOCKET_SOURCES.every((s) => v(b, S.up(s)) === 1) && (v(b, S.lastSample) ?? 0) * 1000 >= sinceMs);
  const logsSince = (mark: number): string => d().logs().slice(mark);
  const count = (text: string, re: RegExp): number => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

  beforeAll(async () => {
    writeFileSync(conf, NGINX_CONF);
    writeFileSync(log, '');
    daemon = await startDaemon(
      [
        '--proc-root', scratch.root,
        '--sample-interval-ms', String(SAMPLE_INTERVAL_MS),
        '--sample-timeout-ms', String(SAMPLE_TIMEOUT_MS),
        '--error-log', log,
        '--nginx-conf', conf,
        '--nginx-version', '1.22.1',
        '--nginx-conf-reload-ms', '1000',
      ],
      // The flags the `agent` bin runs with, so memory is measured as users run it.
      { NODE_OPTIONS: [process.env['NODE_OPTIONS'] ?? '', ...DAEMON_NODE_FLAGS].join(' ').trim() },
    );
    await waitFor('the first findings', (b) => v(b, S.finding('upstream_no_keepalive', 'critical')) === 1 && v(b, S.up('nginx_config')) === 1);
    scraper = new Scraper(`${d().url}/metrics`, SCRAPE_INTERVAL_MS);
    scraper.start();
    await sleep(1000);
    noteMemory('ready, 1 s of scrapes');
  });

  afterAll(async () => {
    // First: a thread blocked in the stuck file system cannot be killed until it is gone.
    await stuck?.release();
    await scraper?.stop();
    if (daemon !== undefined) {
      daemon.child.kill('SIGCONT');
      await daemon.stop('SIGKILL');
    }
    scratch.cleanup();
  });

  fault('net/tcp vanishes: tcp down with the last values kept, then up again', async () => {
    scraper!.phase = 'net/tcp missing';
    const mark = d().logs().length;
    renameSync(tcp, `${tcp}.away`);
    let restoredAt: number;
    try {
      const down = await waitFor('source_up{tcp} 0', (b) => v(b, S.up('tcp')) === 0);
      expect(v(down, S.headroom)).toBe(0);
      expect(v(down, S.destinations)).toBe(2);
      expect(v(down, S.up('sysctl'))).toBe(1);
      const stale = v(down, S.lastSample);
      await sleep(10 * SAMPLE_INTERVAL_MS);
      const later = await scrape();
      expect(v(later, S.up('tcp'))).toBe(0);
      expect(v(later, S.lastSample)).toBe(stale);
      expect(count(logsSince(mark), /source tcp failed/)).toBe(1);
    } finally {
      renameSync(`${tcp}.away`, tcp);
      restoredAt = Date.now();
    }
    scraper!.phase = 'net/tcp restored';
    await recovered(restoredAt);
    expect(logsSince(mark)).toMatch(/source tcp recovered/);
  });

  fault('net/tcp holds nonsense: tcp down with the last values kept, never a healthy-looking empty table', async () => {
    scraper!.phase = 'net/tcp nonsense';
    const m0 = v(await scrape(), S.malformedTcp)!;
    const mark = d().logs().length;
    await replace(tcp, Buffer.concat([Buffer.from('this is not a socket table\n'), nonsense(64 * 1024)]));
    let restoredAt: number;
    try {
      const down = await waitFor('source_up{tcp} 0', (b) => v(b, S.up('tcp')) === 0);
      expect(v(down, S.headroom)).toBe(0);
      expect(v(down, S.ratioMin)).toBe(0);
      expect(v(down, S.destinations)).toBe(2);
      expect(v(down, S.malformedTcp)).toBeGreaterThan(m0);
      expect(logsSince(mark)).toMatch(/AGENT_ERR_PROC_MALFORMED/);
      const findings = (await (await fetch(`${d().url}/api/findings`)).json()) as { status: string };
      expect(findings.status).toBe('CRITICAL');
    } finally {
      await replace(tcp, good.tcp);
      restoredAt = Date.now();
    }
    scraper!.phase = 'net/tcp restored';
    await recovered(restoredAt);

    // A few bad lines among good ones are skipped and counted; the source stays up (docs/errors.md, AGENT_ERR_PROC_MALFORMED).
    scraper!.phase = 'net/tcp with bad lines';
    const m1 = v(await scrape(), S.malformedTcp)!;
    await replace(tcp, Buffer.concat([good.tcp, Buffer.from('garbage\n\u0000\u0001 binary\n')]));
    try {
      // Two bad lines per sample, so at least two samples.
      const counted = await waitFor('malformed lines counted', (b) => v(b, S.malformedTcp)! >= m1 + 4);
      expect(v(counted, S.up('tcp'))).toBe(1);
      expect(v(counted, S.headroom)).toBe(0);
      expect(v(counted, S.destinations)).toBe(2);
    } finally {
      await replace(tcp, good.tcp);
      restoredAt = Date.now();
    }
    scraper!.phase = 'net/tcp restored';
    const m2 = v(await recovered(restoredAt), S.malformedTcp)!;
    await sleep(5 * SAMPLE_INTERVAL_MS);
    expect(v(await scrape(), S.malformedTcp)).toBe(m2);
  });

  fault(`net/tcp as one ${BIG_FILE_BYTES / MiB} MiB line: tcp down, memory bounded`, async () => {
    scraper!.phase = 'net/tcp endless line';
    await replace(tcp, Buffer.alloc(BIG_FILE_BYTES, 'x'));
    let restoredAt: number;
    try {
      const down = await waitFor('source_up{tcp} 0', (b) => v(b, S.up('tcp')) === 0);
      expect(v(down, S.headroom)).toBe(0);
      await sleep(10 * SAMPLE_INTERVAL_MS);
      noteMemory(`net/tcp: one ${BIG_FILE_BYTES / MiB} MiB line, 1 s`);
      expect(memoryOf(pid()).peak).toBeLessThan(PEAK_RSS_BOUND);
    } finally {
      await replace(tcp, good.tcp);
      restoredAt = Date.now();
    }
    scraper!.phase = 'net/tcp restored';
    await recovered(restoredAt);
  });

  fault('ip_local_port_range holds nonsense: sysctl down with the last values kept, then up again', async () => {
    scraper!.phase = 'sysctl nonsense';
    const mark = d().logs().length;
    await replace(range, 'abc\n');
    let restoredAt: number;
    try {
      const down = await waitFor('source_up{sysctl} 0', (b) => v(b, S.up('sysctl')) === 0);
      expect(v(down, S.rangeSize)).toBe(100);
      expect(v(down, S.headroom)).toBe(0);
      const stale = v(down, S.lastSample);
      await sleep(5 * SAMPLE_INTERVAL_MS);
      expect(v(await scrape(), S.lastSample)).toBe(stale);
      expect(count(logsSince(mark), /source sysctl failed/)).toBe(1);
      expect(logsSince(mark)).toMatch(/ip_local_port_range: expected two numbers, got \\"abc\\"/);
    } finally {
      await replace(range, good.range);
      restoredAt = Date.now();
    }
    scraper!.phase = 'sysctl restored';
    await recovered(restoredAt);
  });

  fault(`ip_local_port_range of ${BIG_FILE_BYTES / MiB} MiB: sysctl down, memory and log lines bounded`, async () => {
    scraper!.phase = 'sysctl huge';
    const mark = d().logs().length;
    await replace(range, Buffer.alloc(BIG_FILE_BYTES, '4'));
    let restoredAt: number;
    try {
      const down = await waitFor('source_up{sysctl} 0', (b) => v(b, S.up('sysctl')) === 0);
      expect(v(down, S.rangeSize)).toBe(100);
      await sleep(10 * SAMPLE_INTERVAL_MS);
      noteMemory(`ip_local_port_range: ${BIG_FILE_BYTES / MiB} MiB, 1 s`);
      expect(memoryOf(pid()).peak).toBeLessThan(PEAK_RSS_BOUND);
    } finally {
      await replace(range, good.range);
      restoredAt = Date.now();
    }
    scraper!.phase = 'sysctl restored';
    await recovered(restoredAt);
    const longest = Math.max(...logsSince(mark).split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(4096);
  });

  describeWith(['root', 'command:mount', 'command:umount'], 'a read that hangs in the kernel', () => {
    fault('the sample times out, one thread stays stuck, /metrics keeps answering, and sampling resumes once the file system is back', async () => {
      scraper!.phase = 'net/tcp hangs';
      stuck = await mountStuckFs();
      const before = await scrape();
      const timeouts0 = v(before, S.timeout)!;
      const threads0 = memoryOf(pid()).threads;
      const mark = d().logs().length;
      // net/tcp becomes a link into the stuck file system: stat() blocks in the kernel.
      symlinkSync(join(stuck.dir, 'tcp'), `${tcp}.link`);
      renameSync(`${tcp}.link`, tcp);
      let restoredAt: number;
      try {
        const down = await waitFor('samples timing out', (b) => v(b, S.timeout)! >= timeouts0 + 5, 15_000);
        expect(stuck.lookups).toContain('tcp');
        for (const s of SOCKET_SOURCES) expect(v(down, S.up(s)), s).toBe(0);
        expect(v(down, S.headroom)).toBe(0);
        // A stuck thread cannot be ended; no new one is started while it is stuck.
        const threadsA = memoryOf(pid()).threads;
        await sleep(10 * SAMPLE_INTERVAL_MS);
        const threadsB = memoryOf(pid()).threads;
        expect(threadsB).toBe(threadsA);
        expect(threadsB).toBeLessThanOrEqual(threads0);
        expect(v(await scrape(), S.timeout)).toBeGreaterThan(v(down, S.timeout)!);
        const failures = logsSince(mark);
        expect(failures).toMatch(new RegExp(`took longer than ${SAMPLE_TIMEOUT_MS} ms and was abandoned`));
        expect(count(failures, /socket sample failed/)).toBeLessThanOrEqual(2);
      } finally {
        // The fault goes away: net/tcp is a file again and the file system lets go of the blocked thread.
        await replace(tcp, good.tcp);
        restoredAt = Date.now();
        await stuck.release();
      }
      scraper!.phase = 'net/tcp unstuck';
      await recovered(restoredAt);
      expect(logsSince(mark)).toMatch(/socket sampling recovered/);
      await sleep(5 * SAMPLE_INTERVAL_MS);
      expect(memoryOf(pid()).threads).toBeLessThanOrEqual(threads0);
    });
  });

  fault('the error log is deleted: its source down, then the recreated file is tailed from its start', async () => {
    scraper!.phase = 'error log deleted';
    const before = await scrape();
    // The destination's series appears with its first event.
    const events0 = v(before, S.events) ?? 0;
    const lines0 = v(before, S.lines)!;
    unlinkSync(log);
    await waitFor('the error log down', (b) => v(b, S.up(`error_log:${log}`)) === 0);
    scraper!.phase = 'error log recreated';
    const now = Date.now();
    writeFileSync(log, Array.from({ length: 50 }, (_, i) => `${eaddrnotavailLine(now, DEST, i + 1)}\n`).join(''));
    const after = await waitFor('50 new events', (b) => v(b, S.up(`error_log:${log}`)) === 1 && v(b, S.events) === events0 + 50);
    expect(v(after, S.lines)).toBe(lines0 + 50);
  });

  fault('the nginx config becomes unreadable: nginx_config down, findings go on without it, then it is read again', async () => {
    scraper!.phase = 'nginx config unreadable';
    const mark = d().logs().length;
    // Root reads through any file mode, so the config is made unreadable by becoming a directory.
    renameSync(conf, `${conf}.away`);
    mkdirSync(conf);
    try {
      // source_up is read at scrape time, the findings at the next sample: wait for both.
      const down = await waitFor(
        'nginx_config down and the config-based finding gone',
        (b) => v(b, S.up('nginx_config')) === 0 && v(b, S.finding('upstream_no_keepalive', 'critical')) === undefined,
      );
      expect(v(down, S.finding('headroom_exhausted', 'critical'))).toBe(1);
      expect(logsSince(mark)).toMatch(/nginx\.conf is a directory/);
    } finally {
      rmdirSync(conf);
      renameSync(`${conf}.away`, conf);
    }
    scraper!.phase = 'nginx config restored';
    await waitFor('the config read again', (b) => v(b, S.up('nginx_config')) === 1 && v(b, S.finding('upstream_no_keepalive', 'critical')) === 1);
  });

  fault(`a burst of ${BURST_LINES} error-log lines within a second: every one counted, /metrics answering throughout`, async () => {
    const before = await scrape();
    const events0 = v(before, S.events) ?? 0;
    const lines0 = v(before, S.lines)!;
    const unparsed0 = v(before, S.unparsed)!;
    scraper!.phase = 'burst';
    const perChunk = BURST_LINES / BURST_CHUNKS;
    const t0 = performance.now();
    for (let c = 0; c < BURST_CHUNKS; c++) {
      const now = Date.now();
      let chunk = '';
      for (let i = 0; i < perChunk; i++) chunk += `${eaddrnotavailLine(now, DEST, c * perChunk + i + 1)}\n`;
      await appendFile(log, chunk);
      const next = t0 + ((c + 1) * 1000) / BURST_CHUNKS;
      if (performance.now() < next) await sleep(next - performance.now());
    }
    figures.burstAppendMs = performance.now() - t0;
    const target = events0 + BURST_LINES;
    const done = await waitFor(`${BURST_LINES} more events`, (b) => v(b, S.events)! >= target, 30_000);
    figures.burstIngestMs = performance.now() - t0;
    scraper!.phase = 'after burst';
    expect(v(done, S.events)).toBe(target);
    expect(v(done, S.lines)).toBe(lines0 + BURST_LINES);
    expect(v(done, S.unparsed)).toBe(unparsed0);
    expect(figures.burstAppendMs).toBeLessThan(1500);
    await sleep(500);
    expect(v(await scrape(), S.events)).toBe(target);
    const during = scraper!.scrapes.filter((s) => s.phase === 'burst');
    expect(during.length).toBeGreaterThanOrEqual(5);
    expect(during.filter((s) => s.status !== 200)).toEqual([]);
    noteMemory(`after ${BURST_LINES} log lines`);
  });

  fault('the error log fed nonsense: future-stamped, binary and over-long lines counted for what they are, memory bounded', async () => {
    const before = await scrape();
    const events0 = v(before, S.events) ?? 0;
    const lines0 = v(before, S.lines)!;
    const unparsed0 = v(before, S.unparsed)!;
    const tooLong0 = v(before, S.tooLong)!;
    scraper!.phase = 'error log nonsense';
    // Stamped an hour ahead and 10 s apart (a clock stepped back, or not nginx's log at all).
    const ahead = Date.now() + 3_600_000;
    let text = '';
    for (let i = 0; i < FUTURE_LINES; i++) text += `${eaddrnotavailLine(ahead + i * 10_000, DEST, i + 1)}\n`;
    const binary = nonsense(BINARY_LINES * 200).map((b) => (b === 0x0a ? 0x20 : b));
    for (let i = 0; i < BINARY_LINES; i++) binary[i * 200 + 199] = 0x0a;
    await appendFile(log, text);
    await appendFile(log, binary);
    await appendFile(log, `${'z'.repeat(100_000)}\n`.repeat(TOO_LONG_LINES));
    const done = await waitFor('every line accounted for', (b) => v(b, S.tooLong)! >= tooLong0 + TOO_LONG_LINES, 30_000);
    expect(v(done, S.events)).toBe(events0 + FUTURE_LINES);
    expect(v(done, S.unparsed)).toBe(unparsed0 + BINARY_LINES);
    expect(v(done, S.lines)).toBe(lines0 + FUTURE_LINES + BINARY_LINES);
    await sleep(10 * SAMPLE_INTERVAL_MS);
    noteMemory(`after ${FUTURE_LINES} future-stamped and ${BINARY_LINES} binary log lines, 1 s`);
    expect(memoryOf(pid()).peak).toBeLessThan(PEAK_RSS_BOUND);
    scraper!.phase = 'after error log nonsense';
    const during = scraper!.scrapes.filter((s) => s.phase === 'error log nonsense');
    expect(during.filter((s) => s.status !== 200)).toEqual([]);
  });

  fault(`${CONCURRENT_SCRAPES} concurrent scrapes: answered, or refused as documented beyond ${MAX_SCRAPES_IN_FLIGHT} in flight`, async () => {
    scraper!.phase = 'concurrent scrapes';
    for (let round = 0; round < CONCURRENT_ROUNDS; round++) {
      const [health, ...answers] = await Promise.all([
        timedGet(`${d().url}/healthz`, 'concurrent scrapes'),
        ...Array.from({ length: CONCURRENT_SCRAPES }, () => timedGet(`${d().url}/metrics`, 'concurrent scrapes')),
      ]);
      figures.concurrent.push(...answers);
      // The health endpoints are not bounded.
      expect(health.status).toBe(200);
      const whole = answers.filter((a) => a.status === 200 && a.body.includes('nginx_port_build_info'));
      const refused = answers.filter((a) => a.status === 503 && a.retryAfter === '1' && a.body === 'too many scrapes in flight, retry\n');
      expect(whole.length + refused.length, JSON.stringify(answers.filter((a) => !whole.includes(a) && !refused.includes(a)).map((a) => [a.status, a.error, a.body.slice(0, 80)]))).toBe(CONCURRENT_SCRAPES);
      // The first MAX_SCRAPES_IN_FLIGHT are admitted (the background scraper may hold one slot).
      expect(whole.length).toBeGreaterThanOrEqual(MAX_SCRAPES_IN_FLIGHT - 1);
    }
    scraper!.phase = 'after concurrent scrapes';
    await scrape();
    noteMemory(`after ${CONCURRENT_ROUNDS} × ${CONCURRENT_SCRAPES} concurrent scrapes`);
  });

  fault(`stopped for ${STOP_MS / 1000} s (SIGSTOP, SIGCONT): resumes sampling and answering`, async () => {
    const before = await scrape();
    const ok0 = v(before, S.ok)!;
    scraper!.phase = 'stopped';
    process.kill(pid(), 'SIGSTOP');
    let resumedAt: number;
    try {
      await sleep(100);
      expect(readFileSync(`/proc/${pid()}/stat`, 'utf8').replace(/^.*\) /s, '')[0]).toBe('T');
      await sleep(STOP_MS - 100);
    } finally {
      process.kill(pid(), 'SIGCONT');
      resumedAt = Date.now();
    }
    scraper!.phase = 'resumed';
    const after = await waitFor('fresh samples', (b) => v(b, S.ok)! > ok0 + 5 && v(b, S.lastSample)! * 1000 >= resumedAt);
    for (const s of SOCKET_SOURCES) expect(v(after, S.up(s)), s).toBe(1);
    expect((await fetch(`${d().url}/readyz`)).status).toBe(200);
  });

  fault('starved of CPU (stopped 150 ms of every 200 ms for 3 s): keeps sampling and answering', async () => {
    const ok0 = v(await scrape(), S.ok)!;
    scraper!.phase = 'starved';
    const end = Date.now() + 3000;
    try {
      while (Date.now() < end) {
        process.kill(pid(), 'SIGSTOP');
        await sleep(150);
        process.kill(pid(), 'SIGCONT');
        await sleep(50);
      }
    } finally {
      process.kill(pid(), 'SIGCONT');
    }
    scraper!.phase = 'after starvation';
    const starved = scraper!.scrapes.filter((s) => s.phase === 'starved');
    // Samples went on at a quarter of the CPU time.
    expect(v(await scrape(), S.ok)).toBeGreaterThan(ok0 + 3);
    expect(starved.length).toBeGreaterThanOrEqual(5);
  });

  fault('answered every scrape throughout, within bounded memory, and stops cleanly', async () => {
    await scraper!.stop();
    noteMemory('end');
    const mem = memoryOf(pid());
    const all = scraper!.scrapes;
    const unanswered = all.filter((s) => s.status !== 200 || s.body !== 'whole');
    // Only the concurrent-scrape phase may see the documented 503 (the scraper is one more client then).
    const undocumented = unanswered.filter((s) => !(s.phase === 'concurrent scrapes' && s.status === 503 && s.retryAfter === '1'));
    expect(undocumented.map((s) => [s.phase, s.status, s.error, s.body.slice(0, 80)])).toEqual([]);

    // Latency as the scraper saw it; the stopped and starved phases are reported apart (a stopped process answers late by design).
    const paused = new Set(['stopped', 'starved']);
    const running = all.filter((s) => !paused.has(s.phase)).map((s) => s.latencyMs);
    const pausedLatency = all.filter((s) => paused.has(s.phase)).map((s) => s.latencyMs);
    const concurrent = figures.concurrent.map((s) => s.latencyMs);
    const lines = [
      `scrapes: ${all.length} by the background scraper, ${unanswered.length} not 200 (${unanswered.filter((s) => s.status === 503).length} documented 503)`,
      `/metrics latency outside stop/starve: p50 ${ms(quantile(running, 0.5))}, p99 ${ms(quantile(running, 0.99))}, max ${ms(Math.max(...running))} (${running.length} scrapes)`,
      `slowest phases: ${slowest(all.filter((s) => !paused.has(s.phase)))}`,
      `/metrics latency while stopped/starved: p99 ${ms(quantile(pausedLatency, 0.99))}, max ${ms(Math.max(...pausedLatency))} (${pausedLatency.length} scrapes)`,
      `concurrent scrapes: ${figures.concurrent.filter((s) => s.status === 200).length}/${figures.concurrent.length} answered 200, the rest 503; p99 ${ms(quantile(concurrent, 0.99))}, max ${ms(Math.max(...concurrent))}`,
      `burst: ${BURST_LINES} lines appended in ${ms(figures.burstAppendMs ?? NaN)}, all counted ${ms(figures.burstIngestMs ?? NaN)} after the first append`,
      ...figures.memory.map((m) => `RSS ${m.when}: ${mb(m.rss)}`),
      `peak RSS (VmHWM) over the run: ${mb(mem.peak)}`,
    ];
    console.log(`fault tolerance figures:\n  ${lines.join('\n  ')}`);

    expect(mem.peak).toBeLessThan(PEAK_RSS_BOUND);
    // Loose on purpose (the suite shares two cores with nginx, wrk and Prometheus): a
    // scrape that waits on a sample or a read shows as seconds, not as tens of ms.
    expect(quantile(running, 0.99)).toBeLessThan(500);
    expect(Math.max(...running)).toBeLessThan(2000);
    expect(Math.max(...pausedLatency)).toBeLessThan(STOP_MS + 1000);

    expect(await d().stop('SIGTERM')).toBe(0);
    expect(d().logs()).toMatch(/"msg":"stopped"/);
    daemon = undefined;
  });
});
