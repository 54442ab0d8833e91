/**
 * The status page's sections, each a pure function of the status view: the
 * verdict, the destinations table, the findings with their fixes, the error
 * log, nginx's upstreams, NAT, the kernel settings and the sources.
 */
import type { ReportDestination, ReportNat } from '../../../diagnosis/report.js';
import type { StatusView } from '../../../diagnosis/status.js';
import { esc, token } from './escape.js';
import { count, dateTime, duration, percent, rate } from './format.js';
import { extraFields, genericHtml } from './generic.js';
import { partsBar } from './svg.js';
import { pace } from './pace.js';

/** The word shown with each level's colour: colour never stands alone. */
const LEVEL_WORD: Record<string, string> = { exhausted: 'EXHAUSTED', critical: 'CRITICAL', warning: 'WARNING', ok: 'OK', info: 'INFO', unknown: 'UNKNOWN' };

export function badge(level: string): string {
  const l = level.toLowerCase();
  return `<span class="badge level-${token(l)}">${esc(LEVEL_WORD[l] ?? level.toUpperCase())}</span>`;
}

const section = (id: string, title: string, body: string): string => `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2>${body}</section>`;

const upstreamsOf = (d: ReportDestination): string => (d.upstreams === undefined ? '' : d.upstreams.length === 0 ? '(unmapped)' : d.upstreams.join(', '));

/** A destination named for people: "source → destination (upstream …)". */
export function destinationLabel(d: ReportDestination): string {
  const u = d.upstreams !== undefined && d.upstreams.length > 0 ? ` (${d.upstreams.join(', ')})` : '';
  return `${d.sourceIp} → ${d.destination}${u}`;
}

export function verdictSection(v: StatusView): string {
  const r = v.report;
  const status = r.status.toLowerCase();
  const worst = r.destinations[0];
  const lines: string[] = [];
  if (worst !== undefined && r.status !== 'OK') {
    lines.push(
      `Worst: <strong>${esc(destinationLabel(worst))}</strong>: ${count(worst.headroom)} of ${count(worst.capacity)} ports free (${percent(worst.headroomRatio)}); ` +
        (worst.connectRate.lowerBound && worst.connectRatePerSecond === 0
          ? `its connect rate cannot be measured here (${esc(worst.connectRate.why)}); its range sustains ${rate(worst.maxSustainableConnectRate)}/s.`
          : `${worst.connectRate.lowerBound ? 'at least ' : ''}${rate(worst.connectRatePerSecond)} new connections/s against the ${rate(worst.maxSustainableConnectRate)}/s its range sustains.`),
    );
  }
  for (const line of pace(v)) lines.push(esc(line));
  const taken = Date.parse(r.generatedAt);
  const when = v.sampleIntervalMs !== null
    ? `Sampled ${dateTime(taken)}, every ${duration(v.sampleIntervalMs / 1000)}.`
    : `Taken ${dateTime(taken)} by <code>agent diagnose</code>: one sample, no history.`;
  return `<section id="verdict" class="verdict level-${token(status)}" aria-label="verdict"><p class="headline">${badge(status)} ${esc(r.summary)}</p>${lines.map((l) => `<p>${l}</p>`).join('')}<p class="meta">${when}</p></section>`;
}

const KNOWN_DESTINATION_FIELDS = new Set([
  'sourceIp', 'destination', 'capacity', 'used', 'headroom', 'headroomRatio', 'established', 'timeWait', 'timeWaitReusable', 'other',
  'connectRatePerSecond', 'maxSustainableConnectRate', 'timeWaitReuse', 'secondsUntilNextRelease', 'level', 'recentErrors', 'upstreams',
  'states', 'connectRate',
]);

