/**
 * The properties that make the maths trustworthy (issue: MAL core): permuting a free space consistently leaves
 * outputs unchanged; padding with dead units leaves outputs unchanged; aligning a shuffled copy recovers the
 * exact inverse shuffle; the objective never decreases over alignment iterations. Outputs come from reference
 * forward passes that share no code with src/.
 */
import { describe, expect, it } from 'vitest';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { weightMatching } from '../../src/align/weight-matching.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import {
  makeGpt2,
  makeLlama,
  makeMlp,
  makeResNet,
  makeVggCnn,
  randomImages,
  randomTokens,
  randomVectors,
  type SyntheticModel,
} from '../support/model-factory.js';
import {
  gpt2Forward,
  llamaForward,
  maxAbsDifference,
  mlpForward,
  resnetForward,
  vggForward,
} from '../support/reference-forward.js';
import {
  inverseMaps,
  paddingMaps,
  randomFreePermutations,
  specOf,
  type TensorMap,
  transformModel,
  widthsOf,
} from '../support/transform-model.js';

interface Family {
  readonly name: string;
  readonly model: SyntheticModel;
  readonly forward: (tensors: TensorMap) => Float64Array[];
  /** Spaces that may be padded with dead units without changing the function (norms over the residual stream may not). */
  readonly paddable: (space: string, spec: ArchitectureSpec) => boolean;
}

const mlp = makeMlp({ widths: [12, 16, 10, 4], naming: 'layers', seed: 1 });
const vgg = makeVggCnn({ inChannels: 2, channels: [4, 6], imageSize: 8, hidden: [10], classes: 3, seed: 2 });
const resnet = makeResNet({
  inChannels: 2,
  stemChannels: 4,
  stages: [
    { channels: 4, blocks: 2, stride: 1 },
    { channels: 6, blocks: 1, stride: 2 },
  ],
  classes: 3,
  seed: 3,
});
const gpt2 = makeGpt2({ vocab: 11, positions: 8, dModel: 8, nHead: 2, nLayer: 2, seed: 4 });
const llama = makeLlama({ vocab: 11, dModel: 8, nHead: 4, nKvHead: 2, ff: 12, nLayer: 2, seed: 5 });

const vectors = randomVectors(3, 12, 10);
const images = randomImages(2, 2, 8, 11);
const tokens = randomTokens(6, 11, 12);
// Nested spaces (a head's dims, a group's query heads) are not padded: the forward reads the head width and
// the group size from the config, so a model with wider heads is another function.
const notResidual = (space: string, spec: ArchitectureSpec) => {
  const found = spec.spaces.find((s) => s.name === space);
  return found?.role !== 'residual' && found?.parent === undefined;
};

const families: Family[] = [
  { name: 'MLP', model: mlp, forward: (t) => mlpForward(t, mlp.config, vectors), paddable: () => true },
  {
    name: 'VGG CNN with BatchNorm',
    model: vgg,
    forward: (t) => vggForward(t, vgg.config, images),
    paddable: () => true,
  },
  {
    name: 'ResNet',
    model: resnet,
    forward: (t) => resnetForward(t, resnet.config, images),
    paddable: () => true,
  },
  { name: 'GPT-2', model: gpt2, forward: (t) => gpt2Forward(t, gpt2.config, tokens), paddable: notResidual },
  {
    name: 'LLaMA (GQA)',
    model: llama,
    forward: (t) => llamaForward(t, llama.config, tokens),
    paddable: notResidual,
  },
];

describe.each(families)('$name', ({ model, forward, paddable }) => {
  const spec = specOf(model.tensors, model.config);
  const reference = forward(model.tensors);

  it('has free spaces to permute', () => {
    expect(spec.spaces.filter((s) => s.kind === 'free').length).toBeGreaterThan(0);
  });

  it('computes the same outputs after every free space is permuted consistently', () => {
    const perms = randomFreePermutations(spec, model.tensors, new SeededRandom(100));
    const permuted = transformModel(spec, model.tensors, perms);
    expect(maxAbsDifference(forward(permuted), reference)).toBeLessThan(1e-9);
  });

  it('computes different outputs when a single tensor is permuted alone (the check has teeth)', () => {
    const perms = randomFreePermutations(spec, model.tensors, new SeededRandom(101));
    const permuted = transformModel(spec, model.tensors, perms);
    const broken = new Map(model.tensors);
    const firstMerged = spec.tensors.find(
      (t) => t.merge && t.axes.some((a) => a?.some((p) => perms.has(p.space))),
    )!;
    broken.set(firstMerged.name, permuted.get(firstMerged.name)!);
    expect(maxAbsDifference(forward(broken), reference)).toBeGreaterThan(1e-6);
  });

  it('computes the same outputs after padding free spaces with dead units', () => {
    const padded = transformModel(
      spec,
      model.tensors,
      paddingMaps(spec, model.tensors, (space) =>
        spec.spaces.find((s) => s.name === space)?.kind === 'free' && paddable(space, spec) ? 3 : 0,
      ),
    );
    const grew = [...padded].some(([name, t]) => t.data.length > model.tensors.get(name)!.data.length);
    expect(grew).toBe(true);
    expect(maxAbsDifference(forward(padded), reference)).toBeLessThan(1e-9);
  });

  it('aligning a shuffled copy recovers exactly the inverse shuffle, never lowering the objective', async () => {
    const perms = randomFreePermutations(spec, model.tensors, new SeededRandom(102));
    const shuffled = transformModel(spec, model.tensors, perms);
    const widths = widthsOf(spec, model.tensors);
    const problem = withTensors(planAlignment({ spec, widths }, { spec, widths }), model.tensors, shuffled);
    const result = await weightMatching(problem);
    expect(result.converged).toBe(true);
    for (const [space, inverse] of inverseMaps(spec, widths, perms)) {
      expect(Array.from(result.maps.get(space)!.map), space).toEqual(Array.from(inverse));
    }
    let previous = result.initialObjective;
    for (const step of result.steps) {
      // An identity start measures every step.
      expect(step.objective).not.toBeNull();
      expect(step.objective).toBeGreaterThanOrEqual(previous);
      previous = step.objective!;
    }
    expect(result.objective).toBeGreaterThan(result.initialObjective);
  });
});
