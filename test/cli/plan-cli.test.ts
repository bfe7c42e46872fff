import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-plan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal plan', () => {
  it('prints the JSON Schema of plans, and with --spec that of spec files, as shipped in docs/schema', async () => {
    const { readFile } = await import('node:fs/promises');
    const plan = await runMal(['plan', 'schema']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toEqual(
      JSON.parse(await readFile(join(root, 'docs/schema/plan.schema.json'), 'utf8')),
    );
    const spec = await runMal(['plan', 'schema', '--spec']);
    expect(JSON.parse(spec.stdout)).toEqual(
      JSON.parse(await readFile(join(root, 'docs/schema/spec.schema.json'), 'utf8')),
    );
  });

  it('checks the demo plan without running it', async () => {
    const run = await runMal(['plan', 'check', join(root, 'examples/demo-plan.yaml')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/is valid: .* 8 donor model\(s\) from the zoo, 1 left out/);
  });

  it('names the file, line and field of a bad plan and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      `base: ${join(root, 'zoo/demo/models/base-mlp-h128x128-fmnist-weak.safetensors')}\nzoo: ${join(root, 'zoo/demo')}\nobjective:\n  tasks: [{data: fashion-mnist:val, metric: loss}]\nmerge: {method: ties}\n`,
    );
    const run = await runMal(['plan', 'check', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad\.yaml:5: merge\.method: .*give merge\.ancestor/);
  });

  it("checks merge.ancestor: readable, with the base's tensors and shapes", async () => {
    const models = join(root, 'zoo/demo/models');
    const plan = (ancestor: string) =>
      `base: ${join(models, 'base-mlp-h128x128-fmnist-weak.safetensors')}\nzoo: ${join(root, 'zoo/demo')}\nobjective:\n  tasks: [{data: fashion-mnist:val, metric: loss}]\nmerge:\n  method: task-arithmetic\n  ancestor: ${ancestor}\n`;
    const wide = join(dir, 'wide-ancestor.yaml');
    await writeFile(wide, plan(join(models, 'mlp-h256x256-s1-fmnist.safetensors')));
    const wrong = await runMal(['plan', 'check', wide]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /wide-ancestor\.yaml:7: merge\.ancestor: .*has shape \[256, 784\], the base's is \[128, 784\]/,
    );
    const missing = join(dir, 'missing-ancestor.yaml');
    await writeFile(missing, plan(join(dir, 'nowhere.safetensors')));
    const none = await runMal(['plan', 'check', missing]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/missing-ancestor\.yaml:7: merge\.ancestor: cannot read the ancestor/);
    const same = join(dir, 'same-ancestor.yaml');
    await writeFile(same, plan(join(models, 'mlp-h128x128-s1-fmnist.safetensors')));
    const fine = await runMal(['plan', 'check', same]);
    expect(fine.code, fine.stderr).toBe(0);
  });
});
