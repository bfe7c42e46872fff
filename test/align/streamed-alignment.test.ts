/**
 * Weight matching that reads its tensors from the files as each step needs them: on a synthetic sharded bf16
 * LLaMA-shaped pair it finds the permutation that was applied, the same maps as alignment on tensors held in
 * memory, within a cache that never holds more than its budget; its memory estimate does not grow with depth;
 * a budget below the estimate is refused before anything is read.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignModels } from '../../src/align/align-models.js';
import { estimateAlignmentMemory, MemoryBudgetError } from '../../src/align/alignment-memory.js';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { StreamedPairedTensors } from '../../src/align/paired-tensors.js';
import type { SpaceMaps } from '../../src/align/space-map.js';
import { alignmentObjective, weightMatching } from '../../src/align/weight-matching.js';
import { loadModel, readFiniteFloatTensors } from '../../src/model/load-model.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import {
  LLAMA_7B_BLOCK,
  type LlamaShapedPair,
  llamaConfig,
  llamaTensorInfos,
  writeLlamaShapedPair,
} from '../../src/zoo/llama-shaped-pair.js';
import { runMal } from '../support/run-mal.js';

const SHAPE = { blocks: 3, hidden: 64, intermediate: 96, heads: 4, kvHeads: 2, vocab: 32 } as const;

let dir: string;
let pair: LlamaShapedPair;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-streamed-'));
  pair = await writeLlamaShapedPair(dir, { ...SHAPE, maxShardBytes: 50_000, noise: 0.01, seed: 3 });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectRecovered(maps: SpaceMaps): void {
  expect(pair.expectedMaps.size).toBeGreaterThan(5);
  for (const [space, expected] of pair.expectedMaps) {
    expect(Array.from(maps.get(space)!.map), space).toEqual(Array.from(expected));
  }
}

/** The pair's alignment problem with every paired tensor in memory. */
async function inMemoryProblem() {
  const base = await loadModel(pair.base);
  const target = await loadModel(pair.target);
  const plan = planAlignment(base, target);
  return withTensors(
    plan,
    await readFiniteFloatTensors(
      base,
      plan.pairs.map((p) => p.baseName),
    ),
    await readFiniteFloatTensors(
      target,
      plan.pairs.map((p) => p.targetName),
    ),
  );
}

async function inMemoryMaps(init: 'identity' | 'anchored') {
  return weightMatching(await inMemoryProblem(), { init });
}

describe('streamed weight matching', () => {
  it.each(['identity', 'anchored'] as const)(
    'with --init %s, recovers the permutation, with the maps of alignment in memory, reading tensors again and again with no cache',
    async (init) => {
      const base = await loadModel(pair.base);
      const target = await loadModel(pair.target);
      const plan = planAlignment(base, target);
      const working = estimateAlignmentMemory(plan, (p) => ({
        base: base.source.info(p.baseName).shape,
        target: target.source.info(p.targetName).shape,
      })).workingBytes;
      // A budget of exactly the estimate leaves nothing to keep between uses.
      const streamed = await alignModels(base, target, { init, memoryBytes: working });
      expect(streamed.cacheBytes).toBe(0);
      expectRecovered(streamed.result.maps);
      // Each of the 30 pairs read more than once: nothing was kept.
      expect(streamed.reads).toBeGreaterThan(2 * plan.pairs.length);
      const inMemory = await inMemoryMaps(init);
      for (const [space, m] of inMemory.maps) {
        expect(Array.from(streamed.result.maps.get(space)!.map), space).toEqual(Array.from(m.map));
      }
      expect(streamed.result.objective).toBeCloseTo(inMemory.objective, 6);
    },
    60_000,
  );

  it('skips the spaces whose neighbours did not change: the last sweep only confirms', async () => {
    const base = await loadModel(pair.base);
    const target = await loadModel(pair.target);
    const { result } = await alignModels(base, target, { init: 'anchored' });
    expect(result.converged).toBe(true);
    const last = result.steps.filter((s) => s.sweep === result.sweeps);
    // The residual space is solved in full once more; every block's spaces are skipped.
    expect(last.filter((s) => s.skipped !== true).map((s) => s.space)).toEqual(['residual']);
    expect(last.filter((s) => s.skipped === true)).toHaveLength(2 * SHAPE.blocks);
    // Anchoring left the residual space right in the first sweep, so the full matrix changed nothing.
    expect(result.sweeps).toBe(2);
  });

  it('reads the objective an anchored sweep leaves unmeasured off the next full matrix, exactly', async () => {
    const base = await loadModel(pair.base);
    const target = await loadModel(pair.target);
    const { result } = await alignModels(base, target, { init: 'anchored' });
    const partial = result.steps.filter((s) => s.objective === null);
    // The residual space is solved from a part of its tensors in the first sweep; the steps after it measure it.
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.every((s) => s.sweep === 1)).toBe(true);
    expect(result.steps.filter((s) => s.sweep === 2).every((s) => s.objective !== null)).toBe(true);
    const measured = alignmentObjective(await inMemoryProblem(), result.maps, 'incompatible');
    expect(result.objective).toBeCloseTo(measured, 6);
    expect(result.steps.at(-1)!.objective).toBeCloseTo(measured, 6);
  });

  it('never stops after an anchored sweep: its partial steps are confirmed by a sweep of full ones', async () => {
    const base = await loadModel(pair.base);
    // The model against itself: the anchored sweep already gives identity, and changes nothing.
    const { result } = await alignModels(base, base, { init: 'anchored' });
    expect(result.sweeps).toBe(2);
    expect(result.converged).toBe(true);
    for (const m of result.maps.values())
      expect(Array.from(m.map)).toEqual(Array.from(m.map, (_, i) => i % m.baseWidth));
  });

  it('keeps no more than its budget between uses', async () => {
    const base = await loadModel(pair.base);
    const target = await loadModel(pair.target);
    const budget = 60_000;
    const tensors = new StreamedPairedTensors(base, target, budget);
    let most = 0;
    const { maps } = await weightMatching(
      { ...planAlignment(base, target), tensors },
      { onStep: () => (most = Math.max(most, tensors.heldBytes)) },
    );
    expectRecovered(maps);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(budget);
  });

  it('refuses a budget below the estimate before reading a tensor, naming the widest step', async () => {
    const base = await loadModel(pair.base);
    const target = await loadModel(pair.target);
    const error = await alignModels(base, target, { memoryBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryBudgetError);
    expect((error as Error).message).toMatch(/--memory 1000 bytes is below .*space 'model\.layers\.\d\.mlp'/);
  });
});

