/**
 * Alignment across widths (MAL §2–3): a target whose hidden spaces are wider or narrower than the base's, and a
 * lone layer transplanted without its neighbours (both its maps unknown, solved by alternation).
 */
import { describe, expect, it } from 'vitest';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { checkGeneralizedPermutation } from '../../src/align/space-map.js';
import { weightMatching } from '../../src/align/weight-matching.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { makeMlp } from '../support/model-factory.js';
import { specOf, type TensorMap, widthsOf } from '../support/transform-model.js';

/**
 * The base's hidden units scattered into a wider target (extra units are fresh random weights) or a narrower one
 * (some base units dropped). `where[s][i]` is the target unit holding base unit i, or -1 when it was dropped.
 */
function scatter(tensors: TensorMap, targetWidths: readonly number[], seed: number) {
  const random = new SeededRandom(seed);
  const where = targetWidths.map(() => new Int32Array(0));
  const out: TensorMap = new Map();
  const layerNames = ['layers.0', 'layers.1', 'layers.2'];
  const baseWidths = [12, 16, 10, 4];
  const widths = [12, ...targetWidths, 4];
  // unit placement per hidden space
  for (let h = 0; h < targetWidths.length; h++) {
    const a = baseWidths[h + 1];
    const b = targetWidths[h];
    const slots = random.permutation(b);
    const keep = random.permutation(a);
    const map = new Int32Array(a).fill(-1);
    for (let k = 0; k < Math.min(a, b); k++) map[keep[k]] = slots[k];
    where[h] = map;
  }
  const sourceOf = (space: number, targetUnit: number): number => {
    if (space === 0 || space === widths.length - 1) return targetUnit;
    const map = where[space - 1];
    return map.indexOf(targetUnit);
  };
  layerNames.forEach((layer, l) => {
    const w = tensors.get(`${layer}.weight`)!;
    const bias = tensors.get(`${layer}.bias`)!;
    const rows = widths[l + 1];
    const cols = widths[l];
    const data = random.normalArray(rows * cols, Math.sqrt(2 / cols));
    const bdata = random.normalArray(rows, 0.1);
    for (let r = 0; r < rows; r++) {
      const br = sourceOf(l + 1, r);
      if (br < 0) continue;
      bdata[r] = bias.data[br];
      for (let c = 0; c < cols; c++) {
        const bc = sourceOf(l, c);
        if (bc >= 0) data[r * cols + c] = w.data[br * w.shape[1] + bc];
      }
    }
    out.set(`${layer}.weight`, { shape: [rows, cols], data });
    out.set(`${layer}.bias`, { shape: [rows], data: bdata });
  });
  return { target: out, where };
}

describe('alignment across widths', () => {
  const base = makeMlp({ widths: [12, 16, 10, 4], naming: 'layers', seed: 7 });
  const spec = specOf(base.tensors, base.config);
  const widths = widthsOf(spec, base.tensors);

  // layers.1.weight is [h2, h1]: base 10×16 against every target case of each axis (<, =, >): all nine.
  const nineCases = [11, 16, 24].flatMap((h1) =>
    [6, 10, 15].map((h2) => [`in ${h1} vs 16, out ${h2} vs 10`, [h1, h2]] as const),
  );
  it.each(nineCases)('%s: finds where every surviving base unit went', async (_label, targetWidths) => {
    const { target, where } = scatter(base.tensors, targetWidths, 31);
    const targetSpec = specOf(target, base.config);
    const problem = withTensors(
      planAlignment({ spec, widths }, { spec: targetSpec, widths: widthsOf(targetSpec, target) }),
      base.tensors,
      target,
    );
    const result = await weightMatching(problem);
    const hiddenSpaces = spec.spaces.filter((s) => s.kind === 'free').map((s) => s.name);
    expect(hiddenSpaces).toHaveLength(2);
    hiddenSpaces.forEach((space, h) => {
      const m = result.maps.get(space)!;
      expect(checkGeneralizedPermutation(m.map, m.targetWidth)).toBeUndefined();
      const expected = where[h];
      if (m.baseWidth <= m.targetWidth) {
        expect(Array.from(m.map), space).toEqual(Array.from(expected));
      } else {
        // Base wider: every base unit that has a copy in the target gets it; the rest may take leftovers.
        for (let i = 0; i < expected.length; i++) {
          if (expected[i] >= 0) expect(m.map[i], `${space} unit ${i}`).toBe(expected[i]);
        }
      }
    });
    for (let k = 1; k < result.steps.length; k++) {
      expect(result.steps[k].objective).toBeGreaterThanOrEqual(result.steps[k - 1].objective ?? Number.NaN);
    }
  });

  it('aligns a lone layer transplanted without its neighbours by alternating its two maps', async () => {
    const random = new SeededRandom(5);
    const donor = makeMlp({ widths: [12, 16, 10, 4], naming: 'fc', seed: 8 });
    // The donor's fc2 is the base's layers.1 with its input and output units shuffled and a little noise.
    const w = base.tensors.get('layers.1.weight')!;
    const b = base.tensors.get('layers.1.bias')!;
    const outPerm = random.permutation(10);
    const inPerm = random.permutation(16);
    const wData = new Float32Array(160);
    const bData = new Float32Array(10);
    for (let r = 0; r < 10; r++) {
      bData[outPerm[r]] = b.data[r] + 0.01 * random.normal();
      for (let c = 0; c < 16; c++)
        wData[outPerm[r] * 16 + inPerm[c]] = w.data[r * 16 + c] + 0.01 * random.normal();
    }
    const donorTensors = new Map(donor.tensors);
    donorTensors.set('fc2.weight', { shape: [10, 16], data: wData });
    donorTensors.set('fc2.bias', { shape: [10], data: bData });
    const donorSpec = specOf(donorTensors, donor.config);
    const plan = planAlignment(
      { spec, widths },
      { spec: donorSpec, widths: widthsOf(donorSpec, donorTensors) },
      [
        ['layers.1.weight', 'fc2.weight'],
        ['layers.1.bias', 'fc2.bias'],
      ],
    );
    expect(plan.spaces.map((s) => s.baseSpace)).toEqual(['layers.0', 'layers.1']);
    const result = await weightMatching(withTensors(plan, base.tensors, donorTensors), { init: 'best' });
    expect(Array.from(result.maps.get('layers.1')!.map)).toEqual(Array.from(outPerm));
    expect(Array.from(result.maps.get('layers.0')!.map)).toEqual(Array.from(inPerm));
    expect(result.steps.length).toBeGreaterThanOrEqual(2);
  });
});
