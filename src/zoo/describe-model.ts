import { MalError } from '../errors.js';
import { loadModel } from '../model/load-model.js';
import type { ArchitectureFamily } from '../spec/architecture-spec.js';

export type ModelDescription =
  | {
      readonly readable: true;
      readonly family: ArchitectureFamily;
      /** Width of every space, in the spec's network order. */
      readonly widths: { readonly [space: string]: number };
      /** The safetensors `__metadata__` (of the first shard). */
      readonly metadata: Readonly<Record<string, string>>;
    }
  | { readonly readable: false; readonly reason: string };

/**
 * What the project can tell about a model file: its family and space widths, or why it cannot read it. Only the
 * project's own errors (bad file, underivable spec) make a model unreadable; anything else is a bug and is thrown.
 */
export async function describeModel(path: string): Promise<ModelDescription> {
  let model: Awaited<ReturnType<typeof loadModel>>;
  try {
    model = await loadModel(path);
  } catch (error) {
    if (error instanceof MalError) return { readable: false, reason: error.message };
    throw error;
  }
  try {
    const widths: Record<string, number> = {};
    for (const space of model.spec.spaces) widths[space.name] = model.widths.get(space.name)!;
    return { readable: true, family: model.spec.family, widths, metadata: model.source.metadata };
  } finally {
    await model.source.close();
  }
}
