/**
 * Findings that need nginx's configuration: which upstream a destination belongs
 * to, whether it has a keepalive pool, whether that pool can work, and whether
 * keepalive is the right fix at all. Pure.
 *
 * nginx facts (ngx_http_upstream_keepalive_module, ngx_http_proxy_module docs;
 * ../shared FACTS):
 * - `keepalive N` caches up to N idle upstream connections per worker. Before
 *   1.29.7 a group without it has no pool, and the pool also needs
 *   `proxy_http_version 1.1` and `proxy_set_header Connection ""` (nginx otherwise
 *   talks HTTP/1.0 with "Connection: close"). From 1.29.7 an explicit upstream
 *   block keeps 32 idle connections by default and HTTP/1.1 is the default.
 * - A bare `proxy_pass http://host:port` has no upstream block, so no pool.
 * - `keepalive_requests` (default 1000 since 1.19.10, 100 before) and
 *   `keepalive_time` (default 1 h) retire pooled connections: nginx closes them,
 *   so their TIME_WAIT lands on this host.
 * - `proxy_bind` sets IP_BIND_ADDRESS_NO_PORT since 1.11.4, so each extra source
 *   IP adds a whole port range per destination.
 */
import type { DestinationHeadroom } from '../sockets/model/headroom.js';
import type { MapDefinition, NginxConfigModel, ProxyPass, UpstreamGroup } from '../nginxconf/model/types.js';
import { compareVersions } from '../nginxconf/model/version.js';
import { TIME_WAIT_SECONDS } from '../core/tcp.js';
import { heldOpen, timeWaitDominated } from './kernel.js';
import {
  destinationLevel,
  destinationName,
  perSecond,
  type DestinationLevel,
  type Finding,
  type NginxEvidence,
  type Severity,
  type Thresholds,
} from './types.js';

/** From this version nginx pools 32 connections per explicit upstream and speaks HTTP/1.1 upstream by default. */
export const KEEPALIVE_DEFAULTS_SINCE = '1.29.7';
const DEFAULT_POOL_SINCE_1_29_7 = 32;
/** keepalive_requests default: 1000 since 1.19.10, 100 before. */
const KEEPALIVE_REQUESTS_1000_SINCE = '1.19.10';
const DEFAULT_KEEPALIVE_TIME_MS = 3_600_000;

/** true/false, or null when the version is unknown. */
function atLeast(version: string | null, min: string): boolean | null {
  return version === null ? null : compareVersions(version, min) >= 0;
}

interface Pool {
  /** Idle connections kept per worker, or null when there is no pool (or it is unknown). */
  size: number | null;
  /** How size was decided. */
  source: 'directive' | 'default' | 'none' | 'unknown';
}

function poolOf(g: UpstreamGroup, version: string | null): Pool {
  if (g.keepalive !== null) return { size: g.keepalive, source: 'directive' };
  const modern = atLeast(version, KEEPALIVE_DEFAULTS_SINCE);
  if (modern === true) return { size: DEFAULT_POOL_SINCE_1_29_7, source: 'default' };
  return modern === false ? { size: null, source: 'none' } : { size: null, source: 'unknown' };
}

function workersOf(config: NginxConfigModel, cpuCount: number | null): { n: number; text: string } {
  const w = config.workerProcesses;
  if (w === null) return { n: 1, text: 'worker_processes not set (1)' };
  if (w === 'auto') return cpuCount === null ? { n: 1, text: 'worker_processes auto (CPU count unknown; 1 assumed)' } : { n: cpuCount, text: `worker_processes auto (${cpuCount} CPUs)` };
  return { n: w, text: `worker_processes ${w}` };
}

const where = (at: { file: string; line: number }): string => `${at.file}:${at.line}`;

