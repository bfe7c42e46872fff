import { Document, isScalar, visit } from 'yaml';
import type { AssemblyPlan } from '../assembly/assembly-plan.js';
import type { Evaluated, Lineage, LineageHeal, TaskResult } from '../assembly/lineage.js';
import { baselineTableMarkdown } from './baseline-table.js';
import { comparableBestZoo, scoredCalibrated } from './comparable-best-zoo.js';
import { formatDelta, formatLambda, formatNumber, formatPercent } from './number-format.js';

/** What the card needs from the plan beyond the lineage: where the model lies and how each task was evaluated. */
export type ModelCardPlan = Pick<AssemblyPlan, 'file' | 'output' | 'objective'> & {
  /** The assembled model's file name in the output folder (default model.safetensors). */
  readonly modelFile?: string;
  /** Its architecture spec next to it (default spec.json, as `mal assemble` writes it). */
  readonly specFile?: string;
};

export const MODEL_CARD_LIBRARY = 'model-assembly';
const TAGS = ['model-assembly', 'model-merging', 'layer-transplant', 'weight-interpolation', 'safetensors'];

/**
 * The assembled model's README.md: YAML front matter a model hub or a script can read (base, zoo models used,
 * options, objective per task before and after), then a short account of what was assembled, how to evaluate it
 * and what the numbers do not say.
 */
export function renderModelCard(lineage: Lineage, plan: ModelCardPlan): string {
  const modelFile = plan.modelFile ?? 'model.safetensors';
  const front = yamlText(frontMatter(lineage, modelFile));
  return [`---\n${front}---`, '', ...body(lineage, plan, modelFile), ''].join('\n');
}

