/**
 * Chooses and starts the TensorFlow.js backend every forward pass and training run uses. The native backends
 * (tfjs-node, tfjs-node-gpu) are optional peers an operator installs where libtensorflow can be downloaded;
 * WebGPU runs through Dawn (`webgpu` on npm) where a GPU adapter exists; WebAssembly and plain JavaScript always
 * work. A forced backend that cannot start is an error, never a silent fallback, so a run that claims to use
 * the GPU does.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
// A used binding, not a bare import: bundlers drop bare imports of packages marked free of side effects, and
// importing this module is what registers the cpu backend.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { MalError } from '../errors.js';
import { type BackendName, type BackendPreference, backendPreferenceFromEnv } from './backend-preference.js';
import { startWebGpu, WebGpuUnavailable } from './webgpu-backend.js';

// The names and parsing of backends need no TensorFlow.js: the command line's help reads them from there.
export {
  BACKEND_ENV,
  BACKEND_PREFERENCES,
  type BackendName,
  type BackendPreference,
  backendOptionSpec,
  backendPreferenceFromEnv,
  isBackendPreference,
  parseBackendPreference,
} from './backend-preference.js';

/** The order `auto` tries, best first. */
const AUTO_ORDER: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  readonly name: BackendName;
  /** What exactly runs: the GPU adapter, `simd`, the TensorFlow build. */
  readonly detail: string;
  /** True when `auto` chose it, false when it was forced. */
  readonly automatic: boolean;
}

export function describeBackend(info: BackendInfo): string {
  return `backend: ${info.name} (${info.detail})${info.automatic ? ', chosen automatically' : ''}`;
}

/** Why one backend could not start; `auto` moves on to the next, a forced request fails with it. */
class BackendUnavailable extends Error {}

export class BackendError extends MalError {
  override readonly name = 'BackendError';
}

let settled: { readonly preference: BackendPreference; readonly info: Promise<BackendInfo> } | undefined;

/**
 * Starts the backend for `preference` (default: `MAL_BACKEND`, else `auto`) and makes it TensorFlow.js's
 * current backend. Calling it again with the same preference returns the same answer without restarting
 * anything; a different preference switches (tensors move between backends lazily).
 */
export function initBackend(
  preference: BackendPreference = backendPreferenceFromEnv(),
): Promise<BackendInfo> {
  if (settled !== undefined && settled.preference === preference) return settled.info;
  const info = selectBackend(preference);
  settled = { preference, info };
  // A failed start must not be cached: the caller may fix the cause (install a package) and try again.
  info.catch(() => {
    if (settled?.info === info) settled = undefined;
  });
  return info;
}

/** The backend the last successful `initBackend` started, if any. */
export async function currentBackend(): Promise<BackendInfo | undefined> {
  if (settled === undefined) return undefined;
  try {
    return await settled.info;
  } catch {
    return undefined;
  }
}

