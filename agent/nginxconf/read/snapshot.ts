/**
 * One read of nginx's side, shared by `agent diagnose` and the daemon: the
 * configuration (read-only, never executed), the version (from --nginx-version,
 * or `nginx -v` run without a shell only when --nginx-bin is given), and when
 * the configuration last changed.
 */
import { existsSync, statSync } from 'node:fs';
import { DEFAULT_NGINX_CONF, type Config } from '../../config.js';
import type { NginxSnapshot } from '../model/evidence.js';
import { readNginxConfig, type NginxConfigRead } from './config.js';
import { readNginxVersion } from './version.js';

/** Time limit for `nginx -v`. */
const VERSION_TIMEOUT_MS = 5000;

export type NginxSettings = Pick<Config, 'nginxConf' | 'nginxVersion' | 'nginxBin' | 'dnsTimeoutMs'>;

/** The newest mtime among the files read: when the settings nginx was given last changed. */
function newestMtimeMs(files: readonly string[]): number | null {
  let newest: number | null = null;
  for (const f of files) {
    try {
      const m = statSync(f).mtimeMs;
      if (newest === null || m > newest) newest = m;
    } catch {
      // Gone since it was read: the next read reports it.
    }
  }
  return newest;
}

async function loadVersion(settings: NginxSettings): Promise<{ version: string | null; versionSource: string }> {
  if (settings.nginxVersion !== '') return { version: settings.nginxVersion, versionSource: '--nginx-version' };
  if (settings.nginxBin === '') return { version: null, versionSource: 'unknown: give --nginx-version or --nginx-bin' };
  const v = await readNginxVersion(settings.nginxBin, VERSION_TIMEOUT_MS);
  return v.ok ? { version: v.version, versionSource: `${settings.nginxBin} -v (${v.product})` } : { version: null, versionSource: `unknown: ${v.error}` };
}

export async function loadNginx(settings: NginxSettings): Promise<NginxSnapshot> {
  const versionPromise = loadVersion(settings);
  const path = settings.nginxConf;
  let read: NginxConfigRead | null = null;
  let configNote: string | null = null;
  if (path === '') configNote = 'nginx config not read (--nginx-conf is empty)';
  else if (path === DEFAULT_NGINX_CONF && !existsSync(path)) configNote = `nginx config not read: ${path} does not exist (give --nginx-conf)`;
  else {
    read = await readNginxConfig(path, { dnsTimeoutMs: settings.dnsTimeoutMs });
    if (read.model.files.length === 0) {
      configNote = `nginx config not read: ${read.model.problems[0]?.message ?? `${path} could not be read`}`;
    }
  }
  const { version, versionSource } = await versionPromise;
  const configChangedAtMs = read === null ? null : newestMtimeMs(read.source === 'dump' ? [read.path] : read.model.files);
  return { read, configPath: path === '' ? null : path, configNote, version, versionSource, configChangedAtMs };
}
