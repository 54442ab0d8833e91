/**
 * The status page: the incident on one page, as the daemon serves it at `/` and
 * as `agent diagnose --format html` writes it to a file. A pure function of the
 * status view (the report and the history) and the mode; the browser calls
 * renderStatusMain again with each /api/status it fetches, so the page looks
 * the same whether JavaScript runs or not.
 */
import type { Report } from '../../../diagnosis/report.js';
import type { StatusView } from '../../../diagnosis/status.js';
import type { Thresholds } from '../../../hints/findings.js';
import { chartsSection } from './charts.js';
import { esc } from './escape.js';
import { destinationsSection, errorLogSection, findingsSection, natSection, nginxSection, settingsSection, sourcesSection, verdictSection } from './sections.js';
import { STATUS_CSS } from './style.js';

export interface PageOptions {
  /**
   * live: the daemon's page; its stylesheet and script come from the agent's own
   * routes and it refreshes itself from /api/status. report: one static file
   * (styles inline, no script at all) to attach to a ticket.
   */
  mode: 'live' | 'report';
}

/** Where the live page's stylesheet and script are served, relative to the page (so a path prefix in front of the agent keeps working). */
export const STATUS_CSS_PATH = 'assets/status.css';
export const STATUS_SCRIPT_PATH = 'assets/web/statusClient.js';

/** The links to the agent's other endpoints. */
const LINKS: readonly [string, string][] = [
  ['metrics', 'Prometheus metrics'],
  ['api/status', 'this page as JSON'],
  ['api/findings', 'findings as JSON'],
  ['healthz', 'health'],
  ['readyz', 'readiness'],
];

/** The contents of <main>: what the browser replaces on each refresh. */
export function renderStatusMain(v: StatusView): string {
  return [
    verdictSection(v),
    destinationsSection(v),
    chartsSection(v),
    findingsSection(v),
    errorLogSection(v),
    nginxSection(v),
    natSection(v),
    settingsSection(v),
    sourcesSection(v),
  ]
    .filter((s) => s !== '')
    .join('\n');
}

/** The document title: the status first, so a tab says it. */
export function statusTitle(v: StatusView): string {
  const host = v.report.host?.hostname;
  return `${v.report.status} · nginx ports${host !== undefined ? ` · ${host}` : ''}`;
}

function header(v: StatusView): string {
  const h = v.report.host;
  const where = h !== null ? `${h.hostname}, ${h.kernel}${h.distro !== '' ? `, ${h.distro}` : ''}; proc root ${v.report.procRoot}` : `proc root ${v.report.procRoot}`;
  return `<header><h1>nginx-port-agent <span class="muted">${esc(v.version)}</span></h1><p class="host">${esc(where)}</p></header>`;
}

function footer(mode: PageOptions['mode']): string {
  if (mode === 'report') {
    return '<footer><p>A static report written by <code>agent diagnose --format html</code>. On the host, the daemon serves this page live at <code>/</code>.</p></footer>';
  }
  return `<footer><nav aria-label="endpoints">${LINKS.map(([href, what]) => `<a href="${href}">/${href}</a> ${what}`).join(' · ')}</nav></footer>`;
}

/** `agent diagnose --format html`: the status page of one report, as one static file; `version` names the agent in its header. */
export function renderReportPage(r: Report, t: Thresholds, version: string): string {
  return renderStatusPage({ report: r, history: null, thresholds: t, sampleIntervalMs: null, version, agentSources: [] }, { mode: 'report' });
}

/** The whole document. */
export function renderStatusPage(v: StatusView, opts: PageOptions): string {
  const live = opts.mode === 'live';
  const head = live
    ? `<link rel="icon" href="assets/favicon.svg" type="image/svg+xml">\n<link rel="stylesheet" href="${STATUS_CSS_PATH}">\n<script type="module" src="${STATUS_SCRIPT_PATH}"></script>`
    : // A file opened from disk has no response headers: the policy comes with it. No script may run in it at all.
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">\n<style>${STATUS_CSS}</style>`;
  const interval = v.sampleIntervalMs ?? 0;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(statusTitle(v))}</title>
${head}
</head>
<body>
${header(v)}
${live ? '<p id="refresh-state" class="meta" role="status" aria-live="polite"></p>' : ''}
<main id="status" data-generated-at="${esc(v.report.generatedAt)}" data-interval-ms="${interval}">
${renderStatusMain(v)}
</main>
${footer(opts.mode)}
</body>
</html>
`;
}
