/**
 * The finer permutation groups of transformers (issue 12, item 4): a head's query/key dims (GPT-2), a head's or
 * kv group's value dims, the query heads of one kv group. A random permutation of one group leaves the logits
 * unchanged, on the tfjs forward and on the float64 reference; undoing only half of it does not; weight
 * matching aligns a permuted copy back exactly; and a target whose heads hold dead extra value dims aligns onto
 * the narrower base with every real dim found (MAL's width cases inside a head).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { weightMatching } from '../../src/align/weight-matching.js';
import { disposeParams, paramsFromTensors } from '../../src/eval/evaluate.js';
import { transformerLogits } from '../../src/eval/forward-transformer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { useBackend } from '../eval/forward-test-helpers.js';
import { makeGpt2, makeLlama, randomTokens, type SyntheticModel } from '../support/model-factory.js';
import {
  maxRelativeDifference,
  REFERENCE_FORWARDS,
  referenceBatch,
} from '../support/reference-transformer.js';
import {
  inverseMaps,
  paddingMaps,
  randomFreePermutations,
  specOf,
  type TensorMap,
  transformModel,
  widthsOf,
} from '../support/transform-model.js';

const sequences = [randomTokens(7, 12, 1), randomTokens(7, 12, 2)];

function tfLogits(model: SyntheticModel, spec: ArchitectureSpec, tensors: TensorMap): Float64Array[][] {
  const params = paramsFromTensors(tensors);
  const tokens = tf.tensor2d(sequences.flat(), [sequences.length, sequences[0].length], 'int32');
  try {
    const logits = transformerLogits(params, spec, tokens, { config: model.config });
    const [batch, length, vocab] = logits.shape;
    const data = logits.dataSync();
    logits.dispose();
    return Array.from({ length: batch }, (_, s) =>
      Array.from({ length }, (_, t) =>
        Float64Array.from(data.subarray((s * length + t) * vocab, (s * length + t + 1) * vocab)),
      ),
    );
  } finally {
    tokens.dispose();
    disposeParams(params);
  }
}

interface Group {
  readonly family: 'gpt2' | 'llama';
  readonly model: SyntheticModel;
  readonly role: string;
  /** A tensor the group's permutation must move, restored alone to show the check has teeth. */
  readonly moved: string;
}

const gpt2 = makeGpt2({
  vocab: 12,
  positions: 8,
  dModel: 12,
  nHead: 3,
  nLayer: 2,
  tiedLmHead: false,
  seed: 3,
});
const llama = makeLlama({
  vocab: 12,
  dModel: 16,
  nHead: 6,
  nKvHead: 2,
  headDim: 4,
  ff: 10,
  nLayer: 2,
  qkvBias: true,
  seed: 4,
});

const groups: Group[] = [
  { family: 'gpt2', model: gpt2, role: 'query/key dims', moved: 'transformer.h.1.attn.c_attn.weight' },
  { family: 'gpt2', model: gpt2, role: 'value dims', moved: 'transformer.h.1.attn.c_proj.weight' },
  { family: 'llama', model: llama, role: 'value dims', moved: 'model.layers.1.self_attn.o_proj.weight' },
  { family: 'llama', model: llama, role: 'query heads', moved: 'model.layers.1.self_attn.q_proj.weight' },
];

describe.each(groups)('$family: $role', ({ family, model, role, moved }) => {
  const spec = specOf(model.tensors, model.config);
  const widths = widthsOf(spec, model.tensors);
  const perms = randomFreePermutations(spec, model.tensors, new SeededRandom(7), (s) => s.role === role);
  const permuted = transformModel(spec, model.tensors, perms);
  const reference = referenceBatch(REFERENCE_FORWARDS[family], model.tensors, model.config, sequences);

  it('is a nested space of every block, and the permutation moves weights', () => {
    const nested = spec.spaces.filter((s) => s.role === role);
    expect(nested.length).toBe(2);
    for (const space of nested) expect(space.parent).toBeDefined();
    expect(permuted.get(moved)!.data).not.toEqual(model.tensors.get(moved)!.data);
  });

  it('leaves the float64 reference logits unchanged; undoing it in one tensor does not', () => {
    const after = referenceBatch(REFERENCE_FORWARDS[family], permuted, model.config, sequences);
    expect(maxRelativeDifference(after, reference)).toBeLessThan(1e-9);
    const broken = new Map(permuted);
    broken.set(moved, model.tensors.get(moved)!);
    const changed = referenceBatch(REFERENCE_FORWARDS[family], broken, model.config, sequences);
    expect(maxRelativeDifference(changed, reference)).toBeGreaterThan(1e-4);
  });

  it('leaves the tfjs logits unchanged', async () => {
    await useBackend('cpu');
    const before = tfLogits(model, spec, model.tensors);
    expect(maxRelativeDifference(before, reference)).toBeLessThan(1e-4);
    expect(maxRelativeDifference(tfLogits(model, spec, permuted), before)).toBeLessThan(1e-4);
  });

  it('weight matching aligns the permuted copy back exactly', async () => {
    const problem = withTensors(planAlignment({ spec, widths }, { spec, widths }), model.tensors, permuted);
    const result = await weightMatching(problem);
    expect(result.converged).toBe(true);
    for (const [space, inverse] of inverseMaps(spec, widths, perms)) {
      expect(Array.from(result.maps.get(space)!.map), space).toEqual(Array.from(inverse));
    }
    // Everything else stays where it was.
    for (const space of spec.spaces.filter((s) => !perms.has(s.name))) {
      const map = result.maps.get(space.name)!.map;
      expect(Array.from(map), space.name).toEqual(Array.from(map, (_, i) => i % widths.get(space.name)!));
    }
  });
});

