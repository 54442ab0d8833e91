/**
 * The status page's stylesheet: served by the agent at /assets/status.css for
 * the live page, inlined in the static incident report. Colours always come
 * with words (a level's badge, a legend's names). Narrow screens get one
 * column and tables that scroll sideways.
 */
export const STATUS_CSS = `
:root { --fg: #1b1f24; --muted: #5b6570; --bg: #fff; --panel: #f5f7f9; --line: #d6dbe0;
  --critical: #b3261e; --warning: #a15c00; --ok: #1e7b3a; --info: #2d5f9a;
  --est: #2d6cdf; --tw: #d9822b; --other: #8e5bd1; --free: #e7ebef; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ec; --muted: #a2abb5; --bg: #15181c; --panel: #1e2329; --line: #38404a; --free: #2a3038;
    --critical: #ff6b61; --warning: #f0a742; --ok: #5ac57b; --info: #7fb0ff; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 16px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding-top: 12px; }
header h1 { font-size: 1.2rem; margin: 0; }
header .host { color: var(--muted); margin: 0; }
h2 { font-size: 1.1rem; margin: 24px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 0 0 6px; }
h4 { font-size: .9rem; margin: 8px 0 4px; }
code, pre, .addr { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.muted, .meta, .note, .about { color: var(--muted); }
.badge { display: inline-block; font-weight: 700; font-size: .78rem; letter-spacing: .03em; padding: 1px 6px; border-radius: 3px; border: 1px solid currentColor; }
.level-critical .badge, .badge.level-critical, .badge.level-exhausted { color: var(--critical); }
.badge.level-warning { color: var(--warning); }
.badge.level-ok { color: var(--ok); }
.badge.level-info, .badge.level-unknown { color: var(--info); }
.verdict { margin-top: 12px; padding: 10px 14px; border-left: 6px solid var(--ok); background: var(--panel); }
.verdict.level-critical { border-left-color: var(--critical); }
.verdict.level-warning { border-left-color: var(--warning); }
.verdict.level-unknown { border-left-color: var(--info); }
.verdict p { margin: 4px 0; }
.verdict .headline { font-size: 1.1rem; font-weight: 600; }
#refresh-state { min-height: 1.2em; max-width: 1280px; margin: 4px auto 0; padding: 0 16px; }
#refresh-state.failed { color: var(--critical); }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; color: var(--muted); padding: 4px 0; caption-side: top; }
th, td { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
abbr { text-decoration: none; }
thead th { font-size: .8rem; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody th { font-weight: 400; white-space: nowrap; }
tr.level-exhausted th, tr.level-critical th { font-weight: 700; }
td.ports { white-space: nowrap; }
.nowrap { white-space: nowrap; }
td.errs { text-align: right; font-variant-numeric: tabular-nums; font-size: .85em; }
tbody th .addr { font-size: .95em; }
svg.bar { width: 90px; height: 12px; vertical-align: middle; border: 1px solid var(--line); }
.bar-text { margin-left: 6px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.free { fill: var(--free); }
.st-est { fill: var(--est); background: var(--est); }
.st-tw { fill: var(--tw); background: var(--tw); }
.st-other { fill: var(--other); background: var(--other); }
.st-syn-sent { fill: #c0392b; background: #c0392b; }
.st-fin-wait1 { fill: #16a0b5; background: #16a0b5; }
.st-fin-wait2 { fill: #5d6d7e; background: #5d6d7e; }
.st-close-wait { fill: #7a6a00; background: #7a6a00; }
.key { padding: 0 5px; border-radius: 2px; color: #fff; font-size: .8rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 12px 20px; align-items: start; }
figure.chart-box { margin: 0; padding: 8px; background: var(--panel); border: 1px solid var(--line); }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-size: 11px; fill: var(--muted); }
svg.chart text.empty { font-size: 14px; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .baseline, svg.chart .tick { stroke: var(--muted); stroke-width: 1; }
.series polyline { fill: none; stroke-width: 2; stroke-linejoin: round; }
.series.dashed polyline { stroke-dasharray: 6 4; }
.rule line { stroke-width: 1.5; stroke-dasharray: 3 3; }
.rule-warning line { stroke: var(--warning); } .rule-warning text { fill: var(--warning); }
.rule-critical line { stroke: var(--critical); } .rule-critical text { fill: var(--critical); }
svg.rows .track { fill: var(--free); }
svg.rows .fill { fill: var(--ok); }
svg.rows .fill.level-warning { fill: var(--warning); }
svg.rows .fill.level-critical, svg.rows .fill.level-exhausted { fill: var(--critical); }
svg.rows .row-label { fill: var(--fg); font-size: 12px; }
.s0 { stroke: #2d6cdf; fill: #2d6cdf; } .s1 { stroke: #d9822b; fill: #d9822b; } .s2 { stroke: #1e9e6a; fill: #1e9e6a; }
.s3 { stroke: #b03a9a; fill: #b03a9a; } .s4 { stroke: #7a6a00; fill: #7a6a00; } .s5 { stroke: #c0392b; fill: #c0392b; }
.s6 { stroke: #16a0b5; fill: #16a0b5; } .s7 { stroke: #6d4c41; fill: #6d4c41; } .s8 { stroke: #5d6d7e; fill: #5d6d7e; }
.s9 { stroke: var(--muted); fill: var(--muted); }
.series polyline { fill: none; }
.legend { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: .85rem; }
.legend svg.swatch { width: 20px; height: 10px; margin-right: 4px; vertical-align: middle; }
.legend line { stroke-width: 3; } .legend line.dashed { stroke-dasharray: 5 3; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--info); padding: 8px 12px; margin: 10px 0; background: var(--bg); }
.finding.level-critical { border-left-color: var(--critical); }
.finding.level-warning { border-left-color: var(--warning); }
.evidence { margin: 4px 0; padding-left: 20px; }
.fix { background: var(--panel); border: 1px solid var(--line); padding: 6px 10px; margin: 8px 0; }
.fix-head { display: flex; align-items: center; justify-content: space-between; }
.fix pre { user-select: all; }
button.copy { font: inherit; font-size: .85rem; padding: 2px 10px; cursor: pointer; }
pre.sample { max-width: 60ch; font-size: .8rem; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
ul.plain, ul.sources { list-style: none; padding: 0; margin: 0; }
ul.sources li { margin: 2px 0; }
.problem { color: var(--critical); }
footer { margin: 24px auto; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: .9rem; }
footer a { margin-right: 14px; }
a { color: var(--info); }
@media (max-width: 700px) {
  body { font-size: 14px; }
  header, main, footer { padding: 0 10px; }
  th, td { padding: 3px 5px; }
  dl.kv { grid-template-columns: 1fr; }
  dl.kv dd { margin-bottom: 4px; }
}
@media print { button.copy, #refresh-state { display: none; } }
`;
