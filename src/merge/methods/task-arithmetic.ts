import { defineMergeMethod, requireAncestor } from '../merge-method-definition.js';
import { taskArithmetic } from '../task-arithmetic.js';

/** ancestor + τ_base + λ·τ_target, task vectors τ measured against the common ancestor. */
export const taskArithmeticMethod = defineMergeMethod({
  name: 'task-arithmetic',
  summary: 'task arithmetic: ancestor + τ_base + λ·τ_target (τ = model − ancestor)',
  needsAncestor: true,
  acrossWidths: false,
  parameters: {},
  mergeTensor: (ctx) =>
    taskArithmetic(requireAncestor(ctx, 'task-arithmetic'), [ctx.base, ctx.mapped], [1, ctx.lambda], {
      tensorName: ctx.tensorName,
    }),
});
