/**
 * fd_limit: nginx ran out of file descriptors (EMFILE at RLIMIT_NOFILE per
 * worker, ENFILE at fs.file-max): a different exhaustion, which more ports
 * would not help.
 */
import { isoSecond } from '../eaddrnotavail.js';
import type { FindingRule } from '../rule.js';
import { DEFAULT_WORKER_CONNECTIONS } from '../nginxPool.js';

export const fdLimit: FindingRule = {
  id: 'fd_limit',
  evaluate({ input }) {
    const fd = input.errorLog?.byKind.filter((k) => k.kind === 'emfile' || k.kind === 'enfile') ?? [];
    if (fd.length === 0) return [];
    const config = input.nginx?.config ?? null;
    const workerConnections = config?.workerConnections ?? null;
    const rlimit = config?.workerRlimitNofile ?? null;
    const emfile = fd.some((k) => k.kind === 'emfile');
    const want = Math.max(2 * (workerConnections ?? DEFAULT_WORKER_CONNECTIONS), 65535);
    return [
      {
        id: 'fd_limit',
        severity: 'warning',
        summary: 'nginx ran out of file descriptors (a different exhaustion: not ports)',
        evidence: [
          ...fd.map(
            (k) =>
              `${k.count} × ${k.kind === 'emfile' ? '"(24: Too many open files)"' : '"(23: Too many open files in system)"'} between ${isoSecond(k.firstMs)} and ${isoSecond(k.lastMs)}; sample: ${k.sample}`,
          ),
          ...(config === null
            ? [input.nginx?.configNote ?? 'nginx config not read: worker_rlimit_nofile unknown']
            : [
                `worker_connections = ${workerConnections ?? `${DEFAULT_WORKER_CONNECTIONS} (default)`}`,
                `worker_rlimit_nofile = ${rlimit ?? 'not set (the limit nginx was started with applies: LimitNOFILE / ulimit -n)'}`,
              ]),
        ],
        why:
          'Each proxied request holds two descriptors (client and upstream), plus files and logs. socket()/accept4() fail with EMFILE ' +
          'when a worker reaches RLIMIT_NOFILE, or ENFILE when the system-wide fs.file-max is reached. More ports would not help.',
        fix: emfile
          ? `# nginx.conf, main context (next to worker_processes)\nworker_rlimit_nofile ${want};\n# and in the service unit (systemctl edit nginx): [Service] LimitNOFILE=${want}`
          : 'The system-wide table is full: raise fs.file-max (/etc/sysctl.d/) and find what holds the descriptors (ls /proc/*/fd | wc -l per process).',
        effect: emfile ? `Descriptors per worker: ${rlimit ?? 'current limit'} → ${want} (room for ${Math.floor(want / 2)} proxied connections).` : null,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