/** YAML with lists of plain values on one line (tags, a λ grid), which keeps the front matter short. */
function yamlText(value: Record<string, unknown>): string {
  const document = new Document(value);
  visit(document, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return document.toString({ lineWidth: 0 });
}

function frontMatter(lineage: Lineage, modelFile: string): Record<string, unknown> {
  const used = zooModelsUsed(lineage);
  return {
    library_name: MODEL_CARD_LIBRARY,
    tags: TAGS,
    base: { path: lineage.base.path, sha256: lineage.base.sha256 },
    model: { file: modelFile, sha256: lineage.final.sha256 },
    zoo_models: used.map((m) => ({ id: m.id, sha256: m.sha256, steps: m.steps })),
    assembly: {
      plan: lineage.plan,
      backend: lineage.backend,
      steps_run: lineage.steps.length,
      steps_accepted: lineage.steps.filter((s) => s.accepted !== null).length,
      stop_reason: lineage.stopReason,
      zoo_size: lineage.zoo.length,
      options: lineage.options,
    },
    objective: {
      lower_is_better: true,
      before: lineage.initial.objective,
      after: lineage.final.objective,
      ...(lineage.bestZooModel === undefined
        ? {}
        : { best_zoo_model: { id: lineage.bestZooModel.id, objective: lineage.bestZooModel.objective } }),
      tasks: lineage.tasks.map((task) => ({
        name: task.name,
        data: task.data,
        metric: task.metric,
        weight: task.weight,
        before: taskValues(lineage.initial, task.name),
        after: taskValues(lineage.final, task.name),
      })),
    },
    ...(lineage.calibration === undefined
      ? {}
      : {
          calibration: {
            kind: lineage.calibration.kind,
            temperature: lineage.calibration.temperature,
            biases: lineage.calibration.biases,
            fitted_on: lineage.calibration.fittedOn,
            training_free_objective: lineage.calibration.uncalibrated.objective,
            training_free_sha256: lineage.calibration.uncalibrated.sha256,
          },
        }),
    ...(lineage.heal === undefined ? {} : { heal: healFrontMatter(lineage.heal) }),
    ...(lineage.baselines === undefined
      ? {}
      : {
          baselines: {
            calibration: lineage.baselines.calibration,
            report_data: lineage.baselines.report,
            gap_closed: lineage.baselines.gapClosed.value,
            ...(lineage.baselines.gapClosedHealed === undefined
              ? {}
              : { gap_closed_with_heal_training: lineage.baselines.gapClosedHealed.value }),
            models: lineage.baselines.entries.map((e) => ({
              name: e.name,
              models: e.models,
              objective: e.objective.objective,
              report: e.report.map((r) => ({ data: r.name, loss: r.loss, accuracy: r.accuracy })),
            })),
          },
        }),
  };
}

/** Heal in the front matter: what a script needs to find the healed file and see it is trained. */
function healFrontMatter(heal: LineageHeal): Record<string, unknown> {
  if (heal.status === 'skipped') return { status: 'skipped', reason: heal.reason };
  return {
    status: 'healed',
    trained_by: heal.trainedBy,
    file: heal.file,
    sha256: heal.sha256,
    steps: heal.options.steps,
    learning_rate: heal.options.learningRate,
    temperature: heal.options.temperature,
    data: heal.options.data,
    examples: heal.examples,
    teacher: heal.teacher.members.map((m) => m.id),
    objective: heal.objective.objective,
    report: heal.report.map((r) => ({ data: r.name, loss: r.loss, accuracy: r.accuracy })),
  };
}

/** The card's section on heal: always said to be training, apart from the training-free result above it. */
function healSection(heal: LineageHeal, trainingFree: number): string[] {
  if (heal.status === 'skipped')
    return [
      '',
      '## Heal (training)',
      '',
      `The plan asked for heal, but it was skipped: ${prose(heal.reason)}.`,
    ];
  const members = heal.teacher.members.map((m) => code(m.id)).join(', ');
  return [
    '',
    '## Heal (training)',
    '',
    `${code(heal.file)} is NOT training-free: it is the model above (${code('model.safetensors')}) trained by distillation for ${heal.options.steps} Adam steps (learning rate ${heal.options.learningRate}, batch ${heal.options.batchSize}, temperature ${heal.options.temperature}) to match the calibrated logit ensemble of ${members} on ${heal.examples} unlabelled examples of ${code(heal.options.data)}${heal.calibration === undefined ? '' : `, then its output ${heal.calibration.kind === 'biases' ? 'biases' : 'temperature and biases'} re-fitted on the objective data`}. Distillation loss ${formatNumber(heal.loss.first)} → ${formatNumber(heal.loss.last)}; objective ${formatNumber(heal.objective.objective)}, against ${formatNumber(trainingFree)} for the training-free ${code('model.safetensors')}.`,
    '',
    '| Data | Loss | Accuracy |',
    '| --- | ---: | ---: |',
    ...[...heal.objective.tasks, ...heal.report].map(
      (r) => `| ${cell(r.name)} | ${formatNumber(r.loss)} | ${formatPercent(r.accuracy)} |`,
    ),
  ];
}

function taskValues(evaluated: Evaluated, name: string): Omit<TaskResult, 'name'> | null {
  const result = evaluated.tasks.find((t) => t.name === name);
  return result === undefined ? null : { loss: result.loss, accuracy: result.accuracy };
}

interface UsedZooModel {
  readonly id: string;
  readonly sha256: string;
  readonly steps: number[];
}

/** The zoo models at least one accepted step took layers from, in the order first used. */
function zooModelsUsed(lineage: Lineage): UsedZooModel[] {
  const byId = new Map<string, UsedZooModel>();
  lineage.steps.forEach((step, i) => {
    if (step.accepted === null) return;
    const { model, modelSha256 } = step.accepted.candidate;
    const entry = byId.get(model) ?? { id: model, sha256: modelSha256, steps: [] };
    entry.steps.push(i + 1);
    byId.set(model, entry);
  });
  return [...byId.values()];
}

function body(lineage: Lineage, plan: ModelCardPlan, modelFile: string): string[] {
  const accepted = lineage.steps.filter((s) => s.accepted !== null);
  const used = zooModelsUsed(lineage);
  const best = comparableBestZoo(lineage);
  const lines = [
    '# Assembled model',
    '',
    `This is the base model ${code(lineage.base.path)} with layers merged in from ${used.length} of the ${lineage.zoo.length} models of a zoo, over ${accepted.length} accepted step${accepted.length === 1 ? '' : 's'} of Model Assembly Learning (plan ${code(lineage.plan)}, backend ${code(lineage.backend)}). Each step mapped a zoo model's layers into the base's frame (generalized permutations found by ${alignmentMatch(lineage) === 'activations' ? 'matching unit activations' : 'weight matching'}; where widths differ, units are padded or dropped), then interpolated them into the base's weights by λ (0 keeps the base, 1 takes the zoo layer), choosing λ along a grid on the objective.`,
    '',
    `${scoredCalibrated(lineage) ? 'Objective as the loop scored it, each model after re-fitting its output biases on the task data (lower is better; the baselines below give raw and calibrated values)' : 'Objective (lower is better)'}: ${formatNumber(lineage.initial.objective)} → ${formatNumber(lineage.final.objective)} (${formatDelta(lineage.final.objective - lineage.initial.objective)}).${
      best === undefined
        ? ''
        : ` The ${best.label}, ${code(best.id)}, scores ${formatNumber(best.evaluated.objective)}.`
    } The run stopped: ${prose(lineage.stopReason)}.${
      lineage.calibration === undefined || scoredCalibrated(lineage)
        ? ''
        : ` At the end the output layer was calibrated (${lineage.calibration.kind === 'biases' ? 'its biases' : 'a temperature and its biases'} re-fitted on the objective data); without it, the training-free result scores ${formatNumber(lineage.calibration.uncalibrated.objective)}.`
    }`,
    '',
    '## Steps',
    '',
    ...lineage.steps.map((step, i) => {
      if (step.accepted === null) {
        return `${i + 1}. Nothing accepted: none of ${step.scored.length} scored candidates improved the objective (${formatNumber(step.objectiveBefore)}).`;
      }
      const { candidate, lambda, threshold } = step.accepted;
      const pairs = candidate.layers
        .map((layer, k) => `its ${code(layer)} into ${code(candidate.baseLayers[k] ?? '?')}`)
        .join(', ');
      return `${i + 1}. From ${code(candidate.model)}, ${pairs} at λ = ${formatLambda(lambda)} (λ* = ${formatLambda(threshold)}); objective ${formatNumber(step.objectiveBefore)} → ${formatNumber(step.objectiveAfter)}.`;
    }),
    '',
    '## Results',
    '',
    '| Task | Data | Metric | Weight | Loss before | Loss after | Accuracy before | Accuracy after |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...lineage.tasks.map((task) => {
      const before = taskValues(lineage.initial, task.name);
      const after = taskValues(lineage.final, task.name);
      return `| ${cell(task.name)} | ${code(task.data).replace(/\|/g, '\\|')} | ${task.metric} | ${formatNumber(task.weight, 2)} | ${before ? formatNumber(before.loss) : '—'} | ${after ? formatNumber(after.loss) : '—'} | ${before ? formatPercent(before.accuracy) : '—'} | ${after ? formatPercent(after.accuracy) : '—'} |`;
    }),
    ...(lineage.baselines === undefined
      ? []
      : [
          '',
          '## Baselines',
          '',
          'What the result is judged against: the base, the best single zoo model and the logit ensemble (mean of logits) of the base and the zoo, each as it is and calibrated, beside the assembled model.',
          '',
          ...baselineTableMarkdown(lineage.baselines, cell),
        ]),
    ...(lineage.heal === undefined ? [] : healSection(lineage.heal, lineage.final.objective)),
    '',
    '## Evaluate it',
    '',
    'From this folder, on each task of the objective:',
    '',
    '```sh',
    ...evalCommands(lineage, plan, modelFile),
    '```',
    '',
    `The run's report (\`report.html\`) and lineage (\`lineage.json\`) sit next to this file; the lineage records every step, with the hashes of the models, maps and states, so the run can be audited and replayed from ${code(plan.file)}.`,
    '',
    '## Limitations',
    '',
    '- The numbers above were measured on the same data that chose each step and λ, so they flatter the model: evaluate it on held-out data (a test split) before relying on them.',
    "- Only the objective's tasks were measured. Any floor in the plan bounds those tasks only; behaviour on other data is unknown.",
    '- The merged layers are interpolated, not trained: weight matching pairs units approximately, unmatched units are padded or dropped, and λ comes from a grid. Fine-tuning may recover more.',
    "- The model keeps the base's architecture; layers a zoo model has and the base lacks are not added.",
    '- It combines weights of the zoo models listed in the front matter: their licences and the terms of their training data apply.',
  ];
  return lines;
}

