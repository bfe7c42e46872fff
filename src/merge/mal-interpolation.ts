import { InvalidMergeOptionError } from './merge-options-error.js';

/**
 * What a base entry gets where no target unit lands on it (base wider than target).
 * `zero`: the paper's zero-padding, the target contributes 0 there, so the entry is scaled by `1−λ`.
 * `keep`: the entry keeps its base value; the merge acts on matched entries only.
 */
export type UnmatchedPolicy = 'zero' | 'keep';

export const UNMATCHED_POLICIES: readonly UnmatchedPolicy[] = ['zero', 'keep'];

/**
 * MAL's merge (§4): `θ ← (1−λ)·θ + λ·T(θ_target)` for one tensor, where `mapped` is the target tensor already
 * mapped into the base's frame (zero where unmatched) and `matched` marks the entries a target unit landed on.
 */
export function malInterpolate(
  base: Float32Array,
  mapped: Float32Array,
  lambda: number,
  unmatched: UnmatchedPolicy,
  matched?: Uint8Array,
): Float32Array {
  if (!(lambda >= 0 && lambda <= 1)) {
    throw new InvalidMergeOptionError('lambda', `must be in [0, 1], got ${lambda}`);
  }
  if (mapped.length !== base.length) {
    throw new RangeError(`malInterpolate: mapped tensor has ${mapped.length} entries, base ${base.length}`);
  }
  if (unmatched === 'keep' && matched === undefined) {
    throw new RangeError("malInterpolate: the 'keep' policy needs the matched mask");
  }
  const out = new Float32Array(base.length);
  const keep = 1 - lambda;
  if (unmatched === 'zero' || matched === undefined) {
    for (let i = 0; i < base.length; i++) out[i] = keep * base[i] + lambda * mapped[i];
  } else {
    for (let i = 0; i < base.length; i++) out[i] = matched[i] ? keep * base[i] + lambda * mapped[i] : base[i];
  }
  return out;
}
