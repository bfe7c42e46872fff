import { defineMergeMethod } from '../merge-method-definition.js';
import { dareParameters, dareTensor } from './dare-common.js';

/** mergekit's `dare_ties`: drop-and-rescale the task vectors, then combine them by TIES sign election. */
export const dareTiesMethod = defineMergeMethod({
  name: 'dare-ties',
  summary:
    'DARE with TIES sign election: drop-and-rescale τ_base and τ_target (weight λ), elect signs, merge',
  needsAncestor: true,
  acrossWidths: false,
  parameters: dareParameters,
  mergeTensor: (ctx) => dareTensor(ctx, 'dare-ties', 'ties'),
});
