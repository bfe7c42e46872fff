import type { ModelInMemory } from '../../src/assembly/candidate-alignment.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';

/** The spec derived from float32 tensors, as if read from a safetensors file. */
export function specOfTensors(tensors: ReadonlyMap<string, FloatTensor>): ArchitectureSpec {
  return deriveSpec([...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape })));
}

/** Tensors made in a test as the engine holds a loaded model: spec, space widths, tensors. */
export function modelInMemory(tensors: Map<string, FloatTensor>): ModelInMemory {
  const spec = specOfTensors(tensors);
  return {
    spec,
    widths: computeSpaceWidths(spec, new Map([...tensors].map(([n, t]) => [n, t.shape]))),
    tensors,
  };
}
