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
import { spawn } from 'node:child_process';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects only when it cannot start or overruns `timeoutMs`. */
export function run(cmd: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

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