/** The states a bar and the "other states" cell show apart from ESTABLISHED and TIME_WAIT, by count. */
function otherStates(d: ReportDestination): [string, number][] {
  return Object.entries(d.states)
    .filter(([s, n]) => s !== 'established' && s !== 'time_wait' && n > 0)
    .map(([s, n]): [string, number] => [s.toUpperCase(), n])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The colour class of a state: the usual suspects have their own, the rest share one. */
const stateClass = (state: string): string => (['SYN_SENT', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT'].includes(state) ? `st-${token(state)}` : 'st-other');

function portsBar(d: ReportDestination): string {
  const blocking = Math.max(0, d.timeWait - d.timeWaitReusable);
  const others = otherStates(d);
  const parts = [
    { name: 'ESTABLISHED', value: d.established, cls: 'st-est' },
    { name: 'TIME_WAIT (blocking)', value: blocking, cls: 'st-tw' },
    ...others.map(([state, n]) => ({ name: state, value: n, cls: stateClass(state) })),
  ];
  const label = `${d.used} of ${d.capacity} ports used: ${parts.map((p) => `${p.value} ${p.name}`).join(', ')}; ${d.headroom} free`;
  return `${partsBar(parts, d.capacity, label)}<span class="bar-text"><span data-field="used">${count(d.used)}</span> / <span data-field="capacity">${count(d.capacity)}</span></span>`;
}

function otherCell(d: ReportDestination): string {
  const others = otherStates(d);
  const total = `<span data-field="other">${d.other}</span>`;
  return others.length === 0 ? total : `${total}<br>${others.map(([s, n]) => `<span class="nowrap">${esc(s)} ${count(n)}</span>`).join('<br>')}`;
}

/** The connect rate, "≥" where it is only a lower bound, with how it was measured on hover. */
function rateCell(d: ReportDestination): string {
  const r = d.connectRate;
  if (r.lowerBound && d.connectRatePerSecond === 0) {
    return `<td class="num" title="${esc(r.why)}"><abbr title="not measurable here: ${esc(r.why)}">?</abbr><span data-field="connectRatePerSecond" hidden>0</span></td>`;
  }
  return `<td class="num" title="${esc(r.why)}">${r.lowerBound ? '<abbr title="a lower bound: the true rate may be higher">≥</abbr>' : ''}<span data-field="connectRatePerSecond">${rate(d.connectRatePerSecond)}</span></td>`;
}

function errorsCell(d: ReportDestination): string {
  const e = Object.entries(d.recentErrors ?? {}).filter(([, n]) => n > 0);
  return e.length === 0 ? '0' : e.map(([k, n]) => `<span class="nowrap">${esc(k)} ${count(n)}</span>`).join('<br>');
}

function destinationRow(d: ReportDestination, withNginx: boolean, withLog: boolean, withMore: boolean): string {
  const extras = extraFields(d, KNOWN_DESTINATION_FIELDS);
  const cells = [
    `<td>${badge(d.level)}</td>`,
    `<th scope="row"><span class="addr">${esc(d.sourceIp)} → ${esc(d.destination)}</span></th>`,
    ...(withNginx ? [`<td>${esc(upstreamsOf(d))}</td>`] : []),
    `<td class="ports">${portsBar(d)}</td>`,
    `<td class="num"><span data-field="headroom">${d.headroom}</span> (<span data-field="headroomRatio">${percent(d.headroomRatio)}</span>)</td>`,
    `<td class="num" data-field="established">${d.established}</td>`,
    `<td class="num" data-field="timeWait">${d.timeWait}</td>`,
    `<td class="num">${otherCell(d)}</td>`,
    rateCell(d),
    `<td class="num" data-field="maxSustainableConnectRate">${rate(d.maxSustainableConnectRate)}</td>`,
    `<td class="num">${d.secondsUntilNextRelease === null ? '–' : `${d.secondsUntilNextRelease.toFixed(1)} s`}</td>`,
    ...(withLog ? [`<td class="errs">${errorsCell(d)}</td>`] : []),
    ...(withMore ? [`<td>${extras.length === 0 ? '' : genericHtml(Object.fromEntries(extras))}</td>`] : []),
  ];
  return `<tr class="level-${token(d.level)}" data-destination="${esc(`${d.sourceIp} → ${d.destination}`)}">${cells.join('')}</tr>`;
}

export function destinationsSection(v: StatusView): string {
  const r = v.report;
  if (r.destinations.length === 0) {
    return section('destinations', 'Destinations', `<p>${r.portRange === null ? 'Headroom cannot be computed: see the sources below.' : 'No outgoing TCP connections from the ephemeral range.'}</p>`);
  }
  const withNginx = r.nginx !== null && r.nginx.config !== null && r.nginx.note === null;
  const withLog = r.errorLog !== null;
  // Fields this table has no column for (a newer report's) get one column, when there are any.
  const withMore = r.destinations.some((d) => extraFields(d, KNOWN_DESTINATION_FIELDS).length > 0);
  const head = [
    'Level', 'Source → destination', ...(withNginx ? ['Upstream'] : []), 'Ports used / capacity', 'Free', 'ESTAB', 'TIME_WAIT', 'Other states',
    '<abbr title="new connections per second">Conn/s</abbr>', '<abbr title="the connect rate the range sustains">Max/s</abbr>', 'Next free', ...(withLog ? ['Log errors'] : []), ...(withMore ? ['More'] : []),
  ];
  const shown = [...new Set(r.destinations.flatMap((d) => otherStates(d).map(([s]) => s)))].sort();
  const keys = ['<span class="key st-est">ESTABLISHED</span>', '<span class="key st-tw">TIME_WAIT</span>', ...shown.map((s) => `<span class="key ${stateClass(s)}">${esc(s)}</span>`)];
  const lowerBound =
    (r.destinations.some((d) => d.connectRate.lowerBound && d.connectRatePerSecond > 0) ? ' ≥: the connect rate is a lower bound (hover over it for why).' : '') +
    (r.destinations.some((d) => d.connectRate.lowerBound && d.connectRatePerSecond === 0) ? ' ?: the connect rate cannot be measured here (hover over it for why).' : '');
  const caption = `${r.destinations.length} of ${r.destinationsTotal} destination(s), least headroom first. The bar splits the used ports by state: ${keys.join(' ')}; the rest is free.${lowerBound}`;
  const table = `<div class="table-wrap"><table class="destinations"><caption>${caption}</caption><thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>${r.destinations.map((d) => destinationRow(d, withNginx, withLog, withMore)).join('')}</tbody></table></div>`;
  return section('destinations', 'Destinations', table);
}

function findingHtml(f: StatusView['report']['findings'][number], i: number): string {
  const fix =
    f.fix === null
      ? ''
      : `<div class="fix"><div class="fix-head"><h4>Fix</h4><button type="button" class="copy" data-copy="fix-${i}" hidden>Copy</button></div><pre id="fix-${i}" tabindex="0"><code>${esc(f.fix)}</code></pre></div>`;
  const about = [...f.destinations, ...f.upstreams.map((u) => `upstream ${u}`)];
  return `<article class="finding level-${token(f.severity)}" id="finding-${token(f.id)}-${i}">
<h3>${badge(f.severity)} <code>${esc(f.id)}</code> ${esc(f.summary)}</h3>
${about.length > 0 ? `<p class="about">About: ${about.map(esc).join('; ')}</p>` : ''}
${f.evidence.length > 0 ? `<h4>Evidence</h4><ul class="evidence">${f.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}
<p class="why"><strong>Why:</strong> ${esc(f.why)}</p>
${fix}
${f.effect !== null ? `<p class="effect"><strong>Effect:</strong> ${esc(f.effect)}</p>` : ''}
</article>`;
}

export function findingsSection(v: StatusView): string {
  const f = v.report.findings;
  return section('findings', `Findings (${f.length})`, f.length === 0 ? '<p>None: nothing to change.</p>' : f.map(findingHtml).join(''));
}

export function errorLogSection(v: StatusView): string {
  const log = v.report.errorLog;
  if (log === null) return section('errorlog', 'nginx error log', '<p>No error log configured or present (<code>--error-log</code>).</p>');
  const window = log.window ?? (log.past ? `from ${dateTime(Date.parse(log.since))} until ${dateTime(Date.parse(log.until))}` : `since ${dateTime(Date.parse(log.since))}`);
  const rows = log.byKind.map((k) => `<tr><th scope="row"><code>${esc(k.kind)}</code></th><td class="num">${count(k.count)}</td><td>${esc(k.first)}</td><td>${esc(k.last)}</td><td><pre class="sample">${esc(k.sample)}</pre></td></tr>`);
  const table = rows.length === 0 ? '<p>No events.</p>' : `<div class="table-wrap"><table><thead><tr><th scope="col">Kind</th><th scope="col">Events</th><th scope="col">First</th><th scope="col">Last</th><th scope="col">Example line</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  const known = ['since', 'until', 'past', 'timeZone', 'files', 'lines', 'unparsed', 'truncated', 'byKind', 'byDestination', 'byUpstreamGroup', 'byBindAddress', 'problems', 'window', 'timeline'];
  const extras = extraFields(log, new Set(known));
  const groups = Object.entries(log.byUpstreamGroup);
  const binds = Object.entries(log.byBindAddress);
  const body = [
    `<p>${esc(window)}: ${count(log.lines)} line(s) in ${log.files.length === 0 ? 'no file' : log.files.map((f) => `<code>${esc(f)}</code>`).join(', ')}${log.truncated ? ' (scan limit reached: older lines not read)' : ''}${log.unparsed > 0 ? `; ${count(log.unparsed)} not in nginx's format` : ''}; nginx's times read in ${esc(log.timeZone)}.</p>`,
    log.past ? `<p class="note">A past window: the error-log findings are about it; the sockets (and their findings) are as sampled at ${esc(dateTime(Date.parse(v.report.generatedAt)))}.</p>` : '',
    ...log.problems.map((p) => `<p class="problem">${esc(p)}</p>`),
    table,
    groups.length > 0 ? `<p>"no live upstreams" by group: ${groups.slice(0, 20).map(([g, n]) => `${esc(g)} ${count(n)}`).join(', ')}.</p>` : '',
    binds.length > 0
      ? `<p>bind() failures by proxy_bind address: ${binds
          .slice(0, 20)
          .map(([a, kinds]) => `<code>${esc(a)}</code> (${Object.entries(kinds).map(([k, n]) => `${esc(k)} ${count(n)}`).join(', ')})`)
          .join('; ')}.</p>`
      : '',
    extras.length > 0 ? genericHtml(Object.fromEntries(extras)) : '',
  ];
  return section('errorlog', 'nginx error log', body.join(''));
}

export function nginxSection(v: StatusView): string {
  const n = v.report.nginx;
  if (n === null) return '';
  const head = n.config === null || n.note !== null ? `<p>${esc(n.note ?? 'No nginx configuration read.')}</p>` : `<p>Read <code>${esc(n.config)}</code>: ${n.files.length} file(s), ${n.upstreams.length} upstream group(s).</p>`;
  // The effective pool (what nginx keeps on this version), not the raw keepalive line: from 1.29.7 a group without one still pools.
  const known = new Set(['name', 'servers', 'keepalive', 'at', 'pool']);
  const rows = n.upstreams.map((u) => {
    const extras = extraFields(u, known);
    const pool = u.pool.size === null ? (u.pool.source === 'unknown' ? 'unknown' : 'none') : `${count(u.pool.size)} per worker`;
    return `<tr><th scope="row">${esc(u.name)}</th><td>${u.servers.map(esc).join('<br>') || 'no servers'}</td><td class="num">${esc(pool)}</td><td>${esc(u.pool.detail)}</td><td><code>${esc(u.at)}</code></td><td>${extras.length === 0 ? '' : genericHtml(Object.fromEntries(extras))}</td></tr>`;
  });
  const table =
    rows.length === 0
      ? ''
      : `<div class="table-wrap"><table><thead><tr><th scope="col">Upstream</th><th scope="col">Servers</th><th scope="col">Idle pool</th><th scope="col">Why</th><th scope="col">Defined at</th><th scope="col">More</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  const body = [head, `<p>Version ${esc(n.version ?? 'unknown')} (${esc(n.versionSource)}).</p>`, table, ...n.problems.map((p) => `<p class="problem">${esc(p)}</p>`)];
  return section('nginx', 'nginx configuration', body.join(''));
}

/** One NAT: what it is and its destinations, largest share first; a shared gateway shows this host's share, not a headroom. */
function natHtml(nat: ReportNat): string {
  const host = nat.scope === 'host';
  const head =
    `<h3>${esc(nat.name)}: ${esc(nat.title)}</h3>` +
    `<p>${host ? "This VM's own allocation" : 'A gateway every host behind it shares: this host holds a share of the limit, and Prometheus judges the sum'}; ` +
    `${count(nat.capacityPerDestination)} mappings per destination (${count(nat.ports)} ports × ${count(nat.ips)} IP(s))` +
    `${nat.timeWaitSeconds !== null ? `; a closed connection is held ${duration(nat.timeWaitSeconds)}` : ''}. <a href="${esc(nat.docsUrl)}">Provider's documentation</a>.</p>`;
  const rows = nat.destinations.map((d) => {
    const held = `${count(d.heldAfterClose)}${d.heldAfterCloseIsEstimate ? ' (estimated in part)' : ''}`;
    const free = d.headroom === null || d.headroomRatio === null ? 'shared' : `${count(d.headroom)} (${percent(d.headroomRatio)})`;
    return (
      `<tr class="level-${token(d.level ?? 'ok')}"><th scope="row">${esc(d.destination)}</th><td class="num">${count(d.used)} / ${count(d.capacity)}</td>` +
      `<td class="num">${count(d.open)}</td><td class="num">${held}</td><td class="num">${free}</td><td class="num">${percent(d.share)}</td>` +
      `<td>${d.level === null ? '<span class="muted">fleet</span>' : badge(d.level)}</td></tr>`
    );
  });
  const table =
    rows.length === 0
      ? '<p>No sockets towards a destination this NAT translates.</p>'
      : `<div class="table-wrap"><table><thead><tr><th scope="col">Destination</th><th scope="col">Used / limit</th><th scope="col">Open</th><th scope="col">Held after close</th><th scope="col">Free</th><th scope="col">This host's share</th><th scope="col">Level</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  const more = nat.destinationsTotal > nat.destinations.length ? `<p>${count(nat.destinations.length)} of ${count(nat.destinationsTotal)} destinations shown.</p>` : '';
  return head + table + more + nat.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
}

/** The NATs in front of the host (config `nat`): the NAT's limit beside the kernel's, per destination. */
export function natSection(v: StatusView): string {
  const nats = v.report.nat;
  if (nats === undefined || nats.length === 0) return '';
  return section('nat', 'Behind NAT', nats.map(natHtml).join(''));
}

export function settingsSection(v: StatusView): string {
  const r = v.report;
  const p = r.portRange;
  const rows: [string, string][] = [
    ['ip_local_port_range', p === null ? 'unavailable' : `${p.low}–${p.high} (${p.size} ports)`],
    ['usable per destination', p === null ? '–' : `${p.usable} (${p.reserved} reserved, ${p.listenersInRange} listening in range)`],
    ...Object.entries(r.sysctls).filter(([k]) => k !== 'ip_local_port_range').map(([k, val]) => [k, val === null ? 'unavailable' : String(val)] as [string, string]),
  ];
  const hs = r.hostSockets;
  if (hs !== null) {
    rows.push(['sockets host-wide', `${hs.total} (${Object.entries(hs.byState).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`]);
    rows.push(['connect attempts host-wide', hs.connectAttemptsPerSecond === null ? 'not measured' : `${rate(hs.connectAttemptsPerSecond)}/s`]);
    rows.push(['TIME_WAIT overflow', hs.timeWaitOverflow === null ? 'unavailable' : String(hs.timeWaitOverflow)]);
    rows.push(['conntrack', hs.conntrack === null ? 'unavailable' : `${hs.conntrack.count} / ${hs.conntrack.max}`]);
  }
  return section('settings', 'Port range and kernel settings', `<dl class="kv">${rows.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${esc(val)}</dd>`).join('')}</dl>`);
}

export function sourcesSection(v: StatusView): string {
  const r = v.report;
  const items = [
    ...r.sources.map((s) => ({ name: s.source, up: s.state !== 'error', word: s.state === 'ok' ? 'up' : s.state === 'error' ? 'DOWN' : 'unavailable', detail: s.detail ?? '' })),
    ...v.agentSources.map((s) => ({ name: s.source, up: s.up, word: s.up ? 'up' : 'DOWN', detail: '' })),
  ];
  const list = `<ul class="sources">${items.map((s) => `<li class="${s.up ? 'up' : 'down'}"><span class="badge level-${s.up ? 'ok' : 'critical'}">${esc(s.word)}</span> <code>${esc(s.name)}</code>${s.detail !== '' ? ` ${esc(s.detail)}` : ''}</li>`).join('')}</ul>`;
  const notes = [...r.assumptions.map((a) => `<p>Assumed: ${esc(a)}</p>`), ...r.problems.map((p) => `<p class="problem">${esc(p)}</p>`)];
  return section('sources', 'Sources', list + notes.join(''));
}
