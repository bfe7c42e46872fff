import { defineMergeMethod } from '../merge-method-definition.js';
import { slerp } from '../slerp.js';

/** mergekit's spherical interpolation at t = λ: the base at λ = 0, the mapped target at λ = 1. */
export const slerpMethod = defineMergeMethod({
  name: 'slerp',
  summary: 'spherical interpolation from the base (λ = 0) to the mapped target (λ = 1), as mergekit',
  needsAncestor: false,
  acrossWidths: false,
  parameters: {},
  mergeTensor: (ctx) => slerp(ctx.base, ctx.mapped, ctx.lambda, { tensorName: ctx.tensorName }),
});
