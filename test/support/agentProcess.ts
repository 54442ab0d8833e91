/** Runs the built agent (dist/agent/main.js) as a child process, the way users do. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, type Ran } from './run.js';

export const AGENT = fileURLToPath(new URL('../../dist/agent/main.js', import.meta.url));

export type Finished = Ran;

export function runAgent(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Finished> {
  return run(process.execPath, [AGENT, ...args], timeoutMs, { ...process.env, ...env });
}

export interface Daemon {
  child: ChildProcess;
  url: string;
  logs: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Starts `agent run` on a free port and resolves once it logs its address. */
export function startDaemon(args: string[], env: Record<string, string> = {}): Promise<Daemon> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT, 'run', '--listen', '127.0.0.1:0', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => { r(code); }));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daemon did not start: ${logs}`));
    }, 15_000);
    child.stderr.on('data', (d: Buffer) => {
      logs += d.toString();
      const m = /listening on (https?:\/\/[\d.]+:\d+)/.exec(logs);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1]!,
          logs: () => logs,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening: ${logs}`));
    });
  });
}
