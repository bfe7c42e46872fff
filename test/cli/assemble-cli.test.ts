/**
 * `mal assemble` end to end on the shipped demo zoo: outputs, a plan error, and the resume guarantee — a run killed
 * with SIGKILL mid-way and started again ends with the same bytes as a run never interrupted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { writeDemoPlan } from '../support/demo-plan.js';
import { malArgv, root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

function events(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const mal = (...args: string[]) => runMal(args);

let dir: string;
let plan: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-assemble-'));
  plan = await writeDemoPlan(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal assemble', () => {
  it('improves the demo base and writes model, spec, lineage, model card and report', async () => {
    const out = join(dir, 'a');
    const run = await mal('assemble', plan, '--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(join(out, 'model.safetensors'));
    expect(run.stdout).toContain(join(out, 'report.html'));
    expect(run.stdout).toMatch(/objective \(lower is better\)/);
    expect(run.stdout).toMatch(/best single zoo model/);
    const lineage = JSON.parse(await readFile(join(out, 'lineage.json'), 'utf8'));
    expect(lineage.final.objective).toBeLessThan(lineage.initial.objective);
    expect(lineage.steps.length).toBeGreaterThan(0);
    expect(lineage.steps[0].accepted).not.toBeNull();
    const card = await readFile(join(out, 'README.md'), 'utf8');
    const frontMatter = parseYaml(card.split('---')[1]);
    expect(frontMatter).toBeTypeOf('object');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<svg');
    expect(JSON.parse(await readFile(join(out, 'spec.json'), 'utf8')).family).toBe('mlp');
    // Calibrated by default: the written model is the calibrated one, the training-free result is kept.
    expect(lineage.calibration.kind).toBe('biases');
    expect(lineage.final.sha256).toBe(
      createHash('sha256')
        .update(await readFile(join(out, 'model.safetensors')))
        .digest('hex'),
    );
    expect(lineage.final.objective).toBeLessThanOrEqual(lineage.calibration.uncalibrated.objective);
    expect(lineage.baselines.entries).toHaveLength(8);
    expect(run.stdout).toMatch(/baselines \(calibrated = output biases/);
    expect(run.stdout).toMatch(/Gap closed: /);
    expect(card).toContain('## Baselines');
  });

  it('evaluates the report data for every baseline, and it changes no step', async () => {
    const withReport = join(dir, 'report.yaml');
    await writeFile(
      withReport,
      `${(await readFile(plan, 'utf8')).replace('steps: 3', 'steps: 1')}report: [fashion-mnist:test]\ncalibrate: temperature-biases\n`,
    );
    const out = join(dir, 'r');
    const run = await mal('assemble', withReport, '--out', out);
    expect(run.code, run.stderr).toBe(0);
    const lineage = JSON.parse(await readFile(join(out, 'lineage.json'), 'utf8'));
    const reference = JSON.parse(await readFile(join(dir, 'a', 'lineage.json'), 'utf8'));
    expect(lineage.steps).toHaveLength(1);
    expect(lineage.steps[0].stateAfter).toBe(reference.steps[0].stateAfter);
    expect(lineage.baselines.report).toEqual(['fashion-mnist:test']);
    expect(lineage.baselines.gapClosed.on).toBe('report');
    for (const entry of lineage.baselines.entries) {
      expect(entry.report).toHaveLength(1);
      expect(entry.report[0].accuracy).toBeGreaterThan(0.1);
    }
    // Zoo models of every family the forward pass runs join the ensemble (the demo zoo has CNNs).
    const ensemble = lineage.baselines.entries.find((e: { name: string }) => e.name === 'ensemble');
    expect(ensemble.models.some((m: string) => m.startsWith('cnn-'))).toBe(true);
    expect(run.stdout).toMatch(/fashion-mnist:test: loss/);
  });

  it('heals when the plan asks, writing model-healed.safetensors apart; a later run without heal unlinks it', async () => {
    const healing = join(dir, 'heal.yaml');
    const oneStep = (await readFile(plan, 'utf8')).replace('steps: 3', 'steps: 1');
    await writeFile(healing, `${oneStep}heal: {steps: 20, examples: 300, learningRate: 0.0003}\n`);
    const out = join(dir, 'h');
    const run = await mal('assemble', healing, '--out', out);
    expect(run.code, run.stderr).toBe(0);
    const lineage = JSON.parse(await readFile(join(out, 'lineage.json'), 'utf8'));
    const reference = JSON.parse(await readFile(join(dir, 'a', 'lineage.json'), 'utf8'));
    // Heal runs after the loop: the step and the training-free model are those of a run without it.
    expect(lineage.steps[0].stateAfter).toBe(reference.steps[0].stateAfter);
    const healed = await readFile(join(out, 'model-healed.safetensors'));
    expect(lineage.heal.status).toBe('healed');
    expect(lineage.heal.sha256).toBe(createHash('sha256').update(healed).digest('hex'));
    expect(lineage.heal.options).toEqual({
      steps: 20,
      batchSize: 128,
      learningRate: 0.0003,
      temperature: 2,
      data: 'fashion-mnist:val',
      examples: 300,
      teacher: 'accepted',
    });
    expect(lineage.heal.examples).toBe(300);
    expect(lineage.heal.teacher.members[0].id).toBe('base');
    expect(lineage.heal.teacher.members.map((m: { id: string }) => m.id)).toContain(
      lineage.steps[0].accepted.candidate.model,
    );
    expect(lineage.final.sha256).toBe(
      createHash('sha256')
        .update(await readFile(join(out, 'model.safetensors')))
        .digest('hex'),
    );
    expect(lineage.baselines.entries.map((e: { name: string }) => e.name)).toContain('assembled-healed');
    expect(run.stdout).toMatch(/assembled \+ heal \(training\)\s+\d/);
    expect(run.stdout).toMatch(/Gap closed with heal \(training\): /);
    expect(run.stdout).toContain(join(out, 'model-healed.safetensors'));
    const card = await readFile(join(out, 'README.md'), 'utf8');
    expect(card).toContain('## Heal (training)');
    expect(parseYaml(card.split('---')[1]).heal.trained_by).toBe('distillation');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<section id="heal">');

    const withoutHeal = join(dir, 'one-step.yaml');
    await writeFile(withoutHeal, oneStep);
    const again = await mal('assemble', withoutHeal, '--out', out);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(out, 'model-healed.safetensors'))).toBe(false);
    expect(JSON.parse(await readFile(join(out, 'lineage.json'), 'utf8')).heal).toBeUndefined();
  });

  it('resumes after SIGKILL and ends with the same bytes as an uninterrupted run', async () => {
    const reference = await readFile(join(dir, 'a', 'model.safetensors'));
    const out = join(dir, 'b');
    // Kill the run as soon as its first step is stored.
    const killed = await new Promise<{ signal: NodeJS.Signals | null; steps: number }>((resolve) => {
      // A real process (test/support/mal-cli.ts), to be killed.
      const child: ChildProcess = spawn(
        process.execPath,
        [...malArgv, 'assemble', plan, '--out', out, '--json'],
        {
          cwd: root,
        },
      );
      let buffer = '';
      let steps = 0;
      child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (line.includes('"step-finished"')) {
            steps++;
            child.kill('SIGKILL');
          }
        }
      });
      child.on('exit', (_code, signal) => resolve({ signal, steps }));
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.steps).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);

    const resumed = await mal('assemble', plan, '--out', out, '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    const finished = events(resumed.stdout).filter((e) => e.event === 'step-finished');
    expect(finished[0].resumed).toBe(true);
    expect(Buffer.compare(await readFile(join(out, 'model.safetensors')), reference)).toBe(0);
  });

  it('leaves out a zoo model with non-finite weights, records why in the lineage, and goes on', async () => {
    const zoo = join(dir, 'poisoned-zoo');
    const good = join(root, 'zoo/demo/models/mlp-h128x128-s1-fmnist.safetensors');
    const poisoned = join(dir, 'poisoned.safetensors');
    const { SafetensorsReader } = await import('../../src/io/safetensors-reader.js');
    const { writeSafetensorsTensors } = await import('../../src/io/safetensors-writer.js');
    const reader = await SafetensorsReader.open(
      join(root, 'zoo/demo/models/mlp-h64x64-s1-fmnist.safetensors'),
    );
    const tensors = new Map();
    for (const name of reader.tensorNames()) tensors.set(name, await reader.read(name));
    await reader.close();
    const w = tensors.get('layers.1.weight');
    const bytes = Uint8Array.from(w.bytes);
    new DataView(bytes.buffer).setUint16(6, 0x7e00, true); // an F16 NaN in the fourth entry
    tensors.set('layers.1.weight', { ...w, bytes });
    await writeSafetensorsTensors(poisoned, tensors);
    for (const [model, id] of [
      [good, 'good'],
      [poisoned, 'poisoned'],
    ]) {
      const added = await mal('zoo', 'add', model, '--zoo', zoo, '--id', id);
      expect(added.code, added.stderr).toBe(0);
    }
    const zooPlan = join(dir, 'zoo-plan.yaml');
    await writeFile(
      zooPlan,
      (await readFile(plan, 'utf8')).replace(/^zoo: .*$/m, `zoo: ${zoo}`).replace('steps: 3', 'steps: 1'),
    );
    const out = join(dir, 'poisoned-run');
    const run = await mal('assemble', zooPlan, '--out', out);
    expect(run.code, run.stderr).toBe(0);
    // The user hears of it as it happens, not only in the lineage.
    expect(run.stderr).toMatch(/skipped poisoned: .*'layers\.1\.weight'.*NaN/);
    const lineage = JSON.parse(await readFile(join(out, 'lineage.json'), 'utf8'));
    expect(lineage.zoo.map((z: { id: string }) => z.id)).toEqual(['good']);
    expect(lineage.skipped).toHaveLength(1);
    expect(lineage.skipped[0].id).toBe('poisoned');
    expect(lineage.skipped[0].reason).toContain("'layers.1.weight'");
    expect(lineage.skipped[0].reason).toContain('NaN');
    expect(lineage.final.objective).toBeLessThan(lineage.initial.objective);
  });

  it('rejects a plan with an unknown key before any work, naming the line', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, `${await readFile(plan, 'utf8')}colour: blue\n`);
    const out = join(dir, 'never');
    const run = await mal('assemble', bad, '--out', out);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad\.yaml:\d+: .*colour/);
    expect(existsSync(out)).toBe(false);
  });
});