describe('query heads may move only inside their kv group', () => {
  it('moving a query head to another group changes the logits on both forwards', async () => {
    const spec = specOf(llama.tensors, llama.config);
    // Heads 0..2 share kv head 0, heads 3..5 kv head 1: swap heads 2 and 3 in q rows and o columns.
    const swap = (tensor: string, axis: 0 | 1) => {
      const t = llama.tensors.get(tensor)!;
      const data = Float32Array.from(t.data);
      const [rows, cols] = t.shape.length === 2 ? t.shape : [t.shape[0], 1];
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const index = axis === 0 ? r : c;
          const head = Math.floor(index / 4);
          if (head !== 2 && head !== 3) continue;
          const other = index + (head === 2 ? 4 : -4);
          const from = axis === 0 ? other * cols + c : r * cols + other;
          data[r * cols + c] = t.data[from];
        }
      }
      return { shape: t.shape, data };
    };
    const broken = new Map(llama.tensors);
    for (const name of ['q_proj.weight', 'q_proj.bias']) {
      broken.set(`model.layers.0.self_attn.${name}`, swap(`model.layers.0.self_attn.${name}`, 0));
    }
    broken.set('model.layers.0.self_attn.o_proj.weight', swap('model.layers.0.self_attn.o_proj.weight', 1));
    const reference = referenceBatch(REFERENCE_FORWARDS.llama, llama.tensors, llama.config, sequences);
    const after = referenceBatch(REFERENCE_FORWARDS.llama, broken, llama.config, sequences);
    expect(maxRelativeDifference(after, reference)).toBeGreaterThan(1e-4);
    await useBackend('cpu');
    expect(maxRelativeDifference(tfLogits(llama, spec, broken), reference)).toBeGreaterThan(1e-4);
  });
});

describe('heads of other widths', () => {
  it('a target with dead extra value dims in every head aligns onto the base, each real dim found', async () => {
    const spec = specOf(gpt2.tensors, gpt2.config);
    const widths = widthsOf(spec, gpt2.tensors);
    const valueDims = spec.spaces.filter((s) => s.role === 'value dims').map((s) => s.name);
    // 4 value dims per head become 6 (two dead, at the end), then every nested group is shuffled.
    const padded = transformModel(
      spec,
      gpt2.tensors,
      paddingMaps(spec, gpt2.tensors, (space) => (valueDims.includes(space) ? 2 : 0)),
    );
    // No config describes heads whose value dims outnumber their query/key dims, so the spec is edited to match.
    const paddedSpec: ArchitectureSpec = {
      ...spec,
      tensors: spec.tensors.map((t) => ({
        ...t,
        axes: t.axes.map((axis) =>
          axis === null
            ? null
            : axis.map((part) =>
                part.inner?.some((l) => valueDims.includes(l.space ?? ''))
                  ? { ...part, block: 6, inner: part.inner.map((l) => ({ ...l, size: 6 })) }
                  : part,
              ),
        ),
      })),
    };
    expect(paddedSpec.tensors.find((t) => t.name === 'transformer.h.0.attn.c_proj.weight')?.axes[0]).toEqual([
      { space: 'transformer.h.0.attn', block: 6, inner: [{ space: 'transformer.h.0.attn.v', size: 6 }] },
    ]);
    const paddedWidths = widthsOf(paddedSpec, padded);
    const perms = randomFreePermutations(
      paddedSpec,
      padded,
      new SeededRandom(8),
      (s) => s.parent !== undefined,
    );
    const target = transformModel(paddedSpec, padded, perms);
    const plan = planAlignment({ spec, widths }, { spec: paddedSpec, widths: paddedWidths });
    const result = await weightMatching(withTensors(plan, gpt2.tensors, target));
    const expected = inverseMaps(paddedSpec, paddedWidths, perms);
    for (const space of valueDims) {
      const map = result.maps.get(space)!;
      expect(map.targetWidth).toBe(6);
      // The base's 4 dims of each of 3 heads: the first 4 entries of the inverse (the real dims' new places).
      const want = Array.from({ length: 3 }, (_, u) =>
        Array.from(expected.get(space)!.subarray(u * 6, u * 6 + 4)),
      );
      expect(Array.from(map.map), space).toEqual(want.flat());
    }
  });
});
