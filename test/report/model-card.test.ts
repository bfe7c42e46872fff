import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MODEL_CARD_LIBRARY, renderModelCard } from '../../src/report/model-card.js';
import { lineageFixture, planFixture, SMALL_ID, WIDE_ID } from './lineage-fixture.js';

interface FrontMatterTask {
  name: string;
  data: string;
  metric: string;
  weight: number;
  before: { loss: number; accuracy: number };
  after: { loss: number; accuracy: number };
}

interface FrontMatter {
  library_name: string;
  tags: string[];
  base: { path: string; sha256: string };
  model: { file: string; sha256: string };
  zoo_models: { id: string; sha256: string; steps: number[] }[];
  assembly: { plan: string; backend: string; steps_run: number; steps_accepted: number; options: unknown };
  objective: { before: number; after: number; best_zoo_model: { id: string }; tasks: FrontMatterTask[] };
}

function split(card: string): { front: FrontMatter; body: string } {
  const match = card.match(/^---\n([\s\S]*?)\n---\n([\s\S]*)$/);
  expect(match, 'the card opens with YAML front matter between --- lines').not.toBeNull();
  return { front: parse(match![1]) as FrontMatter, body: match![2] };
}

describe('renderModelCard', () => {
  const card = renderModelCard(lineageFixture, planFixture);
  const { front, body } = split(card);

  it('has front matter that parses as YAML with the library, tags, base and assembled model', () => {
    expect(front.library_name).toBe(MODEL_CARD_LIBRARY);
    expect(front.library_name).toBe('model-assembly');
    expect(front.tags).toContain('model-assembly');
    expect(front.base).toEqual(lineageFixture.base);
    expect(front.model).toEqual({ file: 'model.safetensors', sha256: lineageFixture.final.sha256 });
  });

  it('lists the zoo models used, with their sha256 and steps, and only those', () => {
    const sha = (id: string) => lineageFixture.zoo.find((m) => m.id === id)!.sha256;
    expect(front.zoo_models).toEqual([
      { id: WIDE_ID, sha256: sha(WIDE_ID), steps: [1] },
      { id: SMALL_ID, sha256: sha(SMALL_ID), steps: [2] },
    ]);
  });

  it('says the objective was scored calibrated, and then names no raw best zoo model beside it', () => {
    expect(body).toContain('Objective (lower is better)');
    expect(body).toContain('generalized permutations found by weight matching');
    const calibrated = split(
      renderModelCard(
        {
          ...lineageFixture,
          options: { ...lineageFixture.options, alignment: { match: 'activations' } },
          tasks: lineageFixture.tasks.map((t) => ({ ...t, scoring: 'calibrated' as const })),
        },
        planFixture,
      ),
    ).body;
    expect(calibrated).toContain(
      'Objective as the loop scored it, each model after re-fitting its output biases',
    );
    expect(calibrated).not.toMatch(/The best single zoo model, `/);
    expect(calibrated).toContain('generalized permutations found by matching unit activations');
  });

  it('records the options as run and the objective before and after, per task', () => {
    expect(front.assembly.options).toEqual(lineageFixture.options);
    expect(front.assembly.plan).toBe(lineageFixture.plan);
    expect(front.assembly.steps_run).toBe(3);
    expect(front.assembly.steps_accepted).toBe(2);
    expect(front.objective.before).toBe(lineageFixture.initial.objective);
    expect(front.objective.after).toBe(lineageFixture.final.objective);
    expect(front.objective.best_zoo_model.id).toBe(WIDE_ID);
    expect(front.objective.tasks.map((t) => t.name)).toEqual(['fashion', 'mnist']);
    lineageFixture.tasks.forEach((task, i) => {
      const { name: _b, ...before } = lineageFixture.initial.tasks[i];
      const { name: _a, ...after } = lineageFixture.final.tasks[i];
      expect(front.objective.tasks[i]).toEqual({ ...task, before, after });
    });
  });

  it('describes the steps, says how to evaluate the model and what the numbers do not show', () => {
    expect(body).toContain('# Assembled model');
    expect(body).toContain('From `mlp<512>&wide`, its `fc2` into `fc2` at λ = 0.30 (λ* = 0.60)');
    expect(body).toContain('its `fc2` into `fc3`, its `fc3` into `fc4` at λ = 0.20');
    expect(body).toContain('3. Nothing accepted');
    expect(body).toContain(
      'mal eval model.safetensors --spec spec.json --data fashion-mnist:val --limit 5000',
    );
    expect(body).toContain('mal eval model.safetensors --spec spec.json --data mnist:test\n');
    expect(body).toContain('## Limitations');
    expect(body).toContain('held-out data');
  });

  it('keeps odd ids inert in Markdown: in code spans, whatever backticks they hold', () => {
    const odd = { ...lineageFixture.zoo[0], id: 'a`b<c>' };
    const step = lineageFixture.steps[0];
    const accepted = { ...step.accepted!, candidate: { ...step.accepted!.candidate, model: odd.id } };
    const lineage = {
      ...lineageFixture,
      steps: [{ ...step, accepted }],
      stopReason: 'stopped <early> & *done*',
    };
    const text = renderModelCard(lineage, { ...planFixture, modelFile: 'my model.safetensors' });
    expect(split(text).front.zoo_models[0].id).toBe('a`b<c>');
    expect(text).toContain('From ``a`b<c>``,');
    expect(text).toContain('stopped &lt;early> &amp; \\*done\\*');
    expect(text).toContain("mal eval 'my model.safetensors' --spec spec.json");
  });
});
