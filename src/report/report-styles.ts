/**
 * The assembly report's stylesheet, inlined into the page: system fonts only, so nothing is fetched and the page
 * looks the same offline.
 */
export const REPORT_STYLES = `
:root { color-scheme: light; --ink: #1f2328; --muted: #6b7280; --rule: #d8dee4; --panel: #f6f8fa; --better: #15803d; --worse: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: var(--ink); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1140px; margin: 0 auto; padding: 28px 32px 48px; background: white; min-height: 100vh; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 18px 0 8px; display: flex; align-items: center; gap: 8px; }
h4 { font-size: 14px; margin: 12px 0 4px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
code { background: var(--panel); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--panel); padding: 12px; border-radius: 6px; overflow-x: auto; }
.subtitle, .muted { color: var(--muted); }
.small { font-size: 12px; }
.better { color: var(--better); font-weight: 600; }
.worse { color: var(--worse); font-weight: 600; }
.same { color: var(--muted); }
.headline { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; margin: 20px 0 4px; }
.card { border: 1px solid var(--rule); border-radius: 8px; padding: 12px 14px; background: var(--panel); }
.card-label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card-value { font-size: 22px; font-weight: 600; margin: 2px 0; overflow-wrap: anywhere; }
.card-value.prose { font-size: 16px; }
.card-note { font-size: 13px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
details summary { cursor: pointer; color: #0b5cad; }
ul.compact { margin: 6px 0; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--rule); padding: 6px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; vertical-align: bottom; }
table.lineage-table thead th { min-width: 3.5em; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.total th, tr.total td { font-weight: 600; border-top: 2px solid var(--rule); }
tr.not-accepted td { background: #fafafa; }
.table-frame { overflow-x: auto; }
.chart-frame { overflow-x: auto; margin: 8px 0; }
.chart-frame svg { display: block; max-width: 100%; height: auto; }
.step-badge { display: inline-block; min-width: 22px; height: 22px; line-height: 22px; border-radius: 11px; color: white; text-align: center; font-size: 12px; font-weight: 700; padding: 0 6px; }
section.step { border-left: 4px solid var(--rule); padding: 2px 0 8px 16px; margin: 18px 0 26px; }
table.candidates { margin: 8px 0; }
.hash { white-space: nowrap; }
@media (max-width: 800px) { .headline { grid-template-columns: 1fr; } main { padding: 16px; } }
`;