async function selectBackend(preference: BackendPreference): Promise<BackendInfo> {
  // Node has no console to spare for tfjs's "install the node backend" banners; the run log names the backend.
  tf.env().set('PROD', true);
  if (preference !== 'auto') {
    try {
      return { name: preference, detail: await startBackend(preference), automatic: false };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new BackendError(`backend '${preference}' was requested but cannot start: ${reason}`);
    }
  }
  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    try {
      return { name, detail: await startBackend(name), automatic: true };
    } catch (error) {
      // Any failure of one candidate (missing package, no adapter, a driver error) means: try the next one.
      skipped.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new BackendError(`no TensorFlow.js backend could start (${skipped.join('; ')})`);
}

/** Starts one backend and returns its detail, or throws BackendUnavailable saying why not. */
async function startBackend(name: BackendName): Promise<string> {
  switch (name) {
    case 'tfjs-node-gpu':
      if (!nvidiaGpuPresent()) throw new BackendUnavailable('no NVIDIA GPU device found under /dev');
      return startNative('@tensorflow/tfjs-node-gpu');
    case 'tfjs-node':
      return startNative('@tensorflow/tfjs-node');
    case 'webgpu':
      return activate('webgpu', await startWebGpuOrSkip(), 'webgpu');
    case 'wasm':
      return startWasm();
    case 'cpu':
      return activate('cpu', `plain JavaScript, tfjs-backend-cpu ${version_cpu}`, 'cpu');
  }
}

/** Makes a registered backend current; `tf.setBackend` reports failure as `false` or a rejection. */
async function activate(backendName: string, detail: string, label: string): Promise<string> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(backendName);
  } catch (error) {
    throw new BackendUnavailable(
      `${label} failed to initialise: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!ok) throw new BackendUnavailable(`${label} failed to initialise`);
  await tf.ready();
  return detail;
}

async function startWebGpuOrSkip(): Promise<string> {
  try {
    return await startWebGpu();
  } catch (error) {
    if (error instanceof WebGpuUnavailable) throw new BackendUnavailable(error.message);
    throw error;
  }
}

/** Resolved the way Node would, before importing: loaders (vitest, bundlers) report a missing module differently. */
function isInstalled(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${packageName}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function nvidiaGpuPresent(): boolean {
  try {
    return readdirSync('/dev').some((entry) => /^nvidia\d+$/.test(entry));
  } catch {
    return false;
  }
}

/**
 * tfjs-node and tfjs-node-gpu register a backend named `tensorflow` on import. They are optional peers, so the
 * specifier is a variable: TypeScript must not require their types, and a missing package is a normal outcome.
 */
async function startNative(packageName: string): Promise<string> {
  if (!isInstalled(packageName)) {
    throw new BackendUnavailable(
      `${packageName} is not installed (it is an optional peer: \`npm install ${packageName}@4.22.0\` ` +
        'downloads libtensorflow at install time, so it needs internet access)',
    );
  }
  const specifier: string = packageName;
  let loaded: unknown;
  try {
    loaded = await import(specifier);
  } catch (error) {
    throw new BackendUnavailable(
      `${packageName} failed to load: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    throw new BackendUnavailable(
      `${packageName} loaded but registered no 'tensorflow' backend with this copy of @tensorflow/tfjs-core ` +
        '(two copies of tfjs-core are installed; they must be the same 4.22.0 package)',
    );
  }
  const version = (loaded as { version?: { 'tfjs-node'?: unknown } }).version?.['tfjs-node'];
  return activate(
    'tensorflow',
    `libtensorflow via ${packageName}${typeof version === 'string' ? ` ${version}` : ''}`,
    packageName,
  );
}

/**
 * The SIMD, single-threaded binary: tfjs's threaded build spawns workers from blob URLs, which Node cannot run,
 * and tfjs itself reports no thread support under Node. Paths are files, resolved from this package's install.
 */
let wasmPathsSet = false;
async function startWasm(): Promise<string> {
  if (!wasmPathsSet) {
    const require = createRequire(import.meta.url);
    const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
    const dist = path.join(path.dirname(packageJson), 'dist');
    if (!existsSync(path.join(dist, 'tfjs-backend-wasm-simd.wasm'))) {
      throw new BackendUnavailable(`the WebAssembly binaries are missing from ${dist}`);
    }
    setWasmPaths(`${dist}${path.sep}`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmPathsSet = true;
  }
  const exceptionHandlers = process.listeners('uncaughtException');
  const rejectionHandlers = process.listeners('unhandledRejection');
  try {
    await activate('wasm', '', 'wasm');
  } finally {
    // Emscripten's loader installs process handlers that rethrow every uncaught error with its minified source
    // line as the message; a CLI must keep Node's default reporting (and its own MalError printing).
    for (const listener of process.listeners('uncaughtException')) {
      if (!exceptionHandlers.includes(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!rejectionHandlers.includes(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return simd === true ? 'simd, 1 thread' : 'no simd, 1 thread';
}
