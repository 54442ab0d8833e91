/**
 * The status page says what `agent diagnose --json` says: the daemon (in-process,
 * a fake clock, the captured proc tree, nginx.conf and error log) and diagnose at
 * the same moment on the same inputs build the same report, and the figures the
 * page shows for each destination are the report's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startDaemon, type Daemon } from '../../../agent/commands/run.js';
import { diagnose } from '../../../agent/commands/diagnose.js';
import { DAEMON_ERROR_LOG_WINDOW } from '../../../agent/commands/daemonStatus.js';
import { resolveConfig, type Config, type ConfigKey } from '../../../agent/config.js';
import type { Report } from '../../../agent/diagnosis/report.js';
import type { StatusView } from '../../../agent/diagnosis/status.js';
import { InlineSampler } from '../../../agent/sockets/sampler.js';
import { FakeClock } from '../../support/fakeClock.js';

const PROC = 'test/fixtures/real-tw-exhaustion/proc';
const LOG = 'test/fixtures/real-tw-exhaustion/error.log';
const CONF = 'test/fixtures/real-tw-exhaustion/nginx.conf';
/** Seven seconds after the captured error-log lines (08:43:53, nginx's local time; the tests run in UTC). */
const NOW = Date.UTC(2026, 10, 21, 8, 44, 0);

async function config(flags: Partial<Record<ConfigKey, unknown>>): Promise<Config> {
  const r = await resolveConfig({ env: {}, flags: { procRoot: PROC, errorLogs: [LOG], nginxConf: CONF, nginxVersion: '1.22.1', ...flags } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

/** The daemon in-process on the captured proc tree, backfilling its error logs, its first sample taken at the clock's time. */
async function startAt(clock: FakeClock, flags: Partial<Record<ConfigKey, unknown>>): Promise<Daemon> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  try {
    const sampler = new InlineSampler({ procRoot: PROC, endianness: 'LE', rateWindowSeconds: 60 });
    const daemon = await startDaemon(await config({ listen: '127.0.0.1:0', errorLogBackfill: true, sampleIntervalMs: 5000, ...flags }), pino({ level: 'silent' }), {
      sampler,
      installSignalHandlers: false,
      clock,
      hostFacts: false,
    });
    await vi.advanceTimersByTimeAsync(0);
    return daemon;
  } finally {
    vi.useRealTimers();
  }
}

/** The figures a destination row of the page shows, by field, as numbers. */
function pageFigures(html: string): Map<string, Record<string, number>> {
  const rows = new Map<string, Record<string, number>>();
  for (const m of html.matchAll(/<tr class="level-[a-z]+" data-destination="([^"]+)">(.*?)<\/tr>/g)) {
    const fields: Record<string, number> = {};
    for (const f of m[2]!.matchAll(/data-field="([A-Za-z]+)">([^<]*)</g)) fields[f[1]!] = Number(f[2]!.replace(/[\s\u202f%]/g, ''));
    rows.set(m[1]!, fields);
  }
  return rows;
}

describe('the status page and diagnose --json at the same moment', () => {
  let daemon: Daemon | null = null;
  afterEach(async () => {
    vi.useRealTimers();
    await daemon?.shutdown('test over');
    daemon = null;
  });

  it('build the same report, and the page shows its figures', async () => {
    const clock = new FakeClock(NOW);
    daemon = await startAt(clock, {});
    const base = `http://${daemon.address.replace(/^http:\/\//, '')}`;
    const status = (await (await fetch(`${base}/api/status`)).json()) as StatusView;
    const page = await (await fetch(`${base}/`)).text();
    const diagnosed = JSON.parse((await diagnose(await config({ since: '5m' }), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock })).output) as Report;

    // The one difference: the daemon's error-log section says it is its rolling window.
    expect(status.report.errorLog?.window).toBe(DAEMON_ERROR_LOG_WINDOW);
    const daemonLog = { ...status.report.errorLog! };
    delete daemonLog.window;
    expect({ ...status.report, errorLog: daemonLog }).toEqual(diagnosed);
    expect(diagnosed.errorLog?.byKind).toEqual([expect.objectContaining({ kind: 'eaddrnotavail', count: 40 })]);
    expect(diagnosed.findings.map((f) => f.id).slice(0, 2)).toEqual(['upstream_no_keepalive', 'exhaustion_confirmed']);

    const shown = pageFigures(page);
    expect([...shown.keys()]).toEqual(diagnosed.destinations.map((d) => `${d.sourceIp} → ${d.destination}`));
    for (const d of diagnosed.destinations) {
      expect(shown.get(`${d.sourceIp} → ${d.destination}`)).toEqual({
        used: d.used,
        capacity: d.capacity,
        headroom: d.headroom,
        headroomRatio: Math.round(d.headroomRatio * 1000) / 10,
        established: d.established,
        timeWait: d.timeWait,
        other: d.other,
        connectRatePerSecond: Number(d.connectRatePerSecond.toFixed(1)),
        maxSustainableConnectRate: Number(d.maxSustainableConnectRate.toFixed(1)),
      });
    }
    for (const f of diagnosed.findings) expect(page).toContain(`<code>${f.id}</code>`);
    expect(status.history?.entries).toHaveLength(1);
    expect(status.history?.entries[0]).toMatchObject({ atMs: NOW, minRatio: 0, errors: { eaddrnotavail: 40 } });
  });

  it('agree on the recent exhaustion when the backfilled log starts with an unreadable line and an older hour', async () => {
    // A line not in nginx's format first, then the same 40 lines an hour earlier, then the captured ones:
    // the daemon reads the whole file at once (errorLogBackfill), and only the last 40 are in either window.
    const dir = mkdtempSync(join(tmpdir(), 'npa-status-backfill-'));
    try {
      const captured = readFileSync(LOG, 'utf8').trimEnd().split('\n');
      const log = join(dir, 'error.log');
      writeFileSync(log, ['(a line in no format nginx writes)', ...captured.map((l) => l.replace('2026/11/21 08:43:53', '2026/11/21 07:43:53')), ...captured, ''].join('\n'));
      // Two seconds after the lines: the line read first and the recent ones share the window's current 10 s bucket.
      const clock = new FakeClock(Date.UTC(2026, 10, 21, 8, 43, 55));
      daemon = await startAt(clock, { errorLogs: [log] });
      const base = `http://${daemon.address.replace(/^http:\/\//, '')}`;
      const status = (await (await fetch(`${base}/api/status`)).json()) as StatusView;
      const diagnosed = JSON.parse((await diagnose(await config({ errorLogs: [log], since: '5m' }), { format: 'json', rateIntervalMs: 0, hostFacts: false, clock })).output) as Report;

      expect(diagnosed.errorLog?.byDestination).toEqual({ '127.0.0.2:9000': { eaddrnotavail: 40 } });
      expect(status.report.errorLog?.byDestination).toEqual(diagnosed.errorLog?.byDestination);
      expect(status.report.errorLog?.byKind).toEqual(diagnosed.errorLog?.byKind);
      expect(status.report.findings).toEqual(diagnosed.findings);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
