import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { disposeParams, paramsFromTensors } from '../../src/eval/evaluate.js';
import { transformerLogits } from '../../src/eval/forward-transformer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import {
  type Gpt2Options,
  type LlamaOptions,
  makeGpt2,
  makeLlama,
  randomTokens,
  type SyntheticModel,
} from '../support/model-factory.js';
import {
  maxRelativeDifference,
  REFERENCE_FORWARDS,
  referenceBatch,
  type TransformerReference,
} from '../support/reference-transformer.js';
import { randomFreePermutations, transformModel } from '../support/transform-model.js';
import { specOf, testBackends, useBackend } from './forward-test-helpers.js';

const TOLERANCE = 1e-4;

/** A LLaMA 3.1 rope_scaling, flattened as forwardConfigOf reads config.json. */
const LLAMA3_SCALING = {
  rope_scaling: 'llama3',
  'rope_scaling.factor': 8,
  'rope_scaling.low_freq_factor': 1,
  'rope_scaling.high_freq_factor': 8,
  'rope_scaling.original_max_position_embeddings': 64,
};

function tokenBatch(count: number, length: number, vocab: number, seed: number): number[][] {
  return Array.from({ length: count }, (_, i) => randomTokens(length, vocab, seed + i));
}

/**
 * A model read with `overrides` in its config: the tfjs logits, the reference's with the overrides, and the
 * reference's without them (to show the overrides change the function).
 */
function withConfig(
  reference: TransformerReference,
  made: SyntheticModel,
  overrides: Readonly<Record<string, string | number>>,
  sequences: readonly number[][],
): { logits: Float64Array[][]; expected: Float64Array[][]; unchanged: Float64Array[][] } {
  const model = { ...made, config: { ...made.config, ...overrides } };
  return {
    logits: tfLogits(model, sequences),
    expected: referenceBatch(reference, model.tensors, model.config, sequences),
    unchanged: referenceBatch(reference, made.tensors, made.config, sequences),
  };
}

