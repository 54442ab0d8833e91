/**
 * The version nginx announced in its error log at start-up, as a version source
 * (nginxconf/model/versionSource.ts): the error-log domain finds the line, the
 * nginx domain weighs it against the other sources, and the commands, which
 * wire both, hand one to the other here.
 */
import type { StartupVersionSeen } from '../errorlog/model/recent.js';
import type { VersionAttempt, VersionFinding } from '../nginxconf/model/versionSource.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The start-up line as a finding; when logs were read and none holds it, why
 * (an attempt); null when no error log was read at all.
 */
export function logVersionSource(seen: StartupVersionSeen | null | undefined, files: readonly string[], sinceMs: number | null): VersionFinding | VersionAttempt | null {
  if (files.length === 0) return null;
  if (seen != null) {
    return { from: 'error-log', product: seen.product, version: seen.version, detail: `nginx's start-up line of ${iso(seen.timeMs)} in ${files.join(', ')}: "${seen.line}"` };
  }
  const window = sinceMs === null ? '' : ` since ${iso(sinceMs)}`;
  return {
    from: 'error-log',
    error: `no start-up line ("[notice] … nginx/X.Y.Z") in ${files.join(', ')}${window}: nginx writes it when it starts, if error_log is at notice level or lower`,
  };
}
