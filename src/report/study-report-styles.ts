/** What the study report adds to the assembly report's stylesheet: heat-map figures, the laws, the rows table. */
export const STUDY_REPORT_STYLES = `
.headline.four { grid-template-columns: repeat(4, 1fr); margin-bottom: 16px; }
figure.heat-relation { margin: 14px 0 26px; }
figure.heat-relation figcaption { font-size: 16px; font-weight: 600; margin-bottom: 4px; }
.heat-maps { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: flex-start; }
.heat-maps svg { display: block; max-width: 100%; height: auto; }
.legend-frame svg { display: block; }
ol.laws { padding-left: 22px; }
ol.laws li { margin: 10px 0; }
ol.laws li.not-enough { color: var(--muted); }
.law-n { color: var(--muted); font-size: 12px; white-space: nowrap; }
table.study-rows td, table.study-rows th { white-space: nowrap; }
@media (max-width: 800px) { .headline.four { grid-template-columns: 1fr 1fr; } }
`;
