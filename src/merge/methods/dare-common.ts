import { z } from 'zod';
import { type DareCombination, dare } from '../dare.js';
import { type MergeTensorContext, requireAncestor } from '../merge-method-definition.js';

/** The parameters DARE's two variants share. */
export const dareParameters = {
  dropProbability: z
    .number('must be a number')
    .gte(0, 'must be in [0, 1)')
    .lt(1, 'must be in [0, 1)')
    .default(0.5)
    .describe('probability of dropping each task-vector entry (survivors are rescaled by 1/(1−p))'),
};

/** DARE on τ_base (weight 1) and τ_target (weight λ); the run's seed is varied per tensor by its index. */
export function dareTensor(
  ctx: MergeTensorContext<{ dropProbability: number }>,
  method: string,
  combination: DareCombination,
): Float32Array {
  return dare(requireAncestor(ctx, method), [ctx.base, ctx.mapped], {
    tensorName: ctx.tensorName,
    dropProbability: ctx.params.dropProbability,
    seed: (ctx.seed + Math.imul(ctx.tensorIndex + 1, 0x9e3779b1)) >>> 0,
    combination,
    weights: [1, ctx.lambda],
  });
}
