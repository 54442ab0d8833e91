/**
 * The installed nginx package, from dpkg's database under a root directory
 * (`<root>/var/lib/dpkg/status`; --nginx-root, `/` by default): the weakest of
 * the version sources (model/versionSource.ts). I/O only; the parsing is
 * parse/dpkgStatus.ts.
 */
import { join } from 'node:path';
import type { VersionAttempt, VersionFinding } from '../model/versionSource.js';
import { installedNginx } from '../parse/dpkgStatus.js';
import { readConfigFile } from './files.js';

const MAX_STATUS_BYTES = 64 * 1024 * 1024;

export async function readPackageVersion(root: string): Promise<{ found: VersionFinding | null; attempt: VersionAttempt | null }> {
  const path = join(root, 'var/lib/dpkg/status');
  const r = await readConfigFile(path, MAX_STATUS_BYTES);
  if (!r.ok) return { found: null, attempt: { from: 'package', error: `${path} ${r.error}` } };
  const pkg = installedNginx(r.text);
  if (pkg === null) return { found: null, attempt: { from: 'package', error: `no nginx package installed in ${path}` } };
  return {
    found: {
      from: 'package',
      product: pkg.package === 'openresty' ? 'openresty' : 'nginx',
      version: pkg.version,
      detail: `${path}: ${pkg.package} ${pkg.packageVersion} installed (a running nginx is older if it was not restarted after an upgrade)`,
    },
    attempt: null,
  };
}
