import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';

/**
 * What a forward pass needs beyond tensor shapes. Widths and channel counts always come from the tensors, so a
 * model with permuted or zero-padded units runs as is; strides, pooling and epsilons cannot be read from shapes.
 */
export interface ForwardSettings {
  /** Hidden activation of dense stacks and conv blocks. */
  readonly activation: string;
  readonly batchNormEps: number;
  /** VGG: side of the max-pool after each conv block (kernel = stride); 1 means no pooling. */
  readonly poolKernel: number;
  /** ResNet: stride of the stem convolution. */
  readonly stemStride: number;
  /** ResNet: 'max' for torchvision's 3×3, stride-2, padding-1 max-pool after the stem; 'none' for CIFAR stems. */
  readonly stemPool: 'none' | 'max';
  /** ResNet: stride of each stage's first block; undefined means torchvision's 1, 2, 2, …. */
  readonly stageStrides: readonly number[] | undefined;
}

/** Model config keys read, the same the model factory and Hugging Face-style configs use. */
export const FORWARD_SETTING_KEYS = {
  activation: 'activation',
  batchNormEps: 'batch_norm_eps',
  poolKernel: 'pool_kernel',
  stemStride: 'stem_stride',
  stageStrides: 'strides',
  stemPool: 'stem_pool',
} as const;

export type ForwardConfig = Readonly<Record<string, string | number>>;

/**
 * Settings from `config` (a model config: safetensors metadata or config.json values) first, then the spec's
 * attributes, then the defaults PyTorch and the model factory use.
 */
export function resolveForwardSettings(spec: ArchitectureSpec, config: ForwardConfig = {}): ForwardSettings {
  const lookup = (key: string): string | number | undefined => config[key] ?? spec.attributes[key];
  const number = (key: string, fallback: number, valid: (value: number) => boolean): number => {
    const raw = lookup(key);
    if (raw === undefined || raw === '') return fallback;
    const value = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(value) || !valid(value)) {
      throw new SpecError(`forward pass: setting '${key}' = ${JSON.stringify(raw)} is not valid`);
    }
    return value;
  };
  const positiveInteger = (value: number): boolean => Number.isInteger(value) && value >= 1;
  const stemPool = lookup(FORWARD_SETTING_KEYS.stemPool) ?? 'none';
  if (stemPool !== 'none' && stemPool !== 'max') {
    throw new SpecError(
      `forward pass: stem_pool '${stemPool}' is not supported: 'max' (torchvision's stem max-pool) or 'none' (a CIFAR-style stem)`,
    );
  }
  return {
    activation: String(lookup(FORWARD_SETTING_KEYS.activation) ?? 'relu'),
    batchNormEps: number(FORWARD_SETTING_KEYS.batchNormEps, 1e-5, (value) => value > 0),
    poolKernel: number(FORWARD_SETTING_KEYS.poolKernel, 2, positiveInteger),
    stemStride: number(FORWARD_SETTING_KEYS.stemStride, 1, positiveInteger),
    stemPool,
    stageStrides: numberList(lookup(FORWARD_SETTING_KEYS.stageStrides), FORWARD_SETTING_KEYS.stageStrides),
  };
}

/** `"1,2,2"` or `2` → a list; model configs carried in safetensors metadata hold lists as comma-joined text. */
function numberList(raw: string | number | undefined, key: string): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = typeof raw === 'number' ? [raw] : raw.trim() === '' ? [] : raw.split(',').map(Number);
  if (parts.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new SpecError(`forward pass: setting '${key}' = ${JSON.stringify(raw)} is not a list of strides`);
  }
  return parts;
}

/** Stride of ResNet stage `stage` (0-based). */
export function stageStride(settings: ForwardSettings, stage: number): number {
  if (settings.stageStrides === undefined) return stage === 0 ? 1 : 2;
  const stride = settings.stageStrides[stage];
  if (stride === undefined) {
    throw new SpecError(
      `forward pass: the model has a stage ${stage + 1} but 'strides' lists only ${settings.stageStrides.length}`,
    );
  }
  return stride;
}
