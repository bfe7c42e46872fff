/**
 * Nested alignment against flat alignment of the same transformer block: weight matching with the nested spaces
 * (q/k and value dims per head, query heads per kv group) against the spec with them taken out, as it was before
 * nested spaces (units are whole heads or kv groups, their entries in order). Both align the same shuffled copy
 * (every free space shuffled, nested ones included) in the same run; the figures are the ratio of the nested
 * time to the flat time (after a warm-up run, the faster of two alternating runs each), per sweep and in all, and
 * whether each recovered the shuffle.
 *
 *   npx tsx bench/nested-alignment.ts [--cases gpt2-small,llama-gqa]
 */
import { pathToFileURL } from 'node:url';
import { planAlignment, withTensors } from '../src/align/alignment-problem.js';
import { weightMatching } from '../src/align/weight-matching.js';
import { SeededRandom } from '../src/random/seeded-random.js';
import type { ArchitectureSpec } from '../src/spec/architecture-spec.js';
import { makeGpt2, makeLlama, type SyntheticModel } from '../test/support/model-factory.js';
import {
  inverseMaps,
  randomFreePermutations,
  specOf,
  type TensorMap,
  transformModel,
  widthsOf,
} from '../test/support/transform-model.js';

interface Case {
  readonly name: string;
  readonly description: string;
  make(): SyntheticModel;
}

const CASES: readonly Case[] = [
  {
    name: 'gpt2-small',
    description: 'one GPT-2-small block: width 768, 12 heads × 64, MLP 3072',
    make: () =>
      makeGpt2({ vocab: 256, positions: 64, dModel: 768, nHead: 12, nLayer: 1, tiedLmHead: false, seed: 1 }),
  },
  {
    name: 'llama-gqa',
    description: 'one LLaMA block with 32 query / 8 kv heads × 128 dims: width 1024, q/o 4096, MLP 2816',
    make: () =>
      makeLlama({
        vocab: 256,
        dModel: 1024,
        nHead: 32,
        nKvHead: 8,
        headDim: 128,
        ff: 2816,
        nLayer: 1,
        seed: 2,
      }),
  },
];

/** The spec as it was before nested spaces: no nested space, every block's entries in order. */
function flatSpec(spec: ArchitectureSpec): ArchitectureSpec {
  return {
    ...spec,
    spaces: spec.spaces.filter((s) => s.parent === undefined),
    tensors: spec.tensors.map((t) => ({
      ...t,
      axes: t.axes.map((axis) => axis?.map(({ space, block }) => ({ space, block })) ?? null),
    })),
  };
}

interface Timing {
  readonly seconds: number;
  readonly sweeps: number;
  readonly recovered: boolean;
}

async function time(
  spec: ArchitectureSpec,
  base: TensorMap,
  target: TensorMap,
  want: Map<string, Int32Array>,
) {
  const widths = widthsOf(spec, base);
  const problem = withTensors(planAlignment({ spec, widths }, { spec, widths }), base, target);
  const start = performance.now();
  const result = await weightMatching(problem);
  const seconds = (performance.now() - start) / 1000;
  const recovered = [...want].every(([space, inverse]) => {
    const map = result.maps.get(space)?.map ?? new Int32Array(0);
    return map.length === inverse.length && map.every((v, i) => v === inverse[i]);
  });
  return { seconds, sweeps: result.sweeps, recovered } satisfies Timing;
}

export async function main(args: readonly string[]): Promise<void> {
  const at = args.indexOf('--cases');
  const names = at >= 0 ? args[at + 1].split(',') : CASES.map((c) => c.name);
  for (const c of CASES.filter((x) => names.includes(x.name))) {
    const model = c.make();
    const spec = specOf(model.tensors, model.config);
    const widths = widthsOf(spec, model.tensors);
    const perms = randomFreePermutations(spec, model.tensors, new SeededRandom(3), () => true);
    const target = transformModel(spec, model.tensors, perms);
    const want = inverseMaps(spec, widths, perms);
    const flat = flatSpec(spec);
    const flatWant = new Map([...want].filter(([space]) => flat.spaces.some((s) => s.name === space)));
    // A first run loads the matmul engine and warms the JIT; then each side twice, alternating, the faster kept.
    await time(flat, model.tensors, target, flatWant);
    const runs: Timing[][] = [[], []];
    for (let r = 0; r < 2; r++) {
      runs[0].push(await time(flat, model.tensors, target, flatWant));
      runs[1].push(await time(spec, model.tensors, target, want));
    }
    const [f, n] = runs.map((side) => side.reduce((x, y) => (y.seconds < x.seconds ? y : x)));
    console.log(`${c.name}: ${c.description}`);
    console.log(
      `  flat:   ${f.seconds.toFixed(2)} s, ${f.sweeps} sweeps (${(f.seconds / f.sweeps).toFixed(2)} s/sweep), top-level maps recovered: ${f.recovered}`,
    );
    console.log(
      `  nested: ${n.seconds.toFixed(2)} s, ${n.sweeps} sweeps (${(n.seconds / n.sweeps).toFixed(2)} s/sweep), all maps recovered: ${n.recovered}`,
    );
    console.log(
      `  nested / flat: ${(n.seconds / f.seconds).toFixed(2)}× in all, ${(n.seconds / n.sweeps / (f.seconds / f.sweeps)).toFixed(2)}× per sweep`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main(process.argv.slice(2));
}
