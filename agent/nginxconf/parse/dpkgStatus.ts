/**
 * The installed nginx package in dpkg's database (`/var/lib/dpkg/status`),
 * pure. One stanza per package, `Field: value` lines, stanzas separated by a
 * blank line (deb-control(5), dpkg's status file). A package counts when its
 * `Status:` ends in "installed"; the nginx version is the upstream part of
 * `Version:` (deb-version(7): `[epoch:]upstream[-revision]`), e.g.
 * `1.22.1-9+deb12u1` → 1.22.1, `1.27.3-1~bookworm` (nginx.org) → 1.27.3.
 *
 * It says which package is installed, not which binary runs: an nginx upgraded
 * but not restarted still runs the old one. That is why it comes last among the
 * version sources.
 */

/** Packages that carry the nginx binary: Debian's, nginx.org's and OpenResty's. */
const NGINX_PACKAGES = ['nginx', 'nginx-core', 'nginx-full', 'nginx-light', 'nginx-extras', 'openresty'];

export interface InstalledNginx {
  package: string;
  /** The Version field as written. */
  packageVersion: string;
  /** The nginx version in it (`major.minor.patch`). */
  version: string;
}

/** The first installed nginx package in dpkg's status text (in NGINX_PACKAGES order), or null. */
export function installedNginx(status: string): InstalledNginx | null {
  const found = new Map<string, InstalledNginx>();
  for (const stanza of status.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: *(.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const pkg = field('Package');
    if (pkg === undefined || !NGINX_PACKAGES.includes(pkg) || !/(^| )installed$/.test(field('Status') ?? '')) continue;
    const packageVersion = field('Version') ?? '';
    const upstream = /^(?:\d+:)?(\d+\.\d+\.\d+)/.exec(packageVersion)?.[1];
    if (upstream !== undefined) found.set(pkg, { package: pkg, packageVersion, version: upstream });
  }
  for (const p of NGINX_PACKAGES) {
    const hit = found.get(p);
    if (hit !== undefined) return hit;
  }
  return null;
}
