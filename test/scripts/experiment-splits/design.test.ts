import { describe, expect, it } from 'vitest';
import {
  REPLICATE_SEEDS,
  ReplicateLayout,
  SETTINGS,
  splitSeed,
} from '../../../scripts/experiment-splits/design.js';

describe('split experiment design', () => {
  const layouts = SETTINGS.flatMap((s) => REPLICATE_SEEDS.map((seed) => new ReplicateLayout('/r', s, seed)));

  it('trains the base on part 1 and every zoo width on every other part', () => {
    const twoWay = layouts.find((l) => l.setting.parts === 2)!;
    const threeWay = layouts.find((l) => l.setting.parts === 3)!;
    expect(twoWay.models().map((m) => `${m.id}@${m.part}`)).toEqual([
      'base-mlp-h128x128-part1@1',
      'mlp-h64x64-part2@2',
      'mlp-h128x128-part2@2',
      'mlp-h256x256-part2@2',
      'mlp-h512x512-part2@2',
    ]);
    const zoo = threeWay.models().filter((m) => m.zoo === threeWay.zoo);
    expect(zoo).toHaveLength(8);
    expect(new Set(zoo.map((m) => m.part))).toEqual(new Set([2, 3]));
    expect(threeWay.models()[0].zoo).toBe(threeWay.baseZoo);
  });

  it('gives every model and every split of the experiment its own seed', () => {
    const modelSeeds = layouts.flatMap((l) => l.models().map((m) => m.seed));
    expect(new Set(modelSeeds).size).toBe(modelSeeds.length);
    const splitSeeds = layouts.map((l) => splitSeed(l.setting, l.seed));
    expect(new Set(splitSeeds).size).toBe(splitSeeds.length);
  });

  it('keeps every replicate in its own folder under out/experiment-splits', () => {
    const folders = layouts.map((l) => l.folder);
    expect(new Set(folders).size).toBe(folders.length);
    for (const f of folders) expect(f.startsWith('/r/out/experiment-splits/')).toBe(true);
  });
});
