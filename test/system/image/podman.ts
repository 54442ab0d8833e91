/**
 * Running podman (and other commands) from the image tests.
 *
 * Two settings of this kind of machine that podman's defaults trip over, passed
 * on every call rather than written into a containers.conf:
 * - the cgroup hierarchy is hybrid (v1 controllers plus a v2 mount), which crun
 *   1.8 refuses outright; runc accepts it;
 * - RLIMIT_NOFILE is capped below podman's default container limits and root
 *   cannot raise it, so containers get the caller's own limits.
 */
import { run, type Ran } from '../../support/run.js';

export { run, type Ran } from '../../support/run.js';

/** Like `run`, but a non-zero exit is an error that carries the command's output. */
export async function must(cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  }
  return r.stdout;
}

/** Global podman flags: see the top of this file. */
export const PODMAN_GLOBAL = ['--runtime', 'runc'] as const;

/** This process's open-file limits, soft:hard, for `--ulimit nofile=`. */
async function nofile(): Promise<string> {
  const out = await must('sh', ['-c', 'echo "$(ulimit -Sn):$(ulimit -Hn)"'], 5000);
  return out.trim();
}

/** `--ulimit` flags for `podman run` and `podman build` that this machine accepts. */
export async function ulimitFlags(): Promise<string[]> {
  return ['--ulimit', `nofile=${await nofile()}`, '--ulimit', 'nproc=4096:4096'];
}

export function podman(args: readonly string[], timeoutMs: number): Promise<Ran> {
  return run('podman', [...PODMAN_GLOBAL, ...args], timeoutMs);
}

export function mustPodman(args: readonly string[], timeoutMs: number): Promise<string> {
  return must('podman', [...PODMAN_GLOBAL, ...args], timeoutMs);
}
