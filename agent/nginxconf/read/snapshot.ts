/**
 * One read of nginx's side, shared by `agent diagnose` and the daemon: the
 * configuration (read-only, never executed), the version, and when the
 * configuration last changed.
 *
 * The version, in the precedence of model/versionSource.ts: --nginx-version;
 * `nginx -v` on --nginx-bin (the only program the agent ever runs, without a
 * shell); the version string read out of the --nginx-bin file when it cannot be
 * run; the executable of the nginx master running under --proc-root, read as a
 * file; (the error log's start-up line, added by the commands, which read the
 * logs); the nginx package installed under --nginx-root. The first that gives a
 * version wins; the probes of a running nginx and of the package database run
 * only when a configuration was read, as the version only serves to interpret it.
 *
 * Each reader is imported when it is first needed: `agent diagnose` with no
 * configuration and no --nginx-bin loads none of them, nor the parsers behind
 * them (bench/README.md).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_NGINX_CONF, type Config } from '../../config.js';
import type { NginxLoad, NginxSnapshot } from '../model/evidence.js';
import { chooseVersion, type VersionAttempt, type VersionFinding } from '../model/versionSource.js';
import type { NginxConfigRead } from './config.js';
import type { NginxProcess } from './process.js';
import { systemClock, type Clock } from '../../io/clock.js';

/** Time limit for `nginx -v`. */
const VERSION_TIMEOUT_MS = 5000;

export type NginxSettings = Pick<Config, 'nginxConf' | 'nginxVersion' | 'nginxBin' | 'nginxRoot' | 'dnsTimeoutMs' | 'procRoot'>;

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

interface VersionSearch {
  found: VersionFinding[];
  attempts: VersionAttempt[];
}

/** --nginx-version, then --nginx-bin (run, or read when it cannot run). */
async function explicitVersion(settings: NginxSettings): Promise<VersionSearch> {
  if (settings.nginxVersion !== '') return { found: [{ from: 'flag', product: 'nginx', version: settings.nginxVersion, detail: '--nginx-version' }], attempts: [] };
  if (settings.nginxBin === '') return { found: [], attempts: [] };
  const bin = settings.nginxBin;
  const { readNginxVersion } = await import('./version.js');
  const v = await readNginxVersion(bin, VERSION_TIMEOUT_MS);
  if (v.ok) return { found: [{ from: 'nginx-bin', product: v.product, version: v.version, detail: `${bin} -v` }], attempts: [] };
  const attempts: VersionAttempt[] = [{ from: 'nginx-bin', error: v.error }];
  // Not runnable here (no exec permission, a binary for another libc, a sidecar's mount): read it instead.
  const { readVersionFromBinary } = await import('./binary.js');
  const file = await readVersionFromBinary(bin);
  if (file.ok) return { found: [{ from: 'binary', product: file.product, version: file.version, detail: `the version string in ${bin}, read without running it` }], attempts };
  return { found: [], attempts: [...attempts, { from: 'binary', error: `${bin} ${file.error}` }] };
}

/** The running nginx's executable, then the package database: only what the explicit sources did not give. */
async function probedVersion(settings: NginxSettings, procs: readonly NginxProcess[]): Promise<VersionSearch> {
  const { readRunningNginxVersion } = await import('./process.js');
  const running = await readRunningNginxVersion(settings.procRoot, undefined, procs);
  if (running.found !== null) return { found: [running.found], attempts: [] };
  const attempts = running.attempt === null ? [] : [running.attempt];
  if (settings.nginxRoot === '') return { found: [], attempts };
  const { readPackageVersion } = await import('./package.js');
  const pkg = await readPackageVersion(settings.nginxRoot);
  return { found: pkg.found === null ? [] : [pkg.found], attempts: [...attempts, ...(pkg.attempt === null ? [] : [pkg.attempt])] };
}

export async function loadNginx(settings: NginxSettings, clock: Clock = systemClock): Promise<NginxSnapshot> {
  const explicit = explicitVersion(settings);
  const path = settings.nginxConf;
  let read: NginxConfigRead | null = null;
  let configNote: string | null = null;
  if (path === '') configNote = 'nginx config not read (--nginx-conf is empty)';
  else if (path === DEFAULT_NGINX_CONF && !existsSync(path)) configNote = `nginx config not read: ${path} does not exist (give --nginx-conf)`;
  else {
    const { readNginxConfig } = await import('./config.js');
    read = await readNginxConfig(path, { dnsTimeoutMs: settings.dnsTimeoutMs });
    if (read.model.files.length === 0) {
      configNote = `nginx config not read: ${read.model.problems[0]?.message ?? `${path} could not be read`}`;
    }
  }
  let search = await explicit;
  // The running nginx's processes, looked at only when a config was read: for its version and when it loaded its config.
  let load: NginxLoad | null = null;
  if (configNote === null) {
    const { findNginxProcesses, readNginxLoad } = await import('./process.js');
    const procs = await findNginxProcesses(settings.procRoot);
    load = await readNginxLoad(settings.procRoot, clock.now(), resolve(read?.path ?? path), procs);
    if (search.found.length === 0) {
      const probed = await probedVersion(settings, procs);
      search = { found: probed.found, attempts: [...search.attempts, ...probed.attempts] };
    }
  }
  const chosen = chooseVersion(search.found, search.attempts);
  const configChangedAtMs = read === null ? null : newestMtimeMs(read.source === 'dump' ? [read.path] : read.model.files);
  return {
    read,
    configPath: path === '' ? null : path,
    configNote,
    ...chosen,
    versionFound: search.found,
    versionAttempts: search.attempts,
    configChangedAtMs,
    configLoad: load,
  };
}
