import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import type { AssemblyResult } from '../../src/assembly/run-assembly.js';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { writeFileAtomic } from '../../src/io/atomic-file.js';
import { renderAssemblyReport } from '../../src/report/assembly-report.js';
import { renderModelCard } from '../../src/report/model-card.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { serializeSpec } from '../../src/spec/spec-file.js';

/** The files of an output folder, written exactly as `mal assemble` writes them. */
export interface AssemblyOutputFiles {
  readonly model: string;
  readonly report: string;
}

export async function writeAssemblyOutputs(
  output: string,
  result: AssemblyResult,
  plan: AssemblyPlan,
  baseSpec: ArchitectureSpec,
): Promise<AssemblyOutputFiles> {
  await mkdir(output, { recursive: true });
  const model = join(output, 'model.safetensors');
  await writeFileAtomic(model, result.model);
  await writeFileAtomic(join(output, 'spec.json'), serializeSpec(baseSpec));
  await writeFileAtomic(join(output, 'lineage.json'), `${JSON.stringify(result.lineage, null, 2)}\n`);
  await writeFileAtomic(join(output, 'README.md'), renderModelCard(result.lineage, plan));
  const report = join(output, 'report.html');
  await writeFileAtomic(
    report,
    renderAssemblyReport(result.lineage, { baseLayers: transplantUnits(baseSpec).map((u) => u.name) }),
  );
  return { model, report };
}
