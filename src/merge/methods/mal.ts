import { z } from 'zod';
import { malInterpolate } from '../mal-interpolation.js';
import { defineMergeMethod } from '../merge-method-definition.js';

/** MAL's interpolation (§4), the only method that merges across widths. */
export const malMethod = defineMergeMethod({
  name: 'mal',
  summary: "MAL's interpolation (1−λ)·θ + λ·T(θ_target), the target zero-padded to the base's widths",
  needsAncestor: false,
  acrossWidths: true,
  parameters: {
    unmatched: z
      .enum(['zero', 'keep'], 'must be zero or keep')
      .default('zero')
      .describe('base entries no target unit lands on: scale by 1−λ (zero) or keep as they are (keep)'),
  },
  needsMatchedMask: (params) => params.unmatched === 'keep',
  mergeTensor: (ctx) => malInterpolate(ctx.base, ctx.mapped, ctx.lambda, ctx.params.unmatched, ctx.matched),
});
