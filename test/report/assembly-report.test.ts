import { describe, expect, it } from 'vitest';
import type { Lineage } from '../../src/assembly/lineage.js';
import { renderAssemblyReport } from '../../src/report/assembly-report.js';
import { CNN_ID, DEEP_ID, lineageFixture, SMALL_ID, WIDE_ID } from './lineage-fixture.js';

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

/** The markup of the element that opens with `<tag id="id"`, up to its matching close (no nesting of `tag`). */
function elementById(html: string, tag: string, id: string): string {
  const start = html.indexOf(`<${tag} id="${id}"`);
  expect(start, `<${tag} id="${id}"> is in the page`).toBeGreaterThanOrEqual(0);
  const end = html.indexOf(`</${tag}>`, start);
  return html.slice(start, end + tag.length + 3);
}

describe('renderAssemblyReport', () => {
  const html = renderAssemblyReport(lineageFixture);

  it('is one complete page with nothing fetched from anywhere', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trim().endsWith('</html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\ssrc=/);
    expect(html).not.toMatch(/<link\b|<script\b|<img\b|<iframe\b|@import|@font-face/i);
    // The only url() references are to the page's own SVG markers and clip paths.
    for (const ref of html.match(/url\([^)]*\)/g) ?? []) expect(ref).toMatch(/^url\(#[\w-]+\)$/);
    // No number went missing (the fixture's failure reasons may say NaN in words, never as a value).
    expect(html).not.toMatch(/undefined|\[object Object\]|="[^"]*NaN|>NaN</);
  });

  it('escapes every id and path from the lineage', () => {
    for (const raw of [WIDE_ID, SMALL_ID, DEEP_ID, CNN_ID, '/runs/a&b/<base>/model.safetensors', '<v2>']) {
      expect(html).not.toContain(raw);
    }
    expect(html).toContain('mlp&lt;512&gt;&amp;wide');
    expect(html).toContain('mlp-784-128-128-10 &quot;seed 7&quot;');
    expect(html).toContain('mlp-deep&#39;s');
    expect(html).toContain('cnn&lt;3x3&gt;&amp;pool');
    expect(html).toContain('/runs/a&amp;b/&lt;base&gt;/model.safetensors');
    // A failure reason holds markup characters too.
    expect(html).toContain('conv1 input &lt;1x28x28&gt; &amp; fc1 input &lt;784&gt;');
  });

  it('summarises the run: base, zoo size, objective before and after, best zoo model, stop reason, backend', () => {
    expect(html).toContain('zoo of 4 models');
    expect(html).toContain('2 of 3 steps accepted');
    expect(html).toContain('0.3100 → 0.2732');
    expect(html).toContain('0.3975');
    expect(html).toContain('no candidate improved the objective');
    expect(html).toContain('backend wasm');
  });

  it('draws the objective per step as a line through the base and every step', () => {
    const chart = elementById(html, 'svg', 'objective-chart');
    expect(chart).toContain('class="line-chart objective-chart"');
    const line = chart.match(/<path d="([^"]+)" fill="none" stroke="#374151"/);
    expect(line).not.toBeNull();
    expect(count(line![1], /[ML]\d/g)).toBe(1 + lineageFixture.steps.length);
    expect(chart).toContain('best single zoo model 0.3975');
  });

  it('draws one λ curve per accepted step, with λ* and the chosen λ marked', () => {
    expect(count(html, /class="line-chart lambda-curve"/g)).toBe(2);
    for (const step of [1, 2]) {
      const chart = elementById(html, 'svg', `lambda-curve-step-${step}`);
      const accepted = lineageFixture.steps[step - 1].accepted!;
      expect(chart).toContain('class="accepted-curve"');
      expect(chart).toContain(`λ* ${accepted.threshold.toFixed(2)}`);
      expect(chart).toContain(`chosen λ ${accepted.lambda.toFixed(2)}`);
      expect(chart).toContain('loss per task');
      expect(chart).toContain('accuracy per task');
    }
    expect(html).not.toContain('id="lambda-curve-step-3"');
    // The step that accepted nothing still shows why: its candidates' curves.
    expect(html).toContain('id="rejected-curves-step-3"');
  });

  it('draws which base layer took which zoo layer at which step, base layers in network order', () => {
    const diagram = elementById(html, 'svg', 'transplant-diagram');
    expect(count(diagram, /<g class="transplant" data-step="1">/g)).toBe(1);
    expect(count(diagram, /<g class="transplant" data-step="2">/g)).toBe(2);
    const baseOrder = [...diagram.matchAll(/<g class="base-layer"><title>([^<]+)<\/title>/g)].map(
      (m) => m[1],
    );
    expect(baseOrder).toEqual(['fc1', 'fc2', 'fc3', 'fc4']);
    expect(diagram).toContain('Step 2 · λ 0.20 (λ* 0.30)');
    expect(diagram).toContain('mlp-784-128-128-10 &quot;seed 7&quot; / fc3');
  });

  it('takes the base layer order from the caller when given', () => {
    const given = renderAssemblyReport(lineageFixture, { baseLayers: ['fc4', 'fc3', 'fc2', 'fc1', 'head'] });
    const diagram = elementById(given, 'svg', 'transplant-diagram');
    const baseOrder = [...diagram.matchAll(/<g class="base-layer"><title>([^<]+)<\/title>/g)].map(
      (m) => m[1],
    );
    expect(baseOrder).toEqual(['fc4', 'fc3', 'fc2', 'fc1', 'head']);
  });

  it('has a lineage table with one row per step', () => {
    const table = elementById(html, 'table', 'lineage-table');
    const rows = [...table.matchAll(/<tr class="step-row (accepted|not-accepted)" data-step="(\d+)">/g)];
    expect(rows.map((r) => [r[1], r[2]])).toEqual([
      ['accepted', '1'],
      ['accepted', '2'],
      ['not-accepted', '3'],
    ]);
    // Candidates scored / pruned / failed per step, and map hashes cut to 8 characters.
    expect(table).toContain('2 / 1 / 1');
    expect(table).toContain('2 / 2 / 0');
    expect(table).toContain('2 / 0 / 1');
    const mapHash = Object.values(lineageFixture.steps[0].accepted!.mapHashes)[0];
    expect(table).toContain(`<code>${mapHash.slice(0, 8)}</code>`);
    expect(table).not.toContain(`<code>${mapHash}</code>`);
  });

  it('renders the same page from a lineage read back from JSON', () => {
    const reread = JSON.parse(JSON.stringify(lineageFixture)) as Lineage;
    expect(renderAssemblyReport(reread)).toBe(html);
  });

  it('says when tasks were scored calibrated, and then leaves the raw best zoo model out of the task table', () => {
    const tasksTable = (page: string) => {
      const start = page.indexOf('<h3>Tasks</h3>');
      return page.slice(start, page.indexOf('</section>', start));
    };
    expect(tasksTable(html)).toContain('Best zoo model');
    expect(html).not.toContain('scored calibrated');
    const calibrated: Lineage = {
      ...lineageFixture,
      tasks: lineageFixture.tasks.map((t) => ({ ...t, scoring: 'calibrated' as const })),
    };
    const page = renderAssemblyReport(calibrated);
    expect(tasksTable(page)).toContain('loss, scored calibrated');
    expect(tasksTable(page)).toContain('after re-fitting its output biases');
    expect(tasksTable(page)).not.toContain('Best zoo model');
  });

  it('renders a run that accepted nothing, with no best zoo model', () => {
    const first = lineageFixture.steps[2];
    const idle: Lineage = {
      ...lineageFixture,
      bestZooModel: undefined,
      steps: [
        {
          ...first,
          objectiveBefore: lineageFixture.initial.objective,
          objectiveAfter: lineageFixture.initial.objective,
        },
      ],
      final: { ...lineageFixture.initial, sha256: lineageFixture.base.sha256 },
    };
    const page = renderAssemblyReport(idle);
    expect(page).toContain('0 of 1 step accepted');
    expect(page).toContain('No step was accepted: the base is unchanged.');
    expect(page).not.toContain('class="line-chart lambda-curve"');
    expect(page).toContain('id="objective-chart"');
    expect(page).not.toMatch(/undefined|="[^"]*NaN|>NaN</);
  });
});
