/**
 * nginx's start-up line, the version it announces (parse/startupVersion.ts), as
 * diagnose's window finds it (the newest in the window) and as several logs
 * merge (the newest of all).
 */
import { describe, expect, it } from 'vitest';
import { mergeRecent, RecentWindow } from '../../../agent/errorlog/model/recent.js';
import { classifyLine } from '../../../agent/errorlog/parse/classify.js';
import { startupVersion } from '../../../agent/errorlog/parse/startupVersion.js';

const at = (min: number): string => {
  const d = new Date(2026, 11, 6, 13, min, 7);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const since = new Date(2026, 11, 6, 13, 0, 0).getTime();

/** What nginx 1.30.6 wrote at start-up here, with error_log at notice (captured). */
const STARTUP = (min: number, version = '1.30.6'): string[] => [
  `${at(min)} [notice] 6660#6660: using the "epoll" event method`,
  `${at(min)} [notice] 6660#6660: nginx/${version}`,
  `${at(min)} [notice] 6660#6660: built by gcc 16.2.0 (Debian 16.2.0-3) `,
  `${at(min)} [notice] 6660#6660: OS: Linux 6.18.44-fc-v1300`,
  `${at(min)} [notice] 6661#6661: start worker processes`,
];

describe('the start-up line', () => {
  it.each<[string, { product: string; version: string } | null]>([
    [`${at(1)} [notice] 6660#6660: nginx/1.30.6`, { product: 'nginx', version: '1.30.6' }],
    [`${at(1)} [notice] 6660#6660: nginx/1.24.0 (Ubuntu)`, { product: 'nginx', version: '1.24.0' }],
    [`${at(1)} [notice] 1#1: openresty/1.25.3.1`, { product: 'openresty', version: '1.25.3' }],
    // Not the start-up line: another level, a connection's line, more after the version.
    [`${at(1)} [error] 6660#6660: nginx/1.30.6`, null],
    [`${at(1)} [notice] 6660#6660: *3 nginx/1.30.6`, null],
    [`${at(1)} [notice] 6660#6660: nginx/1.30.6 is starting over`, null],
    [`${at(1)} [notice] 6660#6660: built by gcc 16.2.0 (Debian 16.2.0-3) `, null],
  ])('%s', (line, expected) => {
    const r = classifyLine(line);
    expect(r.ok).toBe(true);
    expect(r.ok ? startupVersion(r.event) : undefined).toEqual(expected);
  });

  it('diagnose\'s window keeps the newest start-up line (a binary upgrade or a restart after an older one)', () => {
    const lines = [...STARTUP(5, '1.22.1'), `${at(6)} [warn] 7#7: something`, ...STARTUP(20, '1.30.6'), `${at(21)} [error] 7#7: *1 upstream timed out`];
    const w = new RecentWindow(since);
    for (const l of lines.reverse()) w.add(l);
    expect(w.summary().nginxVersion).toEqual({ product: 'nginx', version: '1.30.6', timeMs: new Date(2026, 11, 6, 13, 20, 7).getTime(), line: `${at(20)} [notice] 6660#6660: nginx/1.30.6` });
  });

  it('a start-up before the window does not count', () => {
    const w = new RecentWindow(new Date(2026, 11, 6, 13, 30, 0).getTime());
    for (const l of [...STARTUP(5)].reverse()) w.add(l);
    expect(w.summary().nginxVersion).toBeNull();
  });

  it('several logs: the newest line of all', () => {
    const a = new RecentWindow(since);
    for (const l of STARTUP(20, '1.30.6').reverse()) a.add(l);
    const b = new RecentWindow(since);
    for (const l of STARTUP(10, '1.22.1').reverse()) b.add(l);
    expect(mergeRecent({ sinceMs: since, untilMs: Number.POSITIVE_INFINITY, past: false }, [b.summary(), a.summary()]).nginxVersion?.version).toBe('1.30.6');
    expect(mergeRecent({ sinceMs: since, untilMs: Number.POSITIVE_INFINITY, past: false }, [new RecentWindow(since).summary()]).nginxVersion).toBeNull();
  });
});
