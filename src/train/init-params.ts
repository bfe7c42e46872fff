import type { SeededRandom } from '../random/seeded-random.js';
import type { ParamDef } from './model-layout.js';

/**
 * PyTorch's default initial values. nn.Linear and nn.Conv2d: weight kaiming_uniform_(a=√5), which is
 * U(−1/√fan_in, 1/√fan_in), and bias U(−1/√fan_in, 1/√fan_in). BatchNorm: weight 1, bias 0, running mean 0,
 * running variance 1, no batches tracked. Values are drawn in state_dict order, so a seed fixes them all.
 */
export function initialValues(param: ParamDef, random: SeededRandom): Float32Array {
  const count = param.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(count);
  switch (param.role) {
    case 'weight':
    case 'bias': {
      const bound = 1 / Math.sqrt(param.fanIn);
      for (let i = 0; i < count; i++) values[i] = (2 * random.next() - 1) * bound;
      return values;
    }
    case 'bn-weight':
    case 'running-var':
      return values.fill(1);
    case 'bn-bias':
    case 'running-mean':
    case 'batches-tracked':
      return values;
  }
}

/** Whether the optimizer updates it (the rest are BatchNorm buffers). */
export function isTrainable(param: ParamDef): boolean {
  return (
    param.role === 'weight' || param.role === 'bias' || param.role === 'bn-weight' || param.role === 'bn-bias'
  );
}
