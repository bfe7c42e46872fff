import { beforeAll, describe, expect, it } from 'vitest';
import { activationMatching } from '../../src/align/activation-matching.js';
import { planAlignment } from '../../src/align/alignment-problem.js';
import { checkGeneralizedPermutation } from '../../src/align/space-map.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { layerStatistics } from '../../src/eval/activation-statistics.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import {
  makeMlp,
  makeVggCnn,
  randomImages,
  randomVectors,
  type SyntheticModel,
} from '../support/model-factory.js';
import {
  inversePermutation,
  randomFreePermutations,
  specOf,
  type TensorMap,
  transformModel,
  widthsOf,
} from '../support/transform-model.js';
import { unlabelledDataset } from '../support/unlabelled-dataset.js';

function side(tensors: TensorMap, config: SyntheticModel['config']) {
  const spec = specOf(tensors, config);
  return { spec, widths: widthsOf(spec, tensors), tensors, config };
}

function match(base: ReturnType<typeof side>, target: ReturnType<typeof side>, data: Dataset) {
  return activationMatching(planAlignment(base, target), base, target, { data });
}

describe('activation matching', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const vectors = unlabelledDataset(randomVectors(400, 16, 5), [16]);

  it('recovers a random permutation of every hidden space of an MLP exactly', () => {
    const model = makeMlp({ widths: [16, 24, 20, 6], naming: 'layers', seed: 11 });
    const base = side(model.tensors, model.config);
    // Exactness needs units that vary on the data: a dead unit correlates with nothing.
    for (const s of layerStatistics(base, vectors).values())
      expect(Math.min(...s.post.std)).toBeGreaterThan(0);
    const perms = randomFreePermutations(base.spec, model.tensors, new SeededRandom(4));
    const target = side(transformModel(base.spec, model.tensors, perms), model.config);
    const result = match(base, target, vectors);
    for (const [space, perm] of perms) {
      expect([...result.maps.get(space)!.map]).toEqual([...inversePermutation(perm)]);
    }
    expect(result.objective).toBeGreaterThan(result.initialObjective);
  });

  it('recovers the channels of a permuted VGG-style CNN', () => {
    const model = makeVggCnn({
      inChannels: 1,
      channels: [6, 8],
      imageSize: 8,
      hidden: [10],
      classes: 3,
      seed: 2,
    });
    const base = side(model.tensors, model.config);
    const perms = randomFreePermutations(base.spec, model.tensors, new SeededRandom(9));
    const target = side(transformModel(base.spec, model.tensors, perms), model.config);
    const images = unlabelledDataset(randomImages(64, 1, 8, 1), [1, 8, 8]);
    const result = match(base, target, images);
    for (const [space, perm] of perms) {
      expect([...result.maps.get(space)!.map]).toEqual([...inversePermutation(perm)]);
    }
  });

  it('gives generalized permutations that find the shared units when the target is narrower or wider', () => {
    const wide = makeMlp({ widths: [16, 24, 6], naming: 'fc', seed: 21 });
    const wideSide = side(wide.tensors, wide.config);
    const space = wideSide.spec.layers[0].output!;
    // The narrow model is 15 of the wide model's units, shuffled: unit j of narrow is unit pick[j] of wide.
    const pick = Int32Array.from(new SeededRandom(3).permutation(24).subarray(0, 15));
    const narrow = side(transformModel(wideSide.spec, wide.tensors, new Map([[space, pick]])), wide.config);

    const narrowTarget = match(wideSide, narrow, vectors).maps.get(space)!;
    expect(checkGeneralizedPermutation(narrowTarget.map, 15)).toBeUndefined();
    pick.forEach((i, j) => {
      expect(narrowTarget.map[i]).toBe(j);
    });
    expect([...narrowTarget.map].filter((j) => j === -1)).toHaveLength(9);

    const wideTarget = match(narrow, wideSide, vectors).maps.get(space)!;
    expect(checkGeneralizedPermutation(wideTarget.map, 24)).toBeUndefined();
    expect([...wideTarget.map]).toEqual([...pick]);
  });
});