describe('the memory estimate of a LLaMA-7B-shaped pair', () => {
  const estimate = (blocks: number) => {
    const infos = llamaTensorInfos({ ...LLAMA_7B_BLOCK, blocks });
    const spec = deriveSpec(infos, { config: llamaConfig({ ...LLAMA_7B_BLOCK, blocks }) });
    const widths = computeSpaceWidths(spec, new Map(infos.map((i) => [i.name, i.shape])));
    const shapes = new Map(infos.map((i) => [i.name, i.shape]));
    const plan = planAlignment({ spec, widths }, { spec, widths });
    return estimateAlignmentMemory(plan, (p) => ({
      base: shapes.get(p.baseName)!,
      target: shapes.get(p.targetName)!,
    }));
  };

  it('counts the transposed copy the solver makes of a tall matrix (a base MLP wider than the target)', () => {
    const plan = (baseIntermediate: number, targetIntermediate: number) => {
      const side = (intermediate: number) => {
        const infos = llamaTensorInfos({ ...LLAMA_7B_BLOCK, intermediate, blocks: 1 });
        const spec = deriveSpec(infos, {
          config: llamaConfig({ ...LLAMA_7B_BLOCK, intermediate, blocks: 1 }),
        });
        const shapes = new Map(infos.map((i) => [i.name, i.shape]));
        return { spec, widths: computeSpaceWidths(spec, shapes), shapes };
      };
      const base = side(baseIntermediate);
      const target = side(targetIntermediate);
      return estimateAlignmentMemory(planAlignment(base, target), (p) => ({
        base: base.shapes.get(p.baseName)!,
        target: target.shapes.get(p.targetName)!,
      })).largestStep;
    };
    expect(plan(11008, 8192).matrixBytes).toBe(11008 * 8192 * (16 + 4));
    expect(plan(8192, 11008).matrixBytes).toBe(8192 * 11008 * (8 + 4));
  });

  it('does not grow with depth, and is set by the MLP space', () => {
    const one = estimate(1);
    expect(estimate(32).workingBytes).toBe(one.workingBytes);
    expect(one.largestStep.space).toBe('model.layers.0.mlp');
    // 11 008² float64 costs (in the solver's own memory: no copy) and one float32 product.
    expect(one.largestStep.matrixBytes).toBe(11008 * 11008 * (8 + 4));
    expect(one.workingBytes).toBeLessThan(3 * 2 ** 30);
  });
});

describe('mal align --memory', () => {
  it('refuses a budget below the estimate with exit 1, and writes nothing', async () => {
    const out = join(dir, 'refused');
    const run = await runMal(['align', pair.base, pair.target, '--out', out, '--memory', '1MB']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--memory');
    expect(run.stderr).toContain('raise --memory');
    const left = await readdir(out).catch(() => []);
    expect(left.filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('is refused with --match activations, which runs whole models', async () => {
    const run = await runMal([
      'align',
      pair.base,
      pair.target,
      '--out',
      join(dir, 'activations'),
      '--memory',
      '4GiB',
      '--match',
      'activations',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--memory bounds weight matching');
  });

  it('aligns within a budget and reports what it needed and kept', async () => {
    const run = await runMal([
      'align',
      pair.base,
      pair.target,
      '--out',
      join(dir, 'bounded'),
      '--memory',
      '1GiB',
      '--init',
      'anchored',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const { memory } = JSON.parse(run.stdout);
    expect(memory.widestSpace).toMatch(/^model\.layers\.\d\.mlp$/);
    expect(memory.cacheBytes).toBe(2 ** 30 - memory.workingBytes);
  });
});
