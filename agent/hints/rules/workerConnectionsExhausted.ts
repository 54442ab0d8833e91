/**
 * worker_connections_exhausted: "worker_connections are not enough": nginx ran
 * out of connection slots (ngx_get_connection in ngx_connection.c), not ports
 * or descriptors.
 */
import { isoSecond } from '../eaddrnotavail.js';
import { DEFAULT_WORKER_CONNECTIONS } from '../nginxPool.js';
import type { FindingRule } from '../rule.js';

export const workerConnectionsExhausted: FindingRule = {
  id: 'worker_connections_exhausted',
  evaluate({ input }) {
    const events = input.errorLog?.byKind.find((k) => k.kind === 'worker_connections');
    if (events === undefined) return [];
    const configured = input.nginx?.config?.workerConnections ?? null;
    const current = configured ?? DEFAULT_WORKER_CONNECTIONS;
    const next = current * 2;
    return [
      {
        id: 'worker_connections_exhausted',
        severity: 'warning',
        summary: 'nginx ran out of connection slots (worker_connections), not ports',
        evidence: [
          `${events.count} × "worker_connections are not enough" between ${isoSecond(events.firstMs)} and ${isoSecond(events.lastMs)}`,
          input.nginx?.config == null ? (input.nginx?.configNote ?? 'nginx config not read') : `worker_connections = ${configured ?? `${DEFAULT_WORKER_CONNECTIONS} (default)`}`,
          `sample: ${events.sample}`,
        ],
        why:
          'worker_connections caps the connections one worker holds, client and upstream together (each proxied request uses two). ' +
          'When it is reached nginx drops new connections (ngx_get_connection in ngx_connection.c); no port or descriptor is short.',
        fix: `# nginx.conf\nevents {\n    worker_connections ${next};\n}\nworker_rlimit_nofile ${Math.max(2 * next, 65535)};   # main context: descriptors above the connection slots`,
        effect: `Connection slots per worker: ${current} → ${next}.`,
        destinations: [],
        upstreams: [],
      },
    ];
  },
};
