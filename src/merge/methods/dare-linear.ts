import { defineMergeMethod } from '../merge-method-definition.js';
import { dareParameters, dareTensor } from './dare-common.js';

/** mergekit's `dare_linear`: drop-and-rescale the task vectors, then add them (τ_target with weight λ). */
export const dareLinearMethod = defineMergeMethod({
  name: 'dare-linear',
  summary: 'DARE: drop-and-rescale τ_base and τ_target (weight λ), then add them to the ancestor',
  needsAncestor: true,
  acrossWidths: false,
  parameters: dareParameters,
  mergeTensor: (ctx) => dareTensor(ctx, 'dare-linear', 'linear'),
});
