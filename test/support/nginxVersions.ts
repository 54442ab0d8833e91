/**
 * The nginx binaries the real-nginx system tests run on:
 *
 * - 1.22: Debian 12's package, /usr/sbin/nginx.
 * - 1.30: Debian unstable's package, unpacked with its own C library and loader
 *   by scripts/install-nginx-1.30.sh into $NGINX130_DIR (default
 *   /opt/nginx-1.30); `$NGINX130_DIR/nginx` is a wrapper that takes nginx's own
 *   arguments.
 *
 * Each is asked its version (`nginx -v`) and build options (`nginx -V`) once,
 * when this module loads. `describeEachNginx` registers a test block per binary
 * through the gate: a binary that is missing skips its block with the reason
 * locally and fails it under AGENT_TEST_STRICT=1.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeUnless, unmet, type Requirement } from './gate.js';

export type NginxLabel = '1.22' | '1.30';

export interface NginxBinary {
  readonly label: NginxLabel;
  /** The executable, called exactly like nginx (`-t`, `-p`, `-c`, `-e`, `-g`, `-s reload`). */
  readonly bin: string;
  /** What `nginx -v` reports ("1.22.1"), or null when it could not be run. */
  readonly version: string | null;
  /**
   * The absolute path of ngx_stream_module.so for `load_module`, or null when
   * this nginx has none to load (the module not installed, or compiled in: see
   * `--with-stream` in `nginx -V`).
   */
  readonly streamModule: string | null;
  /** Why tests cannot run on this binary, or null when they can. */
  readonly unmet: string | null;
}

export const NGINX122_BIN = '/usr/sbin/nginx';
export const NGINX130_DIR = process.env['NGINX130_DIR'] ?? '/opt/nginx-1.30';
export const NGINX130_BIN = join(NGINX130_DIR, 'nginx');
/** Where Debian 12's libnginx-mod-stream puts the module (nginx -V: --modules-path=/usr/lib/nginx/modules). */
const DEBIAN12_MODULES = '/usr/lib/nginx/modules';

/** What `nginx -v` or `nginx -V` prints (on stderr), or null when it fails. */
function versionOutput(bin: string, flag: '-v' | '-V'): string | null {
  const r = spawnSync(bin, [flag], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stderr : null;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function describeBinary(label: NginxLabel, bin: string, notInstalled: string, streamModule: () => string | null): NginxBinary {
  if (!executable(bin)) return { label, bin, version: null, streamModule: null, unmet: notInstalled };
  const out = versionOutput(bin, '-v');
  const version = out === null ? null : (/nginx\/(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? null);
  if (version === null) return { label, bin, version, streamModule: null, unmet: `${bin} -v failed or printed no version: ${out ?? '(no output)'}` };
  if (!version.startsWith(`${label}.`)) return { label, bin, version, streamModule: null, unmet: `${bin} is nginx ${version}, not ${label}` };
  return { label, bin, version, streamModule: streamModule(), unmet: null };
}

/** Debian 12's nginx builds the stream module as a dynamic module, shipped in libnginx-mod-stream. */
function debian12StreamModule(): string | null {
  const path = join(DEBIAN12_MODULES, 'ngx_stream_module.so');
  return existsSync(path) ? path : null;
}

/** The install script writes the module's absolute path into stream-module-path. */
function nginx130StreamModule(): string | null {
  try {
    const path = readFileSync(join(NGINX130_DIR, 'stream-module-path'), 'utf8').trim();
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function list(): readonly NginxBinary[] {
  const v130 = describeBinary('1.30', NGINX130_BIN, `nginx 1.30 not installed (no ${NGINX130_BIN}): run scripts/install-nginx-1.30.sh`, nginx130StreamModule);
  return [
    describeBinary('1.22', NGINX122_BIN, `nginx 1.22 not installed (no ${NGINX122_BIN}): apt-get install nginx`, debian12StreamModule),
    // The install script always installs the module: without it the install is incomplete.
    v130.unmet === null && v130.streamModule === null
      ? { ...v130, unmet: `nginx 1.30 in ${NGINX130_DIR} has no stream module: run scripts/install-nginx-1.30.sh again` }
      : v130,
  ];
}

export const NGINX_BINARIES: readonly NginxBinary[] = Object.freeze(list().map((b) => Object.freeze(b)));

/** `nginx -V` of a binary that runs (its build options), or '' when it does not. */
export function buildOptions(nginx: NginxBinary): string {
  return nginx.unmet === null ? (versionOutput(nginx.bin, '-V') ?? '') : '';
}

export interface EachNginxOptions {
  /** What the block needs besides the binary (gate.ts requirements). */
  readonly requires?: readonly Requirement[];
  /** Only these versions (default: all of NGINX_BINARIES). */
  readonly versions?: readonly NginxLabel[];
}

/**
 * Registers `body` once per nginx binary, as a describe block named
 * "`name` (nginx 1.22)" and so on, gated on `requires` and on the binary being
 * there: a missing one skips with its reason, or fails in strict mode.
 */
export function describeEachNginx(name: string, body: (nginx: NginxBinary) => void, opts: EachNginxOptions = {}): void {
  for (const nginx of NGINX_BINARIES) {
    if (opts.versions !== undefined && !opts.versions.includes(nginx.label)) continue;
    const reasons = [unmet(opts.requires ?? []), nginx.unmet].filter((r): r is string => r !== null);
    describeUnless(reasons.length > 0 ? reasons.join('; ') : null, `${name} (nginx ${nginx.label})`, () => {
      body(nginx);
    });
  }
}
