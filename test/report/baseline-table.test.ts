/**
 * The baselines table in the model card and the HTML report: shown when the lineage has baselines (with every
 * label escaped), absent without breaking anything for a lineage written before they existed.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Baseline, BaselineName, Lineage } from '../../src/assembly/lineage.js';
import { renderAssemblyReport } from '../../src/report/assembly-report.js';
import { baselineTableLines, describeGapClosed } from '../../src/report/baseline-table.js';
import { renderModelCard } from '../../src/report/model-card.js';
import { lineageFixture, planFixture, WIDE_ID } from './lineage-fixture.js';

const entry = (name: BaselineName, label: string, accuracy: number, objective: number): Baseline => ({
  name,
  label,
  models: [name.startsWith('best') ? WIDE_ID : 'base'],
  objective: {
    objective,
    tasks: lineageFixture.tasks.map((t) => ({ name: t.name, loss: objective, accuracy })),
  },
  report: [{ name: 'fashion-mnist:test', loss: objective + 0.1, accuracy }],
});

const withBaselines: Lineage = {
  ...lineageFixture,
  calibration: {
    kind: 'biases',
    temperature: 1,
    biases: [0.25, -0.25],
    fittedOn: lineageFixture.tasks.map((t) => t.name),
    uncalibrated: { ...lineageFixture.final, sha256: 'a'.repeat(64) },
  },
  baselines: {
    calibration: 'biases',
    report: ['fashion-mnist:test'],
    entries: [
      entry('base', 'base', 0.8, 0.5),
      entry('base-calibrated', 'base, calibrated', 0.82, 0.45),
      entry('best-zoo', `best single zoo model ${WIDE_ID}`, 0.81, 0.48),
      entry('best-zoo-calibrated', `best single zoo model ${WIDE_ID}, calibrated`, 0.83, 0.44),
      entry('ensemble', 'logit ensemble', 0.86, 0.4),
      entry('ensemble-calibrated', 'logit ensemble, calibrated', 0.87, 0.38),
      entry('assembled', 'assembled model (training-free)', 0.84, 0.43),
      entry('assembled-calibrated', 'assembled model, calibrated', 0.85, 0.42),
    ],
    excluded: [{ id: 'gpt<2>', reason: 'no forward pass' }],
    gapClosed: {
      on: 'report',
      assembled: 'assembled-calibrated',
      accuracies: { assembled: 0.85, bestSingle: 0.83, ensemble: 0.87 },
      value: 0.5,
    },
  },
};

describe('baselines in the outputs', () => {
  it('the report has a baselines table with every row, escaped, and the gap closed', () => {
    const html = renderAssemblyReport(withBaselines);
    const section = html.slice(
      html.indexOf('<section id="baselines">'),
      html.indexOf('<section id="objective">'),
    );
    expect(section.match(/<tr/g)?.length).toBe(9);
    expect(section).toContain('best single zoo model mlp&lt;512&gt;&amp;wide, calibrated');
    expect(section).toContain('gpt&lt;2&gt;');
    expect(section).toContain('Gap closed: 0.50');
    expect(section).toContain('85.00%');
    expect(html).toContain('Gap closed (accuracy)');
  });

  it('the model card has the table and the calibration in its front matter', () => {
    const card = renderModelCard(withBaselines, planFixture);
    const front = parseYaml(card.split('---')[1]) as Record<string, Record<string, unknown>>;
    expect(front.calibration.kind).toBe('biases');
    expect(front.baselines.gap_closed).toBe(0.5);
    expect((front.baselines.models as unknown[]).length).toBe(8);
    expect(card).toContain('## Baselines');
    expect(card).toMatch(/\| logit ensemble, calibrated \| 0\.3800 \|/);
  });

  it('a lineage without baselines renders as before', () => {
    expect(renderAssemblyReport(lineageFixture)).not.toContain('id="baselines"');
    expect(renderModelCard(lineageFixture, planFixture)).not.toContain('## Baselines');
  });

  it('the terminal lines and the gap sentence say why there is no gap', () => {
    expect(baselineTableLines(withBaselines.baselines!)).toHaveLength(8 + 3);
    expect(
      describeGapClosed({
        on: 'objective',
        assembled: 'assembled',
        accuracies: { assembled: 0.8, bestSingle: 0.9, ensemble: 0.85 },
        value: null,
      }),
    ).toMatch(/does not beat the best calibrated single model/);
  });
});

const HEALED_SHA = 'c'.repeat(64);

const withHeal: Lineage = {
  ...withBaselines,
  baselines: {
    ...withBaselines.baselines!,
    entries: [
      ...withBaselines.baselines!.entries,
      entry('assembled-healed', 'assembled + heal (training)', 0.86, 0.39),
    ],
    gapClosedHealed: {
      on: 'report',
      assembled: 'assembled-healed',
      accuracies: { assembled: 0.86, bestSingle: 0.83, ensemble: 0.87 },
      value: 0.75,
    },
  },
  heal: {
    status: 'healed',
    trainedBy: 'distillation',
    file: 'model-healed.safetensors',
    options: { steps: 500, batchSize: 128, learningRate: 1e-4, temperature: 1, data: '<unlabelled>&x.arrow' },
    teacher: {
      members: [
        { id: 'base', sha256: 'b'.repeat(64) },
        { id: WIDE_ID, sha256: 'd'.repeat(64) },
      ],
      excluded: [],
      calibration: { kind: 'biases', temperature: 1, biases: [0.1, -0.1] },
    },
    examples: 5000,
    seconds: 12.5,
    loss: { first: 0.3, last: 0.05, min: 0.04, every: 10, history: [{ step: 1, loss: 0.3 }] },
    calibration: { kind: 'biases', temperature: 1, biases: [0.05, -0.05] },
    objective: {
      objective: 0.39,
      tasks: lineageFixture.tasks.map((t) => ({ name: t.name, loss: 0.39, accuracy: 0.86 })),
    },
    report: [{ name: 'fashion-mnist:test', loss: 0.41, accuracy: 0.8612 }],
    sha256: HEALED_SHA,
  },
};

describe('heal in the outputs, always labelled as training', () => {
  it('the report has a heal section apart from the training-free result, and a marked baseline row', () => {
    const html = renderAssemblyReport(withHeal);
    const section = html.slice(html.indexOf('<section id="heal">'), html.indexOf('<section id="objective">'));
    expect(section).toContain('Heal (training)');
    expect(section).toContain('not training-free');
    expect(section).toContain('&lt;unlabelled&gt;&amp;x.arrow');
    expect(section).toContain('mlp&lt;512&gt;&amp;wide');
    expect(section).toContain('86.12%');
    expect(section).toContain(HEALED_SHA);
    const baselines = html.slice(
      html.indexOf('<section id="baselines">'),
      html.indexOf('<section id="heal">'),
    );
    expect(baselines).toContain('assembled + heal (training) <span class="muted">trained by distillation');
    expect(baselines).toContain('Gap closed: 0.50');
    expect(baselines).toContain('Gap closed with heal (training): 0.75');
  });

  it('the model card says the healed file is trained, in its front matter and a section of its own', () => {
    const card = renderModelCard(withHeal, planFixture);
    const front = parseYaml(card.split('---')[1]) as Record<string, Record<string, unknown>>;
    expect(front.heal).toMatchObject({
      status: 'healed',
      trained_by: 'distillation',
      file: 'model-healed.safetensors',
      sha256: HEALED_SHA,
      teacher: ['base', WIDE_ID],
    });
    expect(front.baselines.gap_closed).toBe(0.5);
    expect(front.baselines.gap_closed_with_heal_training).toBe(0.75);
    // The training-free model stays the card's model.
    expect((front.model as Record<string, unknown>).file).toBe('model.safetensors');
    expect(card).toContain('## Heal (training)');
    expect(card).toMatch(/`model-healed.safetensors` is NOT training-free/);
    expect(card).toContain('Gap closed with heal (training): 0.75');
  });

  it('the terminal lines give both gaps', () => {
    const lines = baselineTableLines(withHeal.baselines!);
    expect(lines).toHaveLength(9 + 4);
    expect(lines.some((l) => l.includes('assembled + heal (training)'))).toBe(true);
    expect(lines.filter((l) => l.includes('Gap closed')).map((l) => l.trim().slice(0, 33))).toEqual([
      'Gap closed: 0.50 (accuracy on the',
      'Gap closed with heal (training): ',
    ]);
  });

  it('a skipped heal says why; a lineage without heal has no heal section', () => {
    const skipped: Lineage = {
      ...withBaselines,
      heal: {
        status: 'skipped',
        options: withHeal.heal!.options,
        reason: 'no step accepted a donor <none>',
      },
    };
    expect(renderAssemblyReport(skipped)).toContain('it was skipped: no step accepted a donor &lt;none&gt;.');
    const card = renderModelCard(skipped, planFixture);
    expect(card).toContain('but it was skipped: no step accepted a donor &lt;none>.');
    expect((parseYaml(card.split('---')[1]) as Record<string, unknown>).heal).toEqual({
      status: 'skipped',
      reason: 'no step accepted a donor <none>',
    });
    expect(renderAssemblyReport(withBaselines)).not.toContain('id="heal"');
    expect(renderModelCard(withBaselines, planFixture)).not.toContain('Heal');
  });
});
