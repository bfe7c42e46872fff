import { UsageError } from '../errors.js';

/** The engines a user may ask for: `auto` picks the fastest that loads here, the others force one. */
export const MATMUL_ENGINE_PREFERENCES = ['auto', 'webgpu', 'onnxruntime', 'typescript'] as const;
export type MatmulEnginePreference = (typeof MATMUL_ENGINE_PREFERENCES)[number];

/** The environment variable that forces the cost-matrix engine (the products also run on task workers). */
export const MATMUL_ENGINE_ENV = 'MAL_MATMUL';

export function isMatmulEnginePreference(text: string): text is MatmulEnginePreference {
  return (MATMUL_ENGINE_PREFERENCES as readonly string[]).includes(text);
}

/** Parses a preference; `source` names where it came from, for the message. */
export function parseMatmulEnginePreference(text: string, source: string): MatmulEnginePreference {
  const value = text.trim().toLowerCase();
  if (isMatmulEnginePreference(value)) return value;
  throw new UsageError(
    `${source}: unknown matmul engine '${text}'; expected one of ${MATMUL_ENGINE_PREFERENCES.join(', ')}`,
  );
}

/** `MAL_MATMUL` when set and not empty, else `auto`. */
export function matmulEnginePreferenceFromEnv(env: NodeJS.ProcessEnv = process.env): MatmulEnginePreference {
  const raw = env[MATMUL_ENGINE_ENV];
  if (raw === undefined || raw.trim() === '') return 'auto';
  return parseMatmulEnginePreference(raw, MATMUL_ENGINE_ENV);
}