function evalCommands(lineage: Lineage, plan: ModelCardPlan, modelFile: string): string[] {
  const specFile = plan.specFile ?? 'spec.json';
  const seen = new Set<string>();
  const commands: string[] = [];
  const tasks = plan.objective.tasks.length > 0 ? plan.objective.tasks : lineage.tasks;
  for (const task of tasks) {
    const limit = 'limit' in task && typeof task.limit === 'number' ? ` --limit ${task.limit}` : '';
    const command = `mal eval ${shellWord(modelFile)} --spec ${shellWord(specFile)} --data ${shellWord(task.data)}${limit}`;
    if (seen.has(command)) continue;
    seen.add(command);
    commands.push(command);
  }
  return commands;
}

/** A word the shell passes through unchanged: bare when it is safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An inline code span that holds any text: the fence is longer than any run of backticks inside it. */
function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Free text from the lineage as Markdown text: no markup, no emphasis, no links. */
function prose(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/([\\`*_[\]])/g, '\\$1');
}

/** A table cell's text: pipes would split the cell, and markup must stay text. */
function cell(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

/** The alignment's cost as the run recorded it; weights for lineages from before activation matching. */
function alignmentMatch(lineage: Lineage): string {
  const alignment = lineage.options.alignment;
  if (typeof alignment !== 'object' || alignment === null) return 'weights';
  const match = (alignment as { match?: unknown }).match;
  return typeof match === 'string' ? match : 'weights';
}
