/**
 * Candidates that can never align are found once, without solving an assignment: under `policy: all` an MLP's
 * pairs across its fixed input and output layers are dropped, and every pair whose spaces can correspond is kept.
 */
import { describe, expect, it } from 'vitest';
import { checkCandidateCompatibility } from '../../src/assembly/candidate-compatibility.js';
import { candidateKey, generateCandidates } from '../../src/assembly/candidates.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { modelInMemory } from '../support/model-in-memory.js';

function mlp(widths: number[], seed: number) {
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  for (let i = 0; i + 1 < widths.length; i++) {
    tensors.set(`layers.${i}.weight`, {
      shape: [widths[i + 1], widths[i]],
      data: Float32Array.from(random.normalArray(widths[i + 1] * widths[i], 1)),
    });
    tensors.set(`layers.${i}.bias`, {
      shape: [widths[i + 1]],
      data: Float32Array.from(random.normalArray(widths[i + 1], 1)),
    });
  }
  return modelInMemory(tensors);
}

const CANDIDATE_DEFAULTS = {
  topK: 6,
  preScore: 'halving' as const,
  probeExamples: 256,
  halving: { lambdas: [0.1, 0.25, 0.5, 1], examples: 64, eta: 2, rounds: 4 },
  list: [],
};

describe('checkCandidateCompatibility', () => {
  const base = mlp([8, 6, 6, 3], 1);
  const zoo = mlp([8, 10, 4, 3], 2);
  const candidates = generateCandidates(base.spec, [{ id: 'z', spec: zoo.spec }], {
    ...CANDIDATE_DEFAULTS,
    policy: 'all',
  });

  it('drops the pairs across fixed input and output layers, with the reason, and keeps the rest', () => {
    const { alignable, unalignable } = checkCandidateCompatibility(base, () => zoo, candidates, 'mal');
    expect(candidates.length).toBe(9);
    // Only a first layer can go onto the first layer (input 8 fixed), a last onto the last (output 3 fixed);
    // the middle layer takes only the middle one.
    expect(alignable.map(candidateKey)).toEqual([
      'z:layers.0→layers.0',
      'z:layers.1→layers.1',
      'z:layers.2→layers.2',
    ]);
    expect(unalignable.length).toBe(6);
    for (const u of unalignable) expect(u.reason.length).toBeGreaterThan(10);
  });

  it('drops candidates of other widths for a method that needs equal widths', () => {
    const { alignable, unalignable } = checkCandidateCompatibility(base, () => zoo, candidates, 'slerp');
    expect(alignable).toEqual([]);
    expect(unalignable.filter((u) => /equal widths/.test(u.reason)).length).toBe(3);
  });
});
