import { join } from 'node:path';
import type { AssemblyPlan } from '../assembly/assembly-plan.js';
import { HEALED_MODEL_FILE } from '../assembly/heal.js';
import type { AssemblyResult } from '../assembly/run-assembly.js';
import { transplantUnits } from '../assembly/transplant-units.js';
import { parseDataSource } from '../data/data-source.js';
import { validationFileCandidates } from '../data/fashion-mnist-val.js';
import { parseTextSource } from '../data/text-source.js';
import { MalError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { withOutputFolderLock } from '../io/output-folder-lock.js';
import { checkOutputFolder, filesIn, modelInputFiles, type RunInput } from '../io/output-guard.js';
import { cleanOutputFolder, stageOutputSet } from '../io/output-set.js';
import { renderAssemblyReport } from '../report/assembly-report.js';
import { renderModelCard } from '../report/model-card.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { serializeSpec } from '../spec/spec-file.js';
import { ZOO_MODELS_FOLDER } from '../zoo/zoo-folder.js';
import { zooManifestPath } from '../zoo/zoo-manifest.js';

export interface AssemblyOutputPaths {
  readonly model: string;
  /** The healed model (training), when the plan heals and heal was not skipped. */
  readonly healedModel?: string;
  readonly report: string;
  readonly lineage: string;
}

/** The files of a run's output folder, published as one set (src/io/output-set.ts). */
export const ASSEMBLY_OUTPUT_FILES = [
  'model.safetensors',
  'spec.json',
  'lineage.json',
  'README.md',
  'report.html',
] as const;

/** Written into the same set only when the plan heals. */
export const ASSEMBLY_OPTIONAL_FILES = [HEALED_MODEL_FILE] as const;

/** The step store's folder inside the output folder. */
export const ASSEMBLY_STORE_FOLDER = 'store';

/** What a run reads, so that its outputs can be kept from replacing any of it. */
async function assemblyInputs(plan: AssemblyPlan): Promise<{ files: RunInput[]; folders: RunInput[] }> {
  const files = [...(await modelInputFiles(plan.base, 'the base model'))];
  if (plan.merge.ancestor !== undefined)
    files.push(...(await modelInputFiles(plan.merge.ancestor, 'the ancestor')));
  files.push({ path: zooManifestPath(plan.zoo.path), role: 'the zoo manifest' });
  files.push(...(await filesIn(join(plan.zoo.path, ZOO_MODELS_FOLDER), 'a zoo model')));
  const data = [
    ...plan.objective.tasks.map((task) => ({ data: task.data, role: `task '${task.data}'` })),
    ...plan.report.map((report) => ({ data: report, role: `report '${report}'` })),
    ...(plan.statistics.data === undefined ? [] : [{ data: plan.statistics.data, role: 'statistics.data' }]),
    ...(plan.heal === false || plan.heal.data === undefined
      ? []
      : [{ data: plan.heal.data, role: 'heal.data' }]),
  ];
  for (const { data: text, role } of data) {
    if (isTextData(text)) {
      const source = parseTextSource(text);
      if (source.kind !== 'fortunes') files.push({ path: source.path, role: `the data of ${role}` });
      continue;
    }
    const source = parseDataSource(text);
    if (source.kind === 'arrow') files.push({ path: source.path, role: `the data of ${role}` });
    if (source.kind === 'fashion-mnist-val') {
      for (const path of validationFileCandidates())
        files.push({ path, role: 'the data of fashion-mnist:val' });
    }
  }
  return { files, folders: [{ path: plan.zoo.path, role: 'the zoo folder' }] };
}

/** Whether a validated plan's data source is text (the plan schema let it through as a text source). */
function isTextData(text: string): boolean {
  try {
    parseDataSource(text);
    return false;
  } catch (error) {
    if (error instanceof MalError) return true;
    throw error;
  }
}

/**
 * Refuses, before any work starts, an output folder that is a file, holds inputs of the run (the base model's
 * folder, the zoo, a data file's folder), or whose output names would replace an input (by any name: a hard link
 * or a symbolic link to the base is caught).
 */
export async function checkAssemblyOutput(plan: AssemblyPlan): Promise<void> {
  const { files, folders } = await assemblyInputs(plan);
  await checkOutputFolder(
    plan.output,
    [...ASSEMBLY_OUTPUT_FILES, ...ASSEMBLY_OPTIONAL_FILES],
    files,
    folders,
  );
}

/**
 * Removes what a killed run left in an output folder: unpublished output sets and the temporaries of the
 * atomic-file layer, in the folder and in the step store's folders (the store writes through that layer too).
 * The caller holds the folder's lock (withOutputFolderLock), so no living writer's set is among them.
 */
export async function cleanAssemblyOutput(output: string): Promise<void> {
  await cleanOutputFolder(output);
  await cleanOutputFolder(join(output, ASSEMBLY_STORE_FOLDER, 'objects'));
  await cleanOutputFolder(join(output, ASSEMBLY_STORE_FOLDER, 'steps'));
}

/**
 * The output folder of a run: the assembled model (the state's exact bytes, so its sha256 is the lineage's final
 * hash), its spec, lineage.json, a model card and the HTML report, and the healed model when the plan heals. They
 * are written into a staging folder and published together, so a reader never sees a new model beside an older
 * run's lineage or report; a healed model an earlier run left is unlinked when this run writes none. Takes the
 * folder's lock for the write (src/io/output-folder-lock.ts): while another process writes there, this fails.
 */
export async function writeAssemblyOutputs(
  output: string,
  result: AssemblyResult,
  spec: ArchitectureSpec,
  plan: AssemblyPlan,
): Promise<AssemblyOutputPaths> {
  return withOutputFolderLock(output, () => publishAssemblyOutputs(output, result, spec, plan));
}

/** writeAssemblyOutputs for a caller that holds the folder's lock already (a run that holds it throughout). */
export async function publishAssemblyOutputs(
  output: string,
  result: AssemblyResult,
  spec: ArchitectureSpec,
  plan: AssemblyPlan,
): Promise<AssemblyOutputPaths> {
  await cleanOutputFolder(output);
  const set = await stageOutputSet(output);
  try {
    await writeFileAtomic(set.path('model.safetensors'), result.model);
    await writeFileAtomic(set.path('spec.json'), serializeSpec(spec));
    await writeFileAtomic(set.path('lineage.json'), `${JSON.stringify(result.lineage, null, 2)}\n`);
    await writeFileAtomic(set.path('README.md'), renderModelCard(result.lineage, plan));
    await writeFileAtomic(
      set.path('report.html'),
      renderAssemblyReport(result.lineage, { baseLayers: transplantUnits(spec).map((u) => u.name) }),
    );
    if (result.healedModel !== undefined)
      await writeFileAtomic(set.path(HEALED_MODEL_FILE), result.healedModel);
    await set.publish(
      result.healedModel === undefined
        ? ASSEMBLY_OUTPUT_FILES
        : [...ASSEMBLY_OUTPUT_FILES, HEALED_MODEL_FILE],
      ASSEMBLY_OPTIONAL_FILES,
    );
  } catch (error) {
    await set.discard();
    throw error;
  }
  return {
    model: join(output, 'model.safetensors'),
    ...(result.healedModel === undefined ? {} : { healedModel: join(output, HEALED_MODEL_FILE) }),
    report: join(output, 'report.html'),
    lineage: join(output, 'lineage.json'),
  };
}