/** The lines a proxy_pass location lacks for an upstream pool to be reused; [] when none are needed. */
function missingPoolLines(p: ProxyPass, version: string | null, maps: readonly MapDefinition[] = []): { lines: string[]; notes: string[]; mapFixes: string[] } {
  const modern = atLeast(version, KEEPALIVE_DEFAULTS_SINCE);
  const lines: string[] = [];
  const notes: string[] = [];
  const mapFixes: string[] = [];
  if (p.httpVersion !== '1.1' && !(p.httpVersion === null && modern === true)) {
    lines.push('proxy_http_version 1.1;');
    notes.push(p.httpVersion === null ? 'proxy_http_version not set (HTTP/1.0 before 1.29.7)' : `proxy_http_version ${p.httpVersion}`);
  }
  const conn = p.connectionHeader;
  if (conn === null) {
    if (modern !== true) {
      lines.push('proxy_set_header Connection "";');
      notes.push('Connection header not cleared (nginx sends "Connection: close" before 1.29.7)');
    }
  } else if (/^close$/i.test(conn.trim())) {
    lines.push('proxy_set_header Connection "";');
    notes.push(`proxy_set_header Connection "${conn}" closes every upstream connection`);
  } else if (conn.includes('$')) {
    const map = maps.find((m) => m.variable === conn.trim());
    if (map?.values.some((v) => /^close$/i.test(v)) === true) {
      // The common websocket recipe maps requests without Upgrade to "close": those never return to the pool.
      notes.push(`Connection is set to ${conn}, and map ${map.source} ${map.variable} at ${where(map.at)} yields "close" for some requests: nginx closes those upstream connections`);
      mapFixes.push(`# ${where(map.at)}, map ${map.source} ${map.variable}: give the value "close" as an empty string instead, e.g.`, "    ''  '';   # was: '' close;");
    } else {
      notes.push(`Connection is set to ${conn}: if that variable yields "close" for ordinary requests (a common websocket map does), the pool is never reused`);
    }
  }
  return { lines, notes, mapFixes };
}

/** The upstream-block text with `keepalive` (and optionally other lines) added, as it would read after the fix. */
function upstreamBlock(name: string, servers: readonly string[], extra: readonly string[]): string[] {
  return [`upstream ${name} {`, ...servers.map((s) => `    ${s}`), ...extra.map((e) => `    ${e}`), '}'];
}

function serverLine(s: UpstreamGroup['servers'][number]): string {
  const params = [
    ...(s.weight !== 1 ? [`weight=${s.weight}`] : []),
    ...(s.maxConns !== null ? [`max_conns=${s.maxConns}`] : []),
    ...(s.backup ? ['backup'] : []),
    ...(s.down ? ['down'] : []),
  ];
  return `server ${[s.address, ...params].join(' ')};`;
}

/** The next 1, 2 or 5 × 10^n at or above x. */
function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Idle connections per worker worth keeping: the observed concurrency spread over the workers, with room to spare. */
function suggestedPool(concurrency: number, workers: number, current: number | null): number {
  const perWorker = Math.ceil((1.5 * concurrency) / workers);
  const rounded = Math.max(32, Math.ceil(perWorker / 16) * 16);
  return current === null ? rounded : Math.max(rounded, current * 2);
}

function severityFor(level: DestinationLevel, rateShare: number): Severity | null {
  if (level === 'exhausted' || level === 'critical') return 'critical';
  if (level === 'warning' || rateShare >= 0.5) return 'warning';
  return null;
}

interface DestinationContext {
  d: DestinationHeadroom;
  level: DestinationLevel;
  severity: Severity;
}

function locationsOf(config: NginxConfigModel, group: string): ProxyPass[] {
  return config.proxyPasses.filter((p) => (p.module ?? 'http') === 'http' && p.upstream === group);
}

function passContext(p: ProxyPass, extra: readonly string[]): string[] {
  return [`# ${where(p.at)}, ${p.context}:`, `    proxy_pass ${p.target};`, ...extra.map((e) => `    ${e}`)];
}

const sustainable = (capacity: number): string => `${perSecond(capacity / TIME_WAIT_SECONDS)}/s`;

/**
 * Config-aware findings. Only destinations that matter are considered: at or
 * below the warning threshold, or opening connections at half the sustainable
 * rate or more. A healthy destination gets no finding, whatever its config.
 */
