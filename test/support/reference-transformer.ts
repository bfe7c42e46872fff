/**
 * Float64 references for causal language models, plain loops over Float64Array with no tfjs and no code from
 * src/: batches of sequences through the GPT-2 and LLaMA references of reference-forward.ts, and the causal LM
 * loss (mean cross-entropy of each next token), its perplexity and top-1 next-token accuracy.
 */
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { gpt2Forward, llamaForward, type ReferenceConfig, type TensorMap } from './reference-forward.js';

export type TransformerReference = (
  tensors: TensorMap,
  config: ReferenceConfig,
  tokens: readonly number[],
) => Float64Array[];

export const REFERENCE_FORWARDS: Readonly<Record<'gpt2' | 'llama', TransformerReference>> = {
  gpt2: gpt2Forward,
  llama: llamaForward,
};

/** Logits of every position of every sequence: `[sequence][position]` → one row of vocab logits. */
export function referenceBatch(
  forward: TransformerReference,
  tensors: ReadonlyMap<string, FloatTensor>,
  config: ReferenceConfig,
  sequences: readonly (readonly number[])[],
): Float64Array[][] {
  return sequences.map((tokens) => forward(tensors, config, tokens));
}

export interface ReferenceLmScore {
  /** Mean of −log p(next token) over every predicted position. */
  readonly loss: number;
  readonly perplexity: number;
  /** Fraction of positions whose largest logit (first on ties) is the next token. */
  readonly accuracy: number;
  /** Positions predicted: (length − 1) per sequence. */
  readonly count: number;
}

/**
 * Scores sequences of `length` tokens: the model reads tokens 0..length−2 and each position t is scored on token
 * t+1, as `mal eval` scores text.
 */
export function referenceLmScore(
  forward: TransformerReference,
  tensors: ReadonlyMap<string, FloatTensor>,
  config: ReferenceConfig,
  sequences: readonly (readonly number[])[],
): ReferenceLmScore {
  let total = 0;
  let correct = 0;
  let count = 0;
  for (const sequence of sequences) {
    const inputs = sequence.slice(0, -1);
    const logits = forward(tensors, config, inputs);
    logits.forEach((row, t) => {
      const target = sequence[t + 1];
      let max = Number.NEGATIVE_INFINITY;
      let argmax = 0;
      for (let i = 0; i < row.length; i++) {
        if (row[i] > max) {
          max = row[i];
          argmax = i;
        }
      }
      let sum = 0;
      for (const value of row) sum += Math.exp(value - max);
      total += max + Math.log(sum) - row[target];
      if (argmax === target) correct++;
      count++;
    });
  }
  return { loss: total / count, perplexity: Math.exp(total / count), accuracy: correct / count, count };
}

/** Largest |a − b| over the whole batch, relative to the largest |b| (and at least 1). */
export function maxRelativeDifference(a: readonly Float64Array[][], b: readonly Float64Array[][]): number {
  let difference = 0;
  let scale = 1;
  b.forEach((sequence, s) => {
    sequence.forEach((row, t) => {
      const other = a[s]?.[t];
      if (other === undefined || other.length !== row.length) {
        throw new Error(`maxRelativeDifference: sequence ${s} position ${t} shapes differ`);
      }
      for (let i = 0; i < row.length; i++) {
        difference = Math.max(difference, Math.abs(other[i] - row[i]));
        scale = Math.max(scale, Math.abs(row[i]));
      }
    });
  });
  if (a.length !== b.length)
    throw new Error(`maxRelativeDifference: ${a.length} sequences against ${b.length}`);
  return difference / scale;
}
