import { MalError } from '../errors.js';

/** What a parameter is, for its initialisation and for whether the optimizer updates it. */
export type ParamRole =
  | 'weight'
  | 'bias'
  | 'bn-weight'
  | 'bn-bias'
  | 'running-mean'
  | 'running-var'
  | 'batches-tracked';

export interface ParamDef {
  /** PyTorch state_dict name. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: ParamRole;
  /** Inputs per output unit (in·kh·kw for a conv): sets the PyTorch default init bounds. */
  readonly fanIn: number;
}

export interface ModelLayout {
  /** In state_dict order. */
  readonly params: readonly ParamDef[];
  /** Shape of one example as the model reads it: `[features]` or `[C, H, W]`. */
  readonly inputShape: readonly number[];
  readonly config: Record<string, string | number>;
}

function linear(params: ParamDef[], prefix: string, inputs: number, outputs: number): void {
  params.push({ name: `${prefix}.weight`, shape: [outputs, inputs], role: 'weight', fanIn: inputs });
  params.push({ name: `${prefix}.bias`, shape: [outputs], role: 'bias', fanIn: inputs });
}

function positiveWidths(widths: readonly number[], what: string): void {
  const bad = widths.find((width) => !Number.isInteger(width) || width < 1);
  if (bad !== undefined)
    throw new MalError(`train: ${what} must be positive integers, got [${widths.join(', ')}]`);
}

/** nn.ModuleList of Linears `layers.0`, `layers.1`, …, ReLU between, as the model factory's `layers` naming. */
export function mlpLayout(inputSize: number, hidden: readonly number[], classes: number): ModelLayout {
  positiveWidths([inputSize, ...hidden, classes], 'MLP widths');
  const widths = [inputSize, ...hidden, classes];
  const params: ParamDef[] = [];
  for (let layer = 0; layer < widths.length - 1; layer++) {
    linear(params, `layers.${layer}`, widths[layer], widths[layer + 1]);
  }
  return {
    params,
    inputShape: [inputSize],
    config: {
      model_type: 'mlp',
      architecture: 'mlp',
      naming: 'layers',
      activation: 'relu',
      input_size: inputSize,
      output_size: classes,
      hidden_sizes: hidden.join(','),
      num_layers: widths.length - 1,
    },
  };
}

/**
 * A VGG-style CNN as the model factory builds it: per block Conv2d 3×3 padding 1 (`features.{4i}`),
 * BatchNorm2d (`features.{4i+1}`), ReLU, MaxPool2d 2; then flatten (channel-major) and Linears
 * `classifier.{3j}` (Linear, ReLU, Dropout per hidden layer, as torchvision; dropout is not used in training).
 */
export function cnnLayout(
  imageShape: readonly [number, number, number],
  channels: readonly number[],
  dense: readonly number[],
  classes: number,
): ModelLayout {
  const [inChannels, height, width] = imageShape;
  if (height !== width) throw new MalError(`train: the CNN needs square images, got ${height}×${width}`);
  if (channels.length === 0) throw new MalError('train: a CNN needs at least one conv block (hidden)');
  positiveWidths([...channels, ...dense, classes], 'CNN widths');
  let side = height;
  const params: ParamDef[] = [];
  let previous = inChannels;
  channels.forEach((outChannels, block) => {
    const conv = `features.${4 * block}`;
    const bn = `features.${4 * block + 1}`;
    params.push({
      name: `${conv}.weight`,
      shape: [outChannels, previous, 3, 3],
      role: 'weight',
      fanIn: previous * 9,
    });
    params.push({ name: `${conv}.bias`, shape: [outChannels], role: 'bias', fanIn: previous * 9 });
    params.push({ name: `${bn}.weight`, shape: [outChannels], role: 'bn-weight', fanIn: 1 });
    params.push({ name: `${bn}.bias`, shape: [outChannels], role: 'bn-bias', fanIn: 1 });
    params.push({ name: `${bn}.running_mean`, shape: [outChannels], role: 'running-mean', fanIn: 1 });
    params.push({ name: `${bn}.running_var`, shape: [outChannels], role: 'running-var', fanIn: 1 });
    params.push({ name: `${bn}.num_batches_tracked`, shape: [], role: 'batches-tracked', fanIn: 1 });
    previous = outChannels;
    side = Math.floor(side / 2);
  });
  if (side < 1) {
    throw new MalError(
      `train: ${channels.length} pooling blocks shrink a ${height}×${width} image to nothing`,
    );
  }
  const widths = [previous * side * side, ...dense, classes];
  for (let layer = 0; layer < widths.length - 1; layer++) {
    linear(params, `classifier.${3 * layer}`, widths[layer], widths[layer + 1]);
  }
  return {
    params,
    inputShape: [inChannels, height, width],
    config: {
      model_type: 'vgg',
      architecture: 'cnn',
      activation: 'relu',
      in_channels: inChannels,
      image_size: height,
      num_classes: classes,
      channels: channels.join(','),
      hidden_sizes: dense.join(','),
      conv_kernel: 3,
      conv_padding: 1,
      pool_kernel: 2,
      batch_norm_eps: 1e-5,
    },
  };
}
