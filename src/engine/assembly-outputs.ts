import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssemblyPlan } from '../assembly/assembly-plan.js';
import type { AssemblyResult } from '../assembly/run-assembly.js';
import { transplantUnits } from '../assembly/transplant-units.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { renderAssemblyReport } from '../report/assembly-report.js';
import { renderModelCard } from '../report/model-card.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { serializeSpec } from '../spec/spec-file.js';

export interface AssemblyOutputPaths {
  readonly model: string;
  readonly report: string;
  readonly lineage: string;
}

/**
 * The output folder of a run: the assembled model (the state's exact bytes, so its sha256 is the lineage's final
 * hash), its spec, lineage.json, a model card and the HTML report. Each file is written atomically.
 */
export async function writeAssemblyOutputs(
  output: string,
  result: AssemblyResult,
  spec: ArchitectureSpec,
  plan: AssemblyPlan,
): Promise<AssemblyOutputPaths> {
  await mkdir(output, { recursive: true });
  const paths = {
    model: join(output, 'model.safetensors'),
    report: join(output, 'report.html'),
    lineage: join(output, 'lineage.json'),
  };
  await writeFileAtomic(paths.model, result.model);
  await writeFileAtomic(join(output, 'spec.json'), serializeSpec(spec));
  await writeFileAtomic(paths.lineage, `${JSON.stringify(result.lineage, null, 2)}\n`);
  await writeFileAtomic(join(output, 'README.md'), renderModelCard(result.lineage, plan));
  await writeFileAtomic(
    paths.report,
    renderAssemblyReport(result.lineage, { baseLayers: transplantUnits(spec).map((u) => u.name) }),
  );
  return paths;
}
