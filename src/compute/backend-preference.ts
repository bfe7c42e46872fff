import { UsageError } from '../errors.js';

/** Backend names and their parsing, apart from backend.ts so that reading them loads no TensorFlow.js. */
export const BACKEND_PREFERENCES = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
export type BackendName = Exclude<BackendPreference, 'auto'>;

/** Help text for the CLI's `--backend` option. */
export const backendOptionSpec =
  '--backend <auto|tfjs-node-gpu|tfjs-node|webgpu|wasm|cpu>  TensorFlow.js backend for forward passes and ' +
  'training (default: $MAL_BACKEND, else auto: tfjs-node-gpu if installed with a GPU, tfjs-node if installed, ' +
  'webgpu if a GPU adapter exists, else wasm, else cpu). A named backend that cannot start is an error.';

/** The environment variable that sets the default backend. */
export const BACKEND_ENV = 'MAL_BACKEND';

export function isBackendPreference(text: string): text is BackendPreference {
  return (BACKEND_PREFERENCES as readonly string[]).includes(text);
}

/** Parses a `--backend` value or `MAL_BACKEND`; `source` names where it came from, for the message. */
export function parseBackendPreference(text: string, source: string): BackendPreference {
  const value = text.trim().toLowerCase();
  if (isBackendPreference(value)) return value;
  throw new UsageError(
    `${source}: unknown backend '${text}'; expected one of ${BACKEND_PREFERENCES.join(', ')}`,
  );
}

/** `MAL_BACKEND` when set and not empty, else `auto`. */
export function backendPreferenceFromEnv(env: NodeJS.ProcessEnv = process.env): BackendPreference {
  const raw = env[BACKEND_ENV];
  if (raw === undefined || raw.trim() === '') return 'auto';
  return parseBackendPreference(raw, BACKEND_ENV);
}

/** One line for the run log: which backend did the maths. */
