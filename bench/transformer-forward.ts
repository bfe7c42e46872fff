/**
 * Transformer forward throughput (tokens/s) of transformerLogits on each TensorFlow.js backend that starts here,
 * for a byte-level GPT-2 and a grouped-query LLaMA, against two references measured in the same run:
 *
 * - `vs f64`: the float64 reference forward (test/support/reference-forward.ts, plain loops) on one sequence;
 * - `of matmul`: the same backend doing only the pass's dense products (every weight matrix once over all
 *   tokens, plus the head), so the ratio says how much of the pass's time the products themselves take.
 *
 *   npx tsx bench/transformer-forward.ts [--batch 8] [--length 128] [--repeats 3]
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, describeBackend, initBackend } from '../src/compute/backend.js';
import { disposeParams, paramsFromTensors } from '../src/eval/evaluate.js';
import { transformerLogits } from '../src/eval/forward-transformer.js';
import { deriveSpec } from '../src/spec/derive-spec.js';
import { makeGpt2, makeLlama, randomTokens, type SyntheticModel } from '../test/support/model-factory.js';
import {
  gpt2Forward,
  llamaForward,
  type ReferenceConfig,
  type TensorMap,
} from '../test/support/reference-forward.js';

const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'webgpu'];

interface BenchModel {
  readonly label: string;
  readonly model: SyntheticModel;
  readonly reference: (
    tensors: TensorMap,
    config: ReferenceConfig,
    tokens: readonly number[],
  ) => Float64Array[];
}

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    console.log(describeBackend(await initBackend(name)));
    return true;
  } catch (error) {
    console.log(`${name}: not available here (${error instanceof Error ? error.message : String(error)})`);
    return false;
  }
}

/** Best of `repeats` timings of `run` (after one warm-up), in seconds. */
async function bestSeconds(repeats: number, run: () => Promise<void>): Promise<number> {
  await run();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    await run();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

async function forwardSeconds(bench: BenchModel, sequences: number[][], repeats: number): Promise<number> {
  const { model } = bench;
  const spec = deriveSpec(
    [...model.tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape })),
    { config: model.config },
  );
  const params = paramsFromTensors(model.tensors);
  const tokens = tf.tensor2d(sequences.flat(), [sequences.length, sequences[0]?.length ?? 0], 'int32');
  try {
    return await bestSeconds(repeats, async () => {
      const logits = transformerLogits(params, spec, tokens, { config: model.config });
      await logits.data();
      logits.dispose();
    });
  } finally {
    tokens.dispose();
    disposeParams(params);
  }
}

/** The pass's dense products alone: each 2-D weight once over every token (embeddings as the head). */
async function matmulSeconds(bench: BenchModel, tokens: number, repeats: number): Promise<number> {
  const weights = [...bench.model.tensors].filter(
    ([name, t]) => t.shape.length === 2 && !name.endsWith('wpe.weight'),
  );
  const uploaded = weights.map(([, t]) => tf.tensor2d(t.data, [t.shape[0] ?? 0, t.shape[1] ?? 0]));
  const inputs = new Map<number, tf.Tensor2D>();
  for (const w of uploaded) {
    for (const side of w.shape)
      if (!inputs.has(side)) inputs.set(side, tf.randomNormal([tokens, side]) as tf.Tensor2D);
  }
  try {
    return await bestSeconds(repeats, async () => {
      const outs = uploaded.map((w) => tf.matMul(inputs.get(w.shape[0])!, w));
      await Promise.all(outs.map((out) => out.data()));
      for (const out of outs) out.dispose();
    });
  } finally {
    for (const t of [...uploaded, ...inputs.values()]) t.dispose();
  }
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const batch = option(args, '--batch', 8);
  const length = option(args, '--length', 128);
  const repeats = option(args, '--repeats', 3);
  const models: BenchModel[] = [
    {
      label: 'GPT-2 d128 4 heads 4 layers, bytes',
      model: makeGpt2({ vocab: 256, positions: length, dModel: 128, nHead: 4, nLayer: 4, seed: 1 }),
      reference: gpt2Forward,
    },
    {
      label: 'LLaMA d128 8/2 heads ff352 4 layers, bytes',
      model: makeLlama({ vocab: 256, dModel: 128, nHead: 8, nKvHead: 2, ff: 352, nLayer: 4, seed: 2 }),
      reference: llamaForward,
    },
  ];
  const sequences = Array.from({ length: batch }, (_, i) => randomTokens(length, 256, 10 + i));
  const tokens = batch * length;
  const reference = new Map<string, number>();
  for (const bench of models) {
    const started = performance.now();
    bench.reference(bench.model.tensors, bench.model.config, sequences[0] ?? []);
    reference.set(bench.label, length / ((performance.now() - started) / 1000));
  }
  const rows: string[] = [];
  for (const backend of BACKENDS) {
    if (!(await tryBackend(backend))) continue;
    for (const bench of models) {
      const rate = tokens / (await forwardSeconds(bench, sequences, repeats));
      const products = tokens / (await matmulSeconds(bench, tokens, repeats));
      const f64 = reference.get(bench.label) ?? Number.NaN;
      rows.push(
        `| ${backend} | ${bench.label} | ${Math.round(rate).toLocaleString('en')} | ${(rate / f64).toFixed(1)}× | ${((100 * rate) / products).toFixed(0)}% |`,
      );
    }
  }
  console.log(`\n${batch} sequences of ${length} tokens, best of ${repeats} after one warm-up\n`);
  console.log(
    '| backend | model | tokens/s | vs f64 reference | of matmul-only rate |\n|---|---|---|---|---|',
  );
  for (const row of rows) console.log(row);
  for (const bench of models) {
    console.log(`float64 reference, ${bench.label}: ${Math.round(reference.get(bench.label) ?? 0)} tokens/s`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
