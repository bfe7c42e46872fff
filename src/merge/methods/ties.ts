import { z } from 'zod';
import { defineMergeMethod, requireAncestor } from '../merge-method-definition.js';
import { ties } from '../ties.js';

/** TIES-merging of τ_base (weight 1) and τ_target (weight λ) against the common ancestor, as mergekit's `ties`. */
export const tiesMethod = defineMergeMethod({
  name: 'ties',
  summary: 'TIES-merging: trim τ_base and τ_target (weight λ) to their largest entries, elect signs, merge',
  needsAncestor: true,
  acrossWidths: false,
  parameters: {
    density: z
      .number('must be a number')
      .gt(0, 'must be in (0, 1]')
      .lte(1, 'must be in (0, 1]')
      .default(0.5)
      .describe('fraction of each task vector kept, by magnitude'),
  },
  mergeTensor: (ctx) =>
    ties(requireAncestor(ctx, 'ties'), [ctx.base, ctx.mapped], {
      tensorName: ctx.tensorName,
      density: ctx.params.density,
      weights: [1, ctx.lambda],
    }),
});
