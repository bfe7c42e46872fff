import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { Calibration } from './calibration.js';
import { FORWARD_FAMILIES } from './forward.js';

/** The output layer's weight and bias tensor names: the last layer of the network, which must be dense. */
export function outputLayerTensors(spec: ArchitectureSpec): { layer: string; weight: string; bias: string } {
  if (!(FORWARD_FAMILIES as readonly string[]).includes(spec.family))
    throw new SpecError(
      `calibration folds into MLPs, CNNs and ResNets; this model's family is '${spec.family}'`,
    );
  const last = spec.layers[spec.layers.length - 1];
  if (last === undefined || last.kind !== 'dense')
    throw new SpecError(
      `calibration folds into a dense output layer, but this ${spec.family}'s last layer is ${last === undefined ? 'missing' : `'${last.name}' (${last.kind})`}`,
    );
  const weight = `${last.name}.weight`;
  const bias = `${last.name}.bias`;
  if (!last.tensors.includes(bias))
    throw new SpecError(
      `calibration shifts the output layer's bias, but '${last.name}' has no tensor '${bias}'; a model without output biases cannot hold it`,
    );
  return { layer: last.name, weight, bias };
}

/**
 * The model whose logits are the calibrated ones: the output layer's weight and bias divided by T, then the shifts
 * added to the bias. Every other tensor is shared with the input, not copied.
 */
export function applyCalibrationToModel(
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  calibration: Calibration,
): Map<string, FloatTensor> {
  const names = outputLayerTensors(spec);
  const weight = tensors.get(names.weight);
  const bias = tensors.get(names.bias);
  if (weight === undefined || bias === undefined)
    throw new SpecError(
      `calibration: the model has no tensor '${weight === undefined ? names.weight : names.bias}'`,
    );
  const classes = calibration.biases.length;
  if (weight.shape.length !== 2 || weight.shape[0] !== classes || bias.data.length !== classes)
    throw new SpecError(
      `calibration of ${classes} classes does not fit output layer '${names.layer}' (weight [${weight.shape.join(', ')}], bias [${bias.shape.join(', ')}])`,
    );
  const u = 1 / calibration.temperature;
  const out = new Map(tensors);
  out.set(names.weight, { shape: weight.shape, data: weight.data.map((w) => w * u) });
  out.set(names.bias, {
    shape: bias.shape,
    data: bias.data.map((b, c) => b * u + calibration.biases[c]),
  });
  return out;
}
