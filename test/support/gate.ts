/**
 * Gates for tests that need the real system: root, network namespaces, nginx,
 * promtool… Locally a missing prerequisite skips the test with its reason. With
 * AGENT_TEST_STRICT=1 (set by .ci/run) the test runs anyway and fails with that
 * reason, so a skip can never pass for a pass in CI.
 */
import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';

export const STRICT = process.env['AGENT_TEST_STRICT'] === '1';

export type Requirement = 'root' | 'netns' | 'linux' | `command:${string}` | 'built';

function check(req: Requirement): string | null {
  if (req === 'linux') return process.platform === 'linux' ? null : `needs Linux (this is ${process.platform})`;
  if (req === 'root') return process.getuid?.() === 0 ? null : 'needs root';
  if (req === 'built') {
    try {
      execFileSync('test', ['-f', 'dist/agent/main.js']);
      return null;
    } catch {
      return 'needs the build in dist/ (npm run build)';
    }
  }
  if (req === 'netns') {
    if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
      return null;
    } catch {
      return 'needs iproute2 (`ip netns`)';
    }
  }
  const cmd = req.slice('command:'.length);
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return null;
  } catch {
    return `needs the ${cmd} command`;
  }
}

/** Why these requirements are not met, or null when they are. */
export function unmet(reqs: readonly Requirement[]): string | null {
  const reasons = reqs.map(check).filter((r): r is string => r !== null);
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * `describe` that skips with a reason when requirements are unmet, or fails in
 * strict mode.
 */
export function describeWith(reqs: readonly Requirement[], name: string, body: () => void): void {
  describeUnless(unmet(reqs), name, body);
}

/** `describe` that skips with `reason` (fails with it in strict mode), or runs when it is null. */
export function describeUnless(reason: string | null, name: string, body: () => void): void {
  if (reason === null) {
    describe(name, body);
  } else if (STRICT) {
    describe(name, () => {
      it('has its prerequisites (AGENT_TEST_STRICT=1 turns this skip into a failure)', () => {
        throw new Error(`prerequisites missing: ${reason}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${reason}]`, body);
  }
}

/**
 * Inside a running test, for a prerequisite only the test itself can find
 * missing (say, nginx could not open a file it needs, so it gave no verdict on
 * the configuration): skips the test with the reason, or fails with it in strict
 * mode, as describeWith does for the prerequisites it checks up front.
 */
export function skipOrFail(ctx: { skip: (note?: string) => never }, reason: string): never {
  if (STRICT) throw new Error(`prerequisites missing: ${reason} (AGENT_TEST_STRICT=1 turns this skip into a failure)`);
  return ctx.skip(reason);
}
