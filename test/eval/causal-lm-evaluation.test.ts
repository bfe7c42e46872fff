import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { evaluateTensors } from '../../src/eval/model-evaluation.js';
import { makeLlama, randomTokens } from '../support/model-factory.js';
import { llamaForward } from '../support/reference-forward.js';
import { referenceLmScore } from '../support/reference-transformer.js';
import { specOf, useBackend } from './forward-test-helpers.js';

const model = makeLlama({ vocab: 13, dModel: 12, nHead: 3, nKvHead: 1, ff: 10, nLayer: 2, seed: 21 });
const sequences = Array.from({ length: 7 }, (_, i) => randomTokens(9, 13, 100 + i));

function tokenDataset(rows: readonly number[][], vocabulary: number): Dataset {
  return {
    name: 'tokens',
    count: rows.length,
    exampleShape: [rows[0]?.length ?? 0],
    features: Float32Array.from(rows.flat()),
    labels: new Int32Array(rows.length),
    classes: vocabulary,
    tokens: { tokenizer: 'test ids', vocabulary },
  };
}

describe('causal LM evaluation through evaluateTensors', () => {
  it('scores every next token as the float64 reference does, whatever the batch size', async () => {
    await useBackend('wasm');
    const expected = referenceLmScore(llamaForward, model.tensors, model.config, sequences);
    const spec = specOf(model);
    const progress: number[] = [];
    for (const batchSize of [1, 3, 1000]) {
      const result = await evaluateTensors(
        model.tensors,
        spec,
        tokenDataset(sequences, 13),
        model.config,
        batchSize,
        (done) => progress.push(done),
      );
      expect(result.count).toBe(7 * 8);
      expect(Math.abs(result.loss - expected.loss) / expected.loss).toBeLessThan(1e-5);
      expect(result.accuracy).toBeCloseTo(expected.accuracy, 10);
    }
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 3, 6, 7, 7]);
  });

  it('refuses labelled examples and data whose vocabulary the embedding does not cover', async () => {
    await useBackend('cpu');
    const spec = specOf(model);
    const labelled: Dataset = { ...tokenDataset(sequences, 13), tokens: undefined };
    await expect(evaluateTensors(model.tensors, spec, labelled, model.config)).rejects.toThrow(
      /holds labelled examples, but this llama model reads token sequences/,
    );
    await expect(
      evaluateTensors(model.tensors, spec, tokenDataset(sequences, 256), model.config),
    ).rejects.toThrow(/vocabulary 256\) but 'model\.embed_tokens\.weight' has only 13 rows/);
  });
});
