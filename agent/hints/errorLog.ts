/**
 * Findings from what nginx wrote to its error log: port exhaustion confirmed (or
 * past), and the two exhaustions that are not about ports (file descriptors,
 * worker_connections). Pure.
 */
import type { DestinationHeadroom, HeadroomModel } from '../sockets/model/headroom.js';
import type { NginxConfigModel } from '../nginxconf/model/types.js';
import { destinationLevel, destinationName, MAX_LISTED, type ErrorLogEvidence, type Finding, type NginxEvidence, type Thresholds } from './types.js';

const isoSecond = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';

/** nginx's default worker_connections (ngx_event.c, NGX_DEFAULT_CONNECTIONS) when events {} does not set it. */
const DEFAULT_WORKER_CONNECTIONS = 512;

function upstreamsOf(dest: string, nginx: NginxEvidence | undefined): string[] {
  const r = nginx?.routes.get(dest);
  if (r === undefined) return [];
  return [...r.upstreams, ...r.direct.map((p) => p.target)];
}

export function errorLogFindings(
  log: ErrorLogEvidence,
  headroom: HeadroomModel,
  t: Thresholds,
  nginx: NginxEvidence | undefined,
  headroomFix: (ds: DestinationHeadroom[]) => string,
): Finding[] {
  const out: Finding[] = [];
  const e99 = log.byKind.find((k) => k.kind === 'eaddrnotavail');
  if (e99 !== undefined) {
    const confirmed: string[] = [];
    const recovered: string[] = [];
    const confirmedDest: DestinationHeadroom[] = [];
    const recoveredDest: string[] = [];
    const upstreams = new Set<string>();
    for (const [dest, kinds] of Object.entries(log.byDestination)) {
      const n = kinds.eaddrnotavail ?? 0;
      if (n === 0) continue;
      const via = upstreamsOf(dest, nginx);
      for (const u of via) upstreams.add(u);
      const worst = headroom.destinations.find((d) => d.destination === dest);
      const line = `nginx logged ${n} × "(99: Cannot assign requested address)" connecting to ${dest}${via.length > 0 ? ` (upstream ${via.join(', ')})` : ''}`;
      if (worst !== undefined && destinationLevel(worst, t) !== 'ok') {
        confirmed.push(`${line}; now ${worst.headroom}/${worst.capacity} ports free from ${worst.sourceIp}`);
        confirmedDest.push(worst);
      } else {
        recovered.push(
          `${line}; now ${worst === undefined ? `${headroom.portRange.usable}/${headroom.portRange.usable}` : `${worst.headroom}/${worst.capacity}`} ports free`,
        );
        recoveredDest.push(worst === undefined ? `* → ${dest}` : destinationName(worst));
      }
    }
    const window = `between ${isoSecond(e99.firstMs)} and ${isoSecond(e99.lastMs)}`;
    const why =
      'connect() found no free 4-tuple towards the destination and returned EADDRNOTAVAIL; nginx logs it at crit and ' +
      'tries the next upstream server or answers 502 (ngx_event_connect_peer in ngx_event_connect.c).';
    if (confirmed.length > 0) {
      out.push({
        id: 'exhaustion_confirmed',
        severity: 'critical',
        summary: `exhaustion confirmed by nginx: connect() failed with EADDRNOTAVAIL ${window} and headroom is low now`,
        evidence: [...confirmed.slice(0, MAX_LISTED), `sample: ${e99.sample}`],
        why,
        fix: headroomFix(confirmedDest),
        effect: null,
        destinations: confirmedDest.map(destinationName),
        upstreams: [...upstreams],
      });
    }
    if (recovered.length > 0) {
      out.push({
        id: 'exhaustion_recent',
        severity: 'warning',
        summary: `nginx ran out of ephemeral ports ${window}; headroom has recovered since`,
        evidence: [...recovered.slice(0, MAX_LISTED), `sample: ${e99.sample}`],
        why,
        fix: 'The load that exhausted the range may return: apply the fixes the other findings give (upstream keepalive, tcp_tw_reuse, a wider range) before it does.',
        effect: null,
        destinations: recoveredDest,
        upstreams: [...upstreams],
      });
    }
  }

  const noLive = log.byKind.find((k) => k.kind === 'no_live_upstreams');
  if (noLive !== undefined) {
    const connectFailures = log.byKind.filter((k) => k.kind === 'eaddrnotavail' || k.kind === 'econnrefused' || k.kind === 'etimedout_connect');
    out.push({
      id: 'upstream_no_live_servers',
      severity: 'warning',
      summary: `nginx answered "no live upstreams" ${noLive.count} times: every server of a group was marked failed`,
      evidence: [
        `${noLive.count} × "no live upstreams" between ${isoSecond(noLive.firstMs)} and ${isoSecond(noLive.lastMs)}`,
        ...connectFailures.map((k) => `${k.count} × ${k.kind} connect failures in the same window`),
        `sample: ${noLive.sample}`,
      ],
      why:
        'A failed connect() (EADDRNOTAVAIL included) counts towards a server\'s max_fails (default 1); once it is reached nginx ' +
        'skips the server for fail_timeout (default 10 s). With every server of a group skipped, requests fail at once with 502 ' +
        '"no live upstreams", even after the ports are back, until fail_timeout has passed.',
      fix:
        connectFailures.length > 0
          ? 'Remove the cause of the connect failures (the other findings name it); the 502s stop fail_timeout after the last failure.'
          : 'Find why connects to the group fail (the upstream servers\' health); the 502s stop fail_timeout after the last failure.',
      effect: null,
      destinations: [],
      upstreams: [],
    });
  }

  const config: NginxConfigModel | null = nginx?.config ?? null;
  const wc = config?.workerConnections ?? null;
  const rl = config?.workerRlimitNofile ?? null;
  const fd = log.byKind.filter((k) => k.kind === 'emfile' || k.kind === 'enfile');
  if (fd.length > 0) {
    const emfile = fd.some((k) => k.kind === 'emfile');
    const effectiveWc = wc ?? DEFAULT_WORKER_CONNECTIONS;
    const want = Math.max(2 * effectiveWc, 65535);
    out.push({
      id: 'fd_limit',
      severity: 'warning',
      summary: 'nginx ran out of file descriptors (a different exhaustion: not ports)',
      evidence: [
        ...fd.map(
          (k) =>
            `${k.count} × ${k.kind === 'emfile' ? '"(24: Too many open files)"' : '"(23: Too many open files in system)"'} between ${isoSecond(k.firstMs)} and ${isoSecond(k.lastMs)}; sample: ${k.sample}`,
        ),
        ...(config === null
          ? [nginx?.configNote ?? 'nginx config not read: worker_rlimit_nofile unknown']
          : [
              `worker_connections = ${wc ?? `${DEFAULT_WORKER_CONNECTIONS} (default)`}`,
              `worker_rlimit_nofile = ${rl ?? 'not set (the limit nginx was started with applies: LimitNOFILE / ulimit -n)'}`,
            ]),
      ],
      why:
        'Each proxied request holds two descriptors (client and upstream), plus files and logs. socket()/accept4() fail with EMFILE ' +
        'when a worker reaches RLIMIT_NOFILE, or ENFILE when the system-wide fs.file-max is reached. More ports would not help.',
      fix: emfile
        ? `# nginx.conf, main context (next to worker_processes)\nworker_rlimit_nofile ${want};\n# and in the service unit (systemctl edit nginx): [Service] LimitNOFILE=${want}`
        : 'The system-wide table is full: raise fs.file-max (/etc/sysctl.d/) and find what holds the descriptors (ls /proc/*/fd | wc -l per process).',
      effect: emfile ? `Descriptors per worker: ${rl ?? 'current limit'} → ${want} (room for ${Math.floor(want / 2)} proxied connections).` : null,
      destinations: [],
      upstreams: [],
    });
  }

  const wcEvents = log.byKind.find((k) => k.kind === 'worker_connections');
  if (wcEvents !== undefined) {
    const current = wc ?? DEFAULT_WORKER_CONNECTIONS;
    const next = current * 2;
    out.push({
      id: 'worker_connections_exhausted',
      severity: 'warning',
      summary: 'nginx ran out of connection slots (worker_connections), not ports',
      evidence: [
        `${wcEvents.count} × "worker_connections are not enough" between ${isoSecond(wcEvents.firstMs)} and ${isoSecond(wcEvents.lastMs)}`,
        config === null ? (nginx?.configNote ?? 'nginx config not read') : `worker_connections = ${wc ?? `${DEFAULT_WORKER_CONNECTIONS} (default)`}`,
        `sample: ${wcEvents.sample}`,
      ],
      why:
        'worker_connections caps the connections one worker holds, client and upstream together (each proxied request uses two). ' +
        'When it is reached nginx drops new connections (ngx_get_connection in ngx_connection.c); no port or descriptor is short.',
      fix: `# nginx.conf\nevents {\n    worker_connections ${next};\n}\nworker_rlimit_nofile ${Math.max(2 * next, 65535)};   # main context: descriptors above the connection slots`,
      effect: `Connection slots per worker: ${current} → ${next}.`,
      destinations: [],
      upstreams: [],
    });
  }
  return out;
}
