import { SpecError } from '../errors.js';

/**
 * The model configuration derivation may consult: a parsed Hugging Face config.json (numbers) or a safetensors
 * `__metadata__` block (strings only), so numbers are accepted in either form.
 */
export type ModelConfig = Readonly<Record<string, unknown>>;

/** The first of `keys` present in the config as a positive integer, or undefined when none is present. */
export function configPositiveInteger(
  config: ModelConfig | undefined,
  keys: readonly string[],
): number | undefined {
  if (config === undefined) return undefined;
  for (const key of keys) {
    const raw = config[key];
    if (raw === undefined || raw === null) continue;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new SpecError(
        `model config field '${key}' must be a positive integer, got ${JSON.stringify(raw)}`,
      );
    }
    return value;
  }
  return undefined;
}

/** The first of `keys` present in the config as a string or finite number, for spec attributes. */
export function configAttribute(
  config: ModelConfig | undefined,
  keys: readonly string[],
): string | number | undefined {
  if (config === undefined) return undefined;
  for (const key of keys) {
    const raw = config[key];
    if (typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw))) return raw;
  }
  return undefined;
}
