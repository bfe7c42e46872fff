/**
 * The last step of mergekit's generalized task arithmetic (`GeneralizedTaskArithmeticMerge`), shared by TIES and
 * DARE: combine already-sparsified task vectors τᵢ and add them to the base.
 */

/** Task vector τ = θ − base, rounded to float32 as mergekit computes it in the tensors' own dtype. */
export function taskVector(finetuned: Float32Array, base: Float32Array): Float32Array {
  const delta = new Float32Array(base.length);
  for (let j = 0; j < base.length; j++) delta[j] = finetuned[j] - base[j];
  return delta;
}

export interface TaskVectorCombination {
  /**
   * Elect a sign per entry and keep only the weighted τ's that carry it (TIES-merging, Yadav et al. 2023). Without
   * it the weighted τ's are summed as they are (dare_linear).
   */
  readonly signConsensus: boolean;
  /** Divide by the summed weights of the contributing τ's, as mergekit's `normalize` does. */
  readonly normalize: boolean;
  /** Scale of the merged task vector before it is added to the base. */
  readonly lambda: number;
}

/**
 * base + λ·mixed, per entry. With sign consensus, mergekit's 'sum' method: the elected sign is that of Σ wᵢτᵢ (a zero
 * sum elects +); mixed = Σ over agreeing i of wᵢτᵢ and, when normalising, divided by Σ over agreeing i of wᵢ — so
 * with equal weights it is the disjoint mean of the paper. An entry of τ that is exactly zero (trimmed or dropped)
 * has sign 0 and never agrees, so it does not dilute the mean. Where nothing agrees the divisor 0 becomes 1 and
 * the base is kept. Without consensus, mixed = Σ wᵢτᵢ, divided by Σ wᵢ when normalising unless that is below
 * 1e-8 in magnitude (mergekit's guard). Accumulates in float64.
 */
export function combineTaskVectors(
  base: Float32Array,
  deltas: readonly Float32Array[],
  weights: readonly number[],
  { signConsensus, normalize, lambda }: TaskVectorCombination,
): Float32Array {
  const out = new Float32Array(base.length);
  const weightSum = weights.reduce((s, w) => s + w, 0);
  const linearDivisor = Math.abs(weightSum) < 1e-8 ? 1 : weightSum;
  for (let j = 0; j < base.length; j++) {
    let mixed = 0;
    let divisor = 0;
    if (signConsensus) {
      let signWeight = 0;
      for (let i = 0; i < deltas.length; i++) signWeight += weights[i] * deltas[i][j];
      const elected = signWeight >= 0 ? 1 : -1;
      for (let i = 0; i < deltas.length; i++) {
        const weighted = weights[i] * deltas[i][j];
        if (Math.sign(weighted) === elected) {
          mixed += weighted;
          divisor += weights[i];
        }
      }
      if (divisor === 0) divisor = 1;
    } else {
      for (let i = 0; i < deltas.length; i++) mixed += weights[i] * deltas[i][j];
      divisor = linearDivisor;
    }
    if (normalize) mixed /= divisor;
    out[j] = base[j] + lambda * mixed;
  }
  return out;
}