export function nginxFindings(
  destinations: readonly DestinationHeadroom[],
  nginx: NginxEvidence,
  t: Thresholds,
): Finding[] {
  const config = nginx.config;
  if (config === null) return [];
  const out: Finding[] = [];
  const workers = workersOf(config, nginx.cpuCount);
  const versionText = nginx.version === null ? 'nginx version unknown (give --nginx-version or --nginx-bin)' : `nginx ${nginx.version}`;
  const kr = (g: UpstreamGroup): { n: number; text: string } => {
    if (g.keepaliveRequests !== null) return { n: g.keepaliveRequests, text: `keepalive_requests ${g.keepaliveRequests}` };
    const modern = atLeast(nginx.version, KEEPALIVE_REQUESTS_1000_SINCE);
    return modern === false ? { n: 100, text: 'keepalive_requests not set (100 before 1.19.10)' } : { n: 1000, text: 'keepalive_requests not set (1000)' };
  };

  // Group by upstream so one finding covers every destination of a group.
  const byGroup = new Map<string, DestinationContext[]>();
  const direct = new Map<ProxyPass, DestinationContext[]>();
  const heldByGroup = new Map<string, DestinationContext[]>();
  const heldDirect: DestinationContext[] = [];
  for (const d of destinations) {
    const level = destinationLevel(d, t);
    const rateShare = d.maxSustainableConnectRate > 0 ? d.connectRatePerSecond / d.maxSustainableConnectRate : 0;
    const severity = severityFor(level, rateShare);
    if (severity === null) continue;
    const route = nginx.routes.get(d.destination);
    if (route === undefined) continue;
    // stream {} proxying pools nothing and has no HTTP settings: only http groups and locations are judged here.
    const httpGroups = route.upstreams.filter((name) => (config.upstreams.find((u) => u.name === name)?.module ?? 'http') === 'http');
    const httpDirect = route.direct.filter((p) => (p.module ?? 'http') === 'http');
    const ctx = { d, level, severity };
    if (timeWaitDominated(d)) {
      for (const g of httpGroups) byGroup.set(g, [...(byGroup.get(g) ?? []), ctx]);
      for (const p of httpDirect) direct.set(p, [...(direct.get(p) ?? []), ctx]);
    } else if (heldOpen(d) && level !== 'ok') {
      for (const g of route.upstreams) heldByGroup.set(g, [...(heldByGroup.get(g) ?? []), ctx]);
      if (route.upstreams.length === 0 && route.direct.length > 0) heldDirect.push(ctx);
    }
  }
  const worst = (cs: readonly DestinationContext[]): Severity => (cs.some((c) => c.severity === 'critical') ? 'critical' : 'warning');
  const evidenceOf = (cs: readonly DestinationContext[]): string[] =>
    cs.slice(0, 5).map(
      ({ d }) =>
        `${destinationName(d)}: ${d.timeWait - d.timeWaitReusable} TIME_WAIT blocking, ${d.established} established, ` +
        `${d.headroom}/${d.capacity} ports free; ${perSecond(d.connectRatePerSecond)} new connections/s (sustainable ${sustainable(d.capacity)})`,
    );
  const rateOf = (cs: readonly DestinationContext[]): number => cs.reduce((s, c) => s + c.d.connectRatePerSecond, 0);
  const concurrencyOf = (cs: readonly DestinationContext[]): number => cs.reduce((s, c) => s + c.d.established, 0);

  for (const [name, cs] of byGroup) {
    const g = config.upstreams.find((u) => u.name === name);
    if (g === undefined) continue;
    const pool = poolOf(g, nginx.version);
    const passes = locationsOf(config, name);
    // What each location lacks for the pool to be reused: decides which finding this is.
    const checked = passes.map((p) => ({ p, m: missingPoolLines(p, nginx.version, config.maps) }));
    const d0 = cs[0]!.d;
    const rate = rateOf(cs);
    const servers = g.servers.map(serverLine);

    if (pool.size === null) {
      const k = suggestedPool(concurrencyOf(cs), workers.n, null);
      const passLines = checked.flatMap(({ p, m }) => passContext(p, m.lines));
      const krN = kr(g).n;
      out.push({
        id: 'upstream_no_keepalive',
        severity: worst(cs),
        summary:
          `upstream ${name} (${cs.map((c) => c.d.destination).join(', ')}) opens a new connection per request: ` +
          `${perSecond(rate)} connections/s and no keepalive pool`,
        evidence: [
          `upstream ${name} at ${where(g.at)} has no keepalive directive` +
            (pool.source === 'unknown' ? ` (${versionText}: from ${KEEPALIVE_DEFAULTS_SINCE} it would keep ${DEFAULT_POOL_SINCE_1_29_7} by default)` : ` (${versionText})`),
          ...evidenceOf(cs),
          `${workers.text}; ${concurrencyOf(cs)} connections open to the group now`,
        ],
        why:
          'Without a pool nginx closes each upstream connection after one response, and as the side that closes it keeps the ' +
          'TIME_WAIT socket for 60 s. The TIME_WAIT count towards a destination is then about new connections/s × 60, which ' +
          'runs into the port range long before the upstream is busy.',
        fix: [
          `# ${where(g.at)}`,
          ...upstreamBlock(name, servers, [`keepalive ${k};   # idle connections kept per worker`]),
          ...(passLines.length > 0 ? ['', ...passLines] : []),
          '',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
        effect:
          `New connections/s to the group fall from about ${perSecond(rate)} to about ${perSecond(rate / krN)} ` +
          `(one per ${krN} requests, keepalive_requests); TIME_WAIT towards ${d0.destination} from about ${Math.round(rate * TIME_WAIT_SECONDS)} to about ` +
          `${Math.ceil((rate / krN) * TIME_WAIT_SECONDS)}. The request rate one destination sustains rises from ${sustainable(d0.capacity)} ` +
          `to about ${perSecond((d0.capacity / TIME_WAIT_SECONDS) * krN)}/s.`,
        destinations: cs.map((c) => destinationName(c.d)),
        upstreams: [name],
      });
      continue;
    }

    // A pool exists: is every location that uses it able to reuse connections?
    const broken = checked.filter((x) => x.m.lines.length > 0 || x.m.mapFixes.length > 0);
    if (broken.length > 0) {
      const unknown = atLeast(nginx.version, KEEPALIVE_DEFAULTS_SINCE) === null;
      out.push({
        id: 'keepalive_needs_http11',
        severity: worst(cs),
        summary: `upstream ${name} has a keepalive pool that ${broken.length} location${broken.length > 1 ? 's' : ''} cannot reuse (HTTP/1.0 or "Connection: close")`,
        evidence: [
          `upstream ${name} at ${where(g.at)}: keepalive ${pool.size}${pool.source === 'default' ? ' (default)' : ''}; ${versionText}`,
          ...broken.slice(0, 5).map(({ p, m }) => `${where(p.at)} ${p.context}: ${m.notes.join('; ')}`),
          ...evidenceOf(cs),
          ...(unknown ? [`the version is unknown: these lines are required before ${KEEPALIVE_DEFAULTS_SINCE} and harmless after`] : []),
        ],
        why:
          'nginx speaks HTTP/1.0 to upstreams and sends "Connection: close" unless told otherwise (before 1.29.7), so the upstream ' +
          'closes or nginx discards every connection after one response and the keepalive pool stays empty.',
        fix: [
          ...broken.filter(({ m }) => m.lines.length > 0).flatMap(({ p, m }) => passContext(p, m.lines)),
          ...[...new Set(broken.flatMap(({ m }) => m.mapFixes))],
          '',
          '# then: nginx -t && nginx -s reload',
        ].join('\n'),
        effect: `New connections/s to the group fall from about ${perSecond(rate)} to about ${perSecond(rate / kr(g).n)} once the pool is reused.`,
        destinations: cs.map((c) => destinationName(c.d)),
        upstreams: [name],
      });
      continue;
    }
    // The pool works on paper. If connections are no longer opened at a rate that
    // matters (over the last 10 s: the rate window may span the time before a fix),
    // the TIME_WAIT sockets are left over from before (a fix just applied, a reload
    // that emptied the pools): they drain within 60 s and there is nothing to change.
    // At 0 free ports nothing new can connect, so a quiet last few seconds proves
    // nothing there by itself: a range blocked by churn looks the same until ports
    // free. A config changed less than a TIME_WAIT lifetime ago tells them apart.
    const changedS = nginx.configChangedSecondsAgo ?? null;
    const justChanged = changedS !== null && changedS < TIME_WAIT_SECONDS;
    const draining = cs.every((c) => (c.d.headroom > 0 || justChanged) && c.d.recentConnectRatePerSecond < 0.5 * c.d.maxSustainableConnectRate);
    if (draining) {
      out.push({
        id: 'time_wait_draining',
        severity: 'info',
        summary:
          `upstream ${name}'s pool works: the TIME_WAIT sockets towards ${cs.map((c) => c.d.destination).join(', ')} were left by earlier churn ` +
          `and free within ${TIME_WAIT_SECONDS} s`,
        evidence: [
          `upstream ${name} at ${where(g.at)}: keepalive ${pool.size}${pool.source === 'default' ? ' (default)' : ''}; ${kr(g).text}`,
          ...(justChanged ? [`the nginx config changed ${Math.round(changedS)} s ago: TIME_WAIT sockets older than that predate it`] : []),
          ...cs.slice(0, 5).map(
            ({ d }) =>
              `${destinationName(d)}: ${d.timeWait - d.timeWaitReusable} TIME_WAIT blocking, ${d.headroom}/${d.capacity} ports free; ` +
              `new connections over the last 10 s: ${perSecond(d.recentConnectRatePerSecond)}/s, under half the ${sustainable(d.capacity)} the range sustains`,
          ),
        ],
        why:
          'A TIME_WAIT socket lasts 60 s whatever the config does now. Connections opened before a fix (or closed by a reload, ' +
          'which empties the pools) keep their ports until then; the rate of new connections says whether churn goes on.',
        fix: null,
        effect: null,
        destinations: cs.map((c) => destinationName(c.d)),
        upstreams: [name],
      });
      continue;
    }
    const concurrency = concurrencyOf(cs);
    const capacityKept = pool.size * workers.n;
    const krv = kr(g);
    const ktMs = g.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS;
    const timeChurn = concurrency / (ktMs / 1000);
    // A Connection header set from a variable cannot be checked: it goes in as evidence.
    const variableConn = checked.flatMap(({ m }) => m.notes);
    const evidence = [
      `upstream ${name} at ${where(g.at)}: keepalive ${pool.size}${pool.source === 'default' ? ' (default)' : ''} per worker × ${workers.text} = ${capacityKept} idle connections kept`,
      `${krv.text}; keepalive_time ${g.keepaliveTimeMs === null ? '1h (default)' : `${g.keepaliveTimeMs / 1000} s`}`,
      ...evidenceOf(cs),
      `${concurrency} connections open to the group now`,
      ...variableConn,
    ];
    let fixLines: string[];
    let effect: string;
    let cause: string;
    if (concurrency > capacityKept) {
      const k = suggestedPool(concurrency, workers.n, pool.size);
      cause = `the pool keeps ${capacityKept} idle connections but ${concurrency} are in use at once: the rest are closed after each response`;
      fixLines = upstreamBlock(name, servers, [`keepalive ${k};   # was ${pool.size}`, ...(g.keepaliveRequests !== null ? [`keepalive_requests ${g.keepaliveRequests};`] : [])]);
      effect = `Idle connections kept: ${capacityKept} → ${k * workers.n}, above the ${concurrency} in use now; connections beyond the pool stop being closed after each response.`;
    } else if (g.keepaliveTimeMs !== null && timeChurn >= 0.5 * rate) {
      const next = Math.max(3600, Math.ceil((g.keepaliveTimeMs / 1000) * 10));
      cause = `keepalive_time ${g.keepaliveTimeMs / 1000} s retires about ${perSecond(timeChurn)} connections/s`;
      fixLines = upstreamBlock(name, servers, [`keepalive ${pool.size};`, `keepalive_time ${next}s;   # was ${g.keepaliveTimeMs / 1000}s`]);
      effect = `Connections retired by age: about ${perSecond(timeChurn)}/s → ${perSecond(concurrency / next)}/s.`;
    } else {
      // Enough requests per connection that the churn left is a tenth of what the range sustains.
      const sustainableRate = Math.min(...cs.map((c) => c.d.maxSustainableConnectRate));
      const next = Math.min(10_000_000, niceCeil(Math.max(10_000, krv.n * 10, (rate * krv.n) / (0.1 * sustainableRate))));
      cause = `at about ${perSecond(rate * krv.n)} requests/s, ${krv.n} requests per connection still retires ${perSecond(rate)} connections/s`;
      fixLines = upstreamBlock(name, servers, [`keepalive ${pool.size};`, `keepalive_requests ${next};   # was ${krv.n}`]);
      effect =
        `New connections/s fall from about ${perSecond(rate)} to about ${perSecond((rate * krv.n) / next)}; ` +
        `TIME_WAIT towards ${d0.destination} from about ${Math.round(rate * TIME_WAIT_SECONDS)} to about ${Math.ceil(((rate * krv.n) / next) * TIME_WAIT_SECONDS)}.`;
    }
    out.push({
      id: 'keepalive_pool_churn',
      severity: worst(cs),
      summary: `upstream ${name} has a keepalive pool but still opens ${perSecond(rate)} connections/s: ${cause}`,
      evidence,
      why:
        'A pooled connection is closed by nginx when the pool is full as it comes back idle (keepalive per worker), after ' +
        'keepalive_requests requests or keepalive_time; each close leaves a TIME_WAIT socket on this host for 60 s. ' +
        '(When the upstream closes first, TIME_WAIT lands on the upstream instead, so TIME_WAIT here means nginx closed.)',
      fix: [`# ${where(g.at)}`, ...fixLines, '', '# then: nginx -t && nginx -s reload'].join('\n'),
      effect,
      destinations: cs.map((c) => destinationName(c.d)),
      upstreams: [name],
    });
  }

  for (const [p, cs] of direct) {
    const d0 = cs[0]!.d;
    const rate = rateOf(cs);
    const address = p.host === null ? d0.destination : `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port ?? 80}`;
    const name = `backend_${address.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
    const m = /^(\w+:\/\/)([^/]+)(.*)$/.exec(p.target);
    const uri = m?.[3] ?? '';
    const k = suggestedPool(concurrencyOf(cs), workers.n, null);
    out.push({
      id: 'proxy_pass_no_pool',
      severity: worst(cs),
      summary: `proxy_pass ${p.target} at ${where(p.at)} names the server directly, so no keepalive pool is possible: ${perSecond(rate)} connections/s`,
      evidence: [`${where(p.at)} ${p.context}: proxy_pass ${p.target} (no upstream block)`, ...evidenceOf(cs), versionText],
      why:
        'keepalive is a directive of an upstream {} block; a proxy_pass to a literal address or host name gets an implicit ' +
        'group without a pool, so every request opens and closes a connection and leaves TIME_WAIT for 60 s.',
      fix: [
        '# http {} context, e.g. a new file in conf.d/:',
        ...upstreamBlock(name, [`server ${address};`], [`keepalive ${k};`]),
        '',
        `# ${where(p.at)}, ${p.context}: replace proxy_pass ${p.target}; with`,
        `    proxy_pass ${m?.[1] ?? 'http://'}${name}${uri};`,
        ...(atLeast(nginx.version, KEEPALIVE_DEFAULTS_SINCE) === true ? [] : ['    proxy_http_version 1.1;', '    proxy_set_header Connection "";']),
        '',
        '# then: nginx -t && nginx -s reload',
      ].join('\n'),
      effect:
        `New connections/s fall from about ${perSecond(rate)} to about ${perSecond(rate / 1000)} (keepalive_requests 1000); ` +
        `the request rate ${d0.destination} sustains rises from ${sustainable(d0.capacity)} to about ${perSecond((d0.capacity / TIME_WAIT_SECONDS) * 1000)}/s.`,
      destinations: cs.map((c) => destinationName(c.d)),
      upstreams: [],
    });
  }

  // Ports held by open connections: keepalive cannot help; more 4-tuple space or less latency can.
  const heldGroups: [string | null, DestinationContext[]][] = [...heldByGroup.entries(), ...(heldDirect.length > 0 ? [[null, heldDirect] as [null, DestinationContext[]]] : [])];
  for (const [name, cs] of heldGroups) {
    const g = name === null ? undefined : config.upstreams.find((u) => u.name === name);
    const d0 = cs[0]!.d;
    const passes = name === null ? [] : locationsOf(config, name);
    const bind = passes.find((p) => p.bind !== null)?.bind ?? null;
    const split = bind?.startsWith('$') === true ? config.splitClients.find((s) => s.variable === bind.split(/\s/)[0]) : undefined;
    const sourceIps = split?.values.length ?? 1;
    const primaries = g?.servers.filter((s) => !s.backup && !s.down) ?? [];
    out.push({
      id: 'established_exhaustion',
      severity: worst(cs),
      summary:
        `${name === null ? 'a proxied destination' : `upstream ${name}`} is short of ports because ${d0.established} connections are open at once, ` +
        'not because of TIME_WAIT: keepalive will not fix it',
      evidence: [
        ...cs.slice(0, 5).map(({ d }) => `${destinationName(d)}: ${d.established} established, ${d.other} in other states, ${d.timeWait} TIME_WAIT; ${d.headroom}/${d.capacity} ports free`),
        ...(g !== undefined ? [`upstream ${g.name} at ${where(g.at)}: ${primaries.length} primary server(s)`] : []),
        bind === null ? 'no proxy_bind: one source IP' : `proxy_bind ${bind}${split !== undefined ? ` (split_clients over ${sourceIps} values)` : ''}`,
      ],
      why:
        'Each open connection holds its 4-tuple for as long as it lives. Concurrency = request rate × response time, so a slow ' +
        'upstream (or a pool sized for more connections than the range has) fills the range with ESTABLISHED sockets; ' +
        'reusing connections does not reduce how many are open at once.',
      fix: [
        '# 1. More 4-tuple space per destination: more source IPs (each adds a whole port range).',
        '#    Add addresses to this host (e.g. 10.0.0.21, 10.0.0.22), then in http {}:',
        'split_clients "$request_id" $upstream_source_ip {',
        `    50%  ${d0.sourceIp};`,
        '    *    10.0.0.21;   # an address of this host',
        '}',
        ...(passes.length > 0 ? passes.slice(0, 3).flatMap((p) => passContext(p, ['proxy_bind $upstream_source_ip;'])) : ['# in the location with the proxy_pass:', 'proxy_bind $upstream_source_ip;']),
        '# 2. More destination IPs: add servers to the upstream group (each IP:port gets its own range).',
        '# 3. Fewer connections held: find why responses are slow; cap with max_conns=N on the servers.',
        '# then: nginx -t && nginx -s reload',
      ].join('\n'),
      effect: `With one more source IP, ports towards ${d0.destination}: ${d0.capacity * sourceIps} → ${d0.capacity * (sourceIps + 1)}.`,
      destinations: cs.map((c) => destinationName(c.d)),
      upstreams: name === null ? [] : [name],
    });
  }

  // One destination IP carries a troubled group: more servers multiply its 4-tuple space.
  const single = new Map<string, DestinationContext[]>();
  for (const [name, cs] of [...byGroup, ...heldByGroup]) {
    const g = config.upstreams.find((u) => u.name === name);
    if (g === undefined) continue;
    const primaries = g.servers.filter((s) => !s.backup && !s.down);
    if (primaries.length === 1 && cs.some((c) => c.level !== 'ok')) single.set(name, cs.filter((c) => c.level !== 'ok'));
  }
  for (const [name, cs] of single) {
    const d0 = cs[0]!.d;
    out.push({
      id: 'single_destination_ip',
      severity: 'info',
      summary: `upstream ${name} sends all its traffic to one address (${d0.destination}), so it has one port range`,
      evidence: [`upstream ${name}: 1 primary server; ${d0.headroom}/${d0.capacity} ports free towards ${d0.destination}`],
      why: 'Exhaustion is per (source IP, destination IP, destination port): each more upstream address gets a port range of its own.',
      fix: `# the upstream ${name} block: add servers (more IPs, or more ports on the same host)\n    server <second-ip>:${d0.destinationPort};`,
      effect: `Ports towards the group: ${d0.capacity} → ${d0.capacity * 2} with a second server.`,
      destinations: cs.map((c) => destinationName(c.d)),
      upstreams: [name],
    });
  }
  return out;
}