/** The tfjs forward's logits as `[sequence][position]` rows. */
function tfLogits(model: SyntheticModel, sequences: readonly number[][]): Float64Array[][] {
  const params = paramsFromTensors(model.tensors);
  const tokens = tf.tensor2d(sequences.flat(), [sequences.length, sequences[0].length], 'int32');
  try {
    const logits = transformerLogits(params, specOf(model), tokens, { config: model.config });
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

function withoutHead(model: SyntheticModel): SyntheticModel {
  const tensors = new Map(model.tensors);
  tensors.delete('lm_head.weight');
  return { tensors, config: model.config };
}

/** The same model saved without its `transformer.` / `model.` prefix, as bare GPT2Model / LlamaModel weights are. */
function withoutPrefix(model: SyntheticModel, prefix: string): SyntheticModel {
  const tensors = new Map(
    [...model.tensors].map(([n, t]) => [n.startsWith(prefix) ? n.slice(prefix.length) : n, t]),
  );
  return { tensors, config: model.config };
}

const gpt2Cases: readonly [string, Gpt2Options, number][] = [
  ['tied head (a copy of wte)', { vocab: 17, positions: 8, dModel: 12, nHead: 3, nLayer: 2, seed: 1 }, 8],
  [
    'untied head',
    { vocab: 11, positions: 10, dModel: 8, nHead: 2, nLayer: 1, tiedLmHead: false, seed: 2 },
    6,
  ],
  [
    'odd sizes: width 15, 5 heads of 3',
    { vocab: 13, positions: 9, dModel: 15, nHead: 5, nLayer: 3, seed: 3 },
    7,
  ],
];

const llamaCases: readonly [string, LlamaOptions, number][] = [
  [
    'grouped-query attention, 6 heads over 2',
    { vocab: 19, dModel: 24, nHead: 6, nKvHead: 2, ff: 20, nLayer: 2, seed: 4 },
    7,
  ],
  [
    'multi-query, tied head',
    { vocab: 9, dModel: 8, nHead: 4, nKvHead: 1, ff: 12, nLayer: 1, tiedLmHead: true, seed: 5 },
    5,
  ],
  [
    'Qwen2 q/k/v biases, theta 1e6, eps 1e-5',
    {
      vocab: 14,
      dModel: 16,
      nHead: 4,
      nKvHead: 2,
      ff: 24,
      nLayer: 2,
      qkvBias: true,
      ropeTheta: 1e6,
      rmsNormEps: 1e-5,
      seed: 6,
    },
    9,
  ],
  [
    'odd sizes: width 10, head_dim 6 (not width/heads)',
    { vocab: 7, dModel: 10, nHead: 3, nKvHead: 3, headDim: 6, ff: 11, nLayer: 2, seed: 7 },
    6,
  ],
];

/** WebGPU runs where an adapter exists; elsewhere its tests are listed as skipped with the reason. */
const webgpu = await initBackend('webgpu').then(
  () => undefined,
  (error: unknown) => (error instanceof Error ? error.message : String(error)),
);
const backends = [...testBackends().map((name) => ({ name, skip: undefined as string | undefined }))];
if (!backends.some((b) => b.name === 'webgpu')) backends.push({ name: 'webgpu', skip: webgpu });

describe.each(backends)('transformerLogits on $name matches the float64 reference', ({ name, skip }) => {
  const title = skip === undefined ? '' : ` (skipped: ${skip})`;
  const run = skip === undefined ? it : it.skip;

  run.each(gpt2Cases)(`GPT-2, %s${title}`, async (_label, options, length) => {
    await useBackend(name as Parameters<typeof useBackend>[0]);
    const model = makeGpt2(options);
    const sequences = tokenBatch(3, length, options.vocab, 20);
    const expected = referenceBatch(REFERENCE_FORWARDS.gpt2, model.tensors, model.config, sequences);
    expect(maxRelativeDifference(tfLogits(model, sequences), expected)).toBeLessThan(TOLERANCE);
  });

  run(`GPT-2 without lm_head reads the token embedding, eps from the config${title}`, async () => {
    await useBackend(name as Parameters<typeof useBackend>[0]);
    const base = makeGpt2({ vocab: 10, positions: 6, dModel: 8, nHead: 2, nLayer: 2, seed: 8 });
    const model = withoutHead({ ...base, config: { ...base.config, layer_norm_epsilon: 0.5 } });
    const sequences = tokenBatch(2, 6, 10, 30);
    const expected = referenceBatch(REFERENCE_FORWARDS.gpt2, model.tensors, model.config, sequences);
    expect(maxRelativeDifference(tfLogits(model, sequences), expected)).toBeLessThan(TOLERANCE);
    // A large eps changes the function: the config really is read.
    const defaultEps = referenceBatch(REFERENCE_FORWARDS.gpt2, model.tensors, base.config, sequences);
    expect(maxRelativeDifference(tfLogits(model, sequences), defaultEps)).toBeGreaterThan(1e-2);
  });

  run(`names without the transformer. or model. prefix run the same${title}`, async () => {
    await useBackend(name as Parameters<typeof useBackend>[0]);
    const gpt2 = makeGpt2({ vocab: 9, positions: 5, dModel: 8, nHead: 2, nLayer: 2, seed: 13 });
    const llama = makeLlama({ vocab: 9, dModel: 8, nHead: 2, nKvHead: 1, ff: 6, nLayer: 2, seed: 14 });
    const sequences = tokenBatch(2, 5, 9, 70);
    const gpt2Expected = referenceBatch(REFERENCE_FORWARDS.gpt2, gpt2.tensors, gpt2.config, sequences);
    const llamaExpected = referenceBatch(REFERENCE_FORWARDS.llama, llama.tensors, llama.config, sequences);
    expect(
      maxRelativeDifference(tfLogits(withoutPrefix(gpt2, 'transformer.'), sequences), gpt2Expected),
    ).toBeLessThan(TOLERANCE);
    expect(
      maxRelativeDifference(tfLogits(withoutPrefix(llama, 'model.'), sequences), llamaExpected),
    ).toBeLessThan(TOLERANCE);
  });

  run.each(llamaCases)(`LLaMA, %s${title}`, async (_label, options, length) => {
    await useBackend(name as Parameters<typeof useBackend>[0]);
    const made = makeLlama(options);
    const model = options.tiedLmHead === true ? withoutHead(made) : made;
    const sequences = tokenBatch(3, length, options.vocab, 40);
    const expected = referenceBatch(REFERENCE_FORWARDS.llama, model.tensors, model.config, sequences);
    expect(maxRelativeDifference(tfLogits(model, sequences), expected)).toBeLessThan(TOLERANCE);
  });

  run.each([
    ['llama3 (LLaMA 3.1): kept, blended and divided frequencies', LLAMA3_SCALING],
    ['linear', { rope_scaling: 'linear', 'rope_scaling.factor': 4 }],
  ] as const)(`LLaMA with rope_scaling %s${title}`, async (_label, scaling) => {
    await useBackend(name as Parameters<typeof useBackend>[0]);
    // theta 100 and head_dim 8: wavelengths 6.3, 20, 63 and 199 positions, so an original context of 64 puts one
    // frequency in each of llama3's regimes.
    const made = makeLlama({
      vocab: 11,
      dModel: 16,
      nHead: 2,
      nKvHead: 1,
      ff: 12,
      nLayer: 2,
      ropeTheta: 100,
      seed: 15,
    });
    const sequences = tokenBatch(2, 12, 11, 80);
    const { logits, expected, unchanged } = withConfig(REFERENCE_FORWARDS.llama, made, scaling, sequences);
    expect(maxRelativeDifference(logits, expected)).toBeLessThan(TOLERANCE);
    // The scaling changes the function: it really is read.
    expect(maxRelativeDifference(logits, unchanged)).toBeGreaterThan(1e-2);
  });

  run.each([
    ['scale_attn_by_inverse_layer_idx', { scale_attn_by_inverse_layer_idx: 1 }],
    ['scale_attn_weights false', { scale_attn_weights: 0 }],
  ] as const)(`GPT-2 with %s scales its attention as Hugging Face does${title}`, async (_label, scaling) => {
    await useBackend(name as Parameters<typeof useBackend>[0]);
    const made = makeGpt2({ vocab: 10, positions: 8, dModel: 8, nHead: 2, nLayer: 3, seed: 17 });
    const sequences = tokenBatch(2, 8, 10, 95);
    const { logits, expected, unchanged } = withConfig(REFERENCE_FORWARDS.gpt2, made, scaling, sequences);
    expect(maxRelativeDifference(logits, expected)).toBeLessThan(TOLERANCE);
    expect(maxRelativeDifference(logits, unchanged)).toBeGreaterThan(1e-3);
  });

  run(
    `Mistral's sliding window: each position attends to the last sliding_window positions${title}`,
    async () => {
      await useBackend(name as Parameters<typeof useBackend>[0]);
      const made = makeLlama({ vocab: 13, dModel: 16, nHead: 4, nKvHead: 2, ff: 12, nLayer: 2, seed: 16 });
      const sequences = tokenBatch(2, 9, 13, 90);
      const window = { model_type: 'mistral', sliding_window: 3 };
      const {
        logits,
        expected,
        unchanged: full,
      } = withConfig(REFERENCE_FORWARDS.llama, made, window, sequences);
      expect(maxRelativeDifference(logits, expected)).toBeLessThan(TOLERANCE);
      // Up to the window the model reads as LLaMA; past it the window changes the function.
      const upTo = (batch: Float64Array[][], n: number) => batch.map((rows) => rows.slice(0, n));
      expect(maxRelativeDifference(upTo(logits, 3), upTo(full, 3))).toBeLessThan(TOLERANCE);
      expect(maxRelativeDifference(logits, full)).toBeGreaterThan(1e-2);
    },
  );

  run(
    `permuting every free space (residual, heads, kv-head groups, MLP units) leaves the logits unchanged${title}`,
    async () => {
      await useBackend(name as Parameters<typeof useBackend>[0]);
      const random = new SeededRandom(9);
      const models = [
        makeGpt2({ vocab: 12, positions: 7, dModel: 12, nHead: 4, nLayer: 2, tiedLmHead: false, seed: 10 }),
        makeLlama({
          vocab: 12,
          dModel: 16,
          nHead: 4,
          nKvHead: 2,
          ff: 10,
          nLayer: 2,
          qkvBias: true,
          seed: 11,
        }),
      ];
      for (const model of models) {
        const spec = specOf(model);
        const permutations = randomFreePermutations(spec, model.tensors, random);
        expect(permutations.size).toBeGreaterThanOrEqual(5);
        const permuted = { tensors: transformModel(spec, model.tensors, permutations), config: model.config };
        const sequences = tokenBatch(2, 7, 12, 50);
        const before = tfLogits(model, sequences);
        expect(maxRelativeDifference(tfLogits(permuted, sequences), before)).toBeLessThan(TOLERANCE);
        // Permuting one space's rows but not its columns breaks the function: the check can fail.
        const rowsOnly = new Map(permuted.tensors);
        const first = spec.tensors.find(
          (t) => t.name.endsWith('mlp.c_fc.weight') || t.name.endsWith('mlp.up_proj.weight'),
        );
        rowsOnly.set(first!.name, model.tensors.get(first!.name)!);
        expect(
          maxRelativeDifference(tfLogits({ tensors: rowsOnly, config: model.config }, sequences), before),
        ).toBeGreaterThan(1e-3);
      }
    },
  );

  run(
    `refuses sequences longer than the position table, and frees every intermediate tensor${title}`,
    async () => {
      await useBackend(name as Parameters<typeof useBackend>[0]);
      const model = makeGpt2({ vocab: 10, positions: 4, dModel: 8, nHead: 2, nLayer: 1, seed: 12 });
      expect(() => tfLogits(model, tokenBatch(1, 5, 10, 60))).toThrow(/longer than the model's context of 4/);
      const params = paramsFromTensors(model.tensors);
      const tokens = tf.tensor2d([1, 2, 3, 4], [1, 4], 'int32');
      const before = tf.memory().numTensors;
      const logits = transformerLogits(params, specOf(model), tokens, { config: model.config });
      expect(tf.memory().numTensors).toBe(before + 1);
      logits.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tokens.dispose();
      disposeParams(params);
    },
  );
});
