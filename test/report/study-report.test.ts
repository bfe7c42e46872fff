import { describe, expect, it } from 'vitest';
import { renderStudyReport, type StudyReportMeta } from '../../src/report/study-report.js';
import {
  FIXTURE_MODELS,
  FIXTURE_POSITIONS,
  ODD_ARCH,
  ODD_ID,
  studyRow,
  studyRowsFixture,
} from '../study/study-rows-fixture.js';

const META: StudyReportMeta = {
  title: 'Study <width & depth>',
  studyFile: 'studies/"mnist"&fashion.yaml',
  models: FIXTURE_MODELS,
  excludedPairs: 3,
};

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

/** The markup of the element that opens with `<tag id="id"`, up to its close (no nesting of `tag`). */
function element(html: string, tag: string, id: string): string {
  const start = html.indexOf(`<${tag} id="${id}"`);
  expect(start, `<${tag} id="${id}"> is in the page`).toBeGreaterThanOrEqual(0);
  const end = html.indexOf(`</${tag}>`, start);
  return html.slice(start, end + tag.length + 3);
}

function texts(markup: string, className: string): string[] {
  return [...markup.matchAll(new RegExp(`class="${className}"[^>]*>([^<]*)<`, 'g'))].map((m) => m[1]);
}

describe('renderStudyReport', () => {
  const rows = studyRowsFixture();
  const html = renderStudyReport(rows, META);

  it('is one complete page with nothing fetched from anywhere and no missing number', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trim().endsWith('</html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\ssrc=|\shref=/);
    expect(html).not.toMatch(/<link\b|<script\b|<img\b|<iframe\b|@import|@font-face/i);
    for (const ref of html.match(/url\([^)]*\)/g) ?? []) expect(ref).toMatch(/^url\(#[\w-]+\)$/);
    expect(html).not.toMatch(/undefined|\[object Object\]|NaN|Infinity/);
  });

  it('escapes every id, label, title and path', () => {
    for (const raw of [ODD_ID, ODD_ARCH, META.title, META.studyFile]) expect(html).not.toContain(raw);
    expect(html).toContain('mlp&lt;64&gt;&amp;&quot;fashion&quot;&#39;s');
    expect(html).toContain('mlp&lt;64x64&gt;&amp;&#39;deep&#39;');
    expect(html).toContain('<title>Study &lt;width &amp; depth&gt;</title>');
    expect(html).toContain('studies/&quot;mnist&quot;&amp;fashion.yaml');
  });

  it('summarises cells, pairs, models, excluded pairs, positions and relations', () => {
    const summary = element(html, 'section', 'summary');
    const values = texts(summary, 'card-value');
    // 12 models, 132 ordered pairs, 3 positions × 2 alignments.
    expect(values).toEqual(['792', '132', '12', '3']);
    expect(html).toContain('<dd>first (264), middle (264), last (264)</dd>');
    // same: 4 archs × 3 data with 3 other archs each = 36 pairs; split 4 × 2 × 4 = 32; different 64.
    expect(html).toContain('<dd>same (216), split (192), different (384)</dd>');
    expect(html).toContain('<dd>396 aligned, 396 naive</dd>');
  });

  it('draws one heat map per position × data relation, aligned and naive, per metric, grouped by relation', () => {
    for (const metric of ['loss', 'threshold']) {
      const section = element(html, 'section', `heat-maps-${metric}`);
      expect(count(section, /<figure id="heat-[^"]*" class="heat-relation"/g)).toBe(3);
      expect(count(section, /<svg id="heat-/g)).toBe(18);
      for (const position of FIXTURE_POSITIONS) {
        for (const relation of ['same', 'split', 'different']) {
          for (const kind of ['aligned', 'naive'])
            expect(section).toContain(`<svg id="heat-${metric}-${position}-${relation}-${kind}"`);
        }
      }
      expect(section).toContain(`<svg id="legend-${metric}" class="color-legend"`);
    }
    // Positions along a row in network order, aligned above naive.
    const same = element(html, 'figure', 'heat-loss-same');
    expect([...same.matchAll(/<svg id="heat-loss-(\w+)-same-(\w+)"/g)].map((m) => `${m[1]} ${m[2]}`)).toEqual(
      ['first aligned', 'middle aligned', 'last aligned', 'first naive', 'middle naive', 'last naive'],
    );
    // The λ* scale is fixed at 0 … 1 so its colours mean the same in every study.
    expect(texts(element(html, 'svg', 'legend-threshold'), 'legend-tick')).toEqual([
      '0.00',
      '0.25',
      '0.50',
      '0.75',
      '1.00',
    ]);
  });

  it('orders the axes by width, then depth, not alphabetically', () => {
    const map = element(html, 'svg', 'heat-loss-first-same-aligned');
    expect(texts(map, 'row-label')).toEqual([
      'mlp-h32',
      'mlp-h64',
      'mlp&lt;64x64&gt;&amp;&#39;deep&#39;',
      'mlp-h128',
    ]);
    expect(texts(map, 'column-label')).toEqual(texts(map, 'row-label'));
  });

  it('colours a bin by the median of its cells, prints it, and marks empty bins', () => {
    const small = [0.2, 0.9, 0.4].map((meanLoss, i) =>
      studyRow({ base: `a${i}`, baseArch: 'A', targetArch: 'B', baseWidth: 16, targetWidth: 32, meanLoss }),
    );
    const page = renderStudyReport(small, { ...META, models: [] });
    const map = element(page, 'svg', 'heat-loss-first-same-aligned');
    expect(texts(map, 'row-label')).toEqual(['A', 'B']);
    expect(texts(map, 'heat-value')).toEqual(['0.40']);
    expect(map).toContain('<title>A → B: median mean-LMC loss 0.40 over 3 cells</title>');
    expect(count(map, /class="heat-cell empty"/g)).toBe(3);
    expect(map).toContain('<title>B → A: no cells</title>');
    // Only the combinations present: one position, one relation, aligned only.
    expect(count(page, /<figure id="heat-[^"]*" class="heat-relation"/g)).toBe(2);
    expect(count(page, /<svg id="heat-/g)).toBe(2);
    expect(page).not.toContain('-naive"');
  });

  it('puts every cell on the width-ratio scatter, aligned and naive apart', () => {
    const scatter = element(html, 'svg', 'ratio-scatter');
    const counted = (kind: string) =>
      [
        ...scatter.matchAll(
          new RegExp(`class="scatter-point ${kind}"[^>]*><title>[^<]*: (\\d+) cells?</title>`, 'g'),
        ),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    expect(counted('aligned')).toBe(396);
    expect(counted('naive')).toBe(396);
    expect(scatter).toContain('narrower → wider (ratio &lt; 1)');
    expect(scatter).toContain('wider → narrower (ratio &gt; 1)');
    // Ratios 1/4 … 4 on the log2 axis.
    for (const tick of ['1/4', '1/2', '>1<', '>2<', '>4<']) expect(scatter).toContain(tick);
  });

  it('draws median λ curves per position', () => {
    const curves = element(html, 'svg', 'median-curves');
    for (const position of FIXTURE_POSITIONS) expect(curves).toContain(`position: ${position}`);
    // Three relations × aligned and naive in each of three panels.
    expect(count(curves, /<path class="median-curve (aligned|naive)"/g)).toBe(18);
  });

  it('states the laws computed from the rows', () => {
    const laws = element(html, 'section', 'laws');
    expect(count(laws, /<li id="law-/g)).toBe(6);
    expect(laws).toContain('aligned lower in 396 of 396');
    expect(laws).toMatch(/<li id="law-width-asymmetry" class="law"><strong>[^<]*<\/strong> Narrower → wider/);
  });

  it('lists every row in a collapsed table', () => {
    const table = element(html, 'table', 'study-rows');
    expect(count(table, /<tr>/g)).toBe(1 + rows.length);
    expect(html).toContain('<details><summary>All 792 cells, as in the table file</summary>');
  });

  it('renders an empty study as a page that says so', () => {
    const page = renderStudyReport([], {
      title: 'Empty',
      studyFile: 'empty.yaml',
      models: [],
      excludedPairs: 2,
    });
    expect(page).not.toMatch(/undefined|NaN|<svg id="heat-/);
    expect(count(page, /No cells were measured\./g)).toBe(3);
    expect(page).toContain('No cell has a λ curve.');
    expect(count(page, /class="law not-enough"/g)).toBe(6);
    expect(texts(element(page, 'section', 'summary'), 'card-value')).toEqual(['0', '0', '0', '2']);
    expect(count(element(page, 'table', 'study-rows'), /<tr>/g)).toBe(1);
  });

  it('shows a broken cell’s non-finite numbers in the table but keeps them out of the medians', () => {
    const broken = [
      studyRow({ base: 'ok', baseArch: 'A', targetArch: 'B', meanLoss: 0.5 }),
      studyRow({ base: 'nan', baseArch: 'A', targetArch: 'B', meanLoss: Number.NaN }),
      studyRow({ base: 'nan2', baseArch: 'B', targetArch: 'A', meanLoss: Number.NaN }),
    ];
    const page = renderStudyReport(broken, { ...META, models: [] });
    const map = element(page, 'svg', 'heat-loss-first-same-aligned');
    expect(map).toContain('<title>A → B: median mean-LMC loss 0.50 over 1 of 2 cells (1 not finite)</title>');
    expect(map).toContain('<title>B → A: 1 cell, none finite</title>');
    expect(element(page, 'table', 'study-rows')).toContain('<td class="num">NaN</td>');
  });
});
