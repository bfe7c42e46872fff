/**
 * The assemblies of one replicate: the plan issue 10 asks for (base, zoo, objective, candidate policy and the
 * report data, every other field at its default), the same plan with heal (teacher: the whole zoo), and the
 * optional variants.
 * A run whose lineage.json exists is finished and kept; the CLI refuses to overwrite an output, and a folder
 * without one is a killed run the CLI resumes from its store.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { type AssemblyVariant, REPORT_DATA, type ReplicateLayout } from './design.js';
import { readJsonIfPresent } from './json-file.js';
import { MalCommandError, type MalRunner } from './mal-process.js';
import type { Progress } from './prepare-zoos.js';

export function planOf(layout: ReplicateLayout, variant: AssemblyVariant): Record<string, unknown> {
  return {
    base: layout.baseModel,
    zoo: layout.zoo,
    objective: { tasks: [{ data: layout.holdout, metric: 'loss' }] },
    candidates: { policy: 'same-depth' },
    ...fieldsOf(layout, variant),
    report: [REPORT_DATA],
    output: layout.run(variant.name),
  };
}

function fieldsOf(layout: ReplicateLayout, variant: AssemblyVariant): Record<string, unknown> {
  return typeof variant.fields === 'function' ? variant.fields(layout) : { ...variant.fields };
}

async function writePlan(layout: ReplicateLayout, variant: AssemblyVariant): Promise<string> {
  const file = layout.plan(variant.name);
  await mkdir(dirname(file), { recursive: true });
  const header = `# The split experiment (scripts/experiment-splits.ts), ${layout.label}: ${variant.label}.\n`;
  await writeFile(file, header + stringify(planOf(layout, variant)));
  return file;
}

/** Whether this checkout's plan schema takes a field: asked of `mal plan check`, never assumed. */
export type Availability =
  | { readonly available: true }
  | { readonly available: false; readonly reason: string };

/**
 * Checks the variant's plan with `mal plan check`. A refusal that names one of the variant's own fields means
 * this checkout does not have that feature; any other refusal is a real error and is thrown.
 */
export async function variantAvailability(
  layout: ReplicateLayout,
  variant: AssemblyVariant,
  mal: MalRunner,
): Promise<Availability> {
  const plan = await writePlan(layout, variant);
  const args = ['plan', 'check', plan];
  const result = await mal.try(args);
  if (result.code === 0) return { available: true };
  const fields = Object.keys(fieldsOf(layout, variant));
  const line = result.stderr.split('\n').find((l) => fields.some((f) => l.includes(f)));
  if (line === undefined) throw new MalCommandError(args, result.code, result.stderr);
  // The reason without this machine's paths: "plan:10: heal: unknown key 'heal' (…)".
  const reason = line
    .trim()
    .replace(/^mal plan check: /, '')
    .replaceAll(plan, 'plan');
  return { available: false, reason };
}

/** Runs the variant's assembly unless its lineage.json is there; returns the output folder. */
export async function runAssembly(
  layout: ReplicateLayout,
  variant: AssemblyVariant,
  mal: MalRunner,
  progress: Progress,
): Promise<string> {
  const output = layout.run(variant.name);
  if ((await readJsonIfPresent(join(output, 'lineage.json'))) !== undefined) {
    progress(`${layout.label}: ${variant.label} already assembled`);
    return output;
  }
  const plan = await writePlan(layout, variant);
  progress(`${layout.label}: ${variant.label}: mal assemble ${plan}`);
  const started = performance.now();
  await mal.check(['assemble', plan]);
  progress(
    `${layout.label}: ${variant.label}: done in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return output;
}
