import * as tf from '@tensorflow/tfjs-core';
import { checkMatmulOperands, type MatmulTransposedEngine, transpose } from './matmul-engine.js';
import { MatmulEngineError } from './matmul-engine-error.js';

/**
 * Where the operands' transposes happen: in the backend's matmul kernel (`transposeA` / `transposeB`), or on the
 * host before upload, so that the kernel multiplies plain row-major operands. On tfjs's wasm backend the two ran
 * at the same speed here (512³ and 256²·1024, 2-core machine, bench/gpu-matmul-check.ts --backend wasm); which is
 * faster on WebGPU is what bench/gpu-matmul-check.ts measures on a GPU machine.
 */
export type TfjsTransposeSite = 'kernel' | 'host';

export interface TfjsMatmulOptions {
  /** What the engine's name says after the backend's: the GPU adapter, for instance. */
  readonly detail?: string;
  /**
   * The largest tensor, in bytes, handed to the backend at once; products with larger operands or results run in
   * tiles. Default: the device's buffer limits on WebGPU (min of maxBufferSize and maxStorageBufferBindingSize),
   * no limit elsewhere.
   */
  readonly maxTensorBytes?: number;
  /** Default: `kernel`. */
  readonly transposeSite?: TfjsTransposeSite;
}

const BYTES_PER_FLOAT32 = 4;

/** The part of tfjs-backend-webgpu's backend that holds its device's limits, read without importing the package. */
interface WebGpuBackendLimits {
  readonly device?: { readonly limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } };
}

/**
 * `A·Bᵀ` (and `Aᵀ·B`) as float32 on a TensorFlow.js backend chosen by name (`webgpu` on a GPU, `cpu` or `wasm`
 * elsewhere), whichever backend is TensorFlow.js's current one: the engine calls the backend's BatchMatMul kernel
 * directly, so cost-matrix products on the GPU do not move the forward passes' tensors to another backend, and
 * the forward passes do not move the products' operands. Every tensor it writes to the backend it disposes before
 * the call returns, on success or failure (tfjs's tensor tracking never sees them; the backend's `numDataIds` does).
 *
 * Products larger than `maxTensorBytes` run in tiles: `run` splits A into row blocks and B into row blocks
 * (column blocks of the result), `runTransposedA` splits the shared depth and adds the partial products here in
 * float32; a result too large even for that goes through `run` on host transposes.
 *
 * On WebGPU, tfjs keeps freed GPU buffers for reuse, one pool per exact size, and never returns them to the
 * device: products of many distinct shapes grow the GPU memory held (bench/gpu-matmul-check.ts reports it).
 */
export class TfjsMatmulEngine implements MatmulTransposedEngine {
  readonly name: string;

  private constructor(
    readonly backendName: string,
    private readonly batchMatMul: tf.KernelFunc,
    /** Elements of the largest tensor handed to the backend. */
    readonly maxTensorElements: number,
    readonly transposeSite: TfjsTransposeSite,
    detail: string | undefined,
  ) {
    this.name = `tfjs-${backendName}${detail === undefined || detail === '' ? '' : `(${detail})`}`;
  }

  /**
   * An engine on the registered backend `backendName`, initialising that backend if it was not yet (without
   * making it TensorFlow.js's current backend). Rejects with MatmulEngineError if no such backend is registered,
   * it fails to initialise, or it has no BatchMatMul kernel.
   */
  static async create(backendName: string, options: TfjsMatmulOptions = {}): Promise<TfjsMatmulEngine> {
    // tfjs's cpu backend prints an "install tfjs-node" banner at its first write; the run log names the engine.
    tf.env().set('PROD', true);
    if (tf.findBackendFactory(backendName) === null) {
      throw new MatmulEngineError(
        `tfjs matmul engine: no TensorFlow.js backend named '${backendName}' is registered ` +
          `(registered: ${tf.engine().backendNames().join(', ') || 'none'})`,
      );
    }
    let backend = tf.findBackend(backendName);
    if (backend === null) {
      // An asynchronous factory (wasm) was started by findBackend; ready() waits for it.
      await tf.ready();
      backend = tf.findBackend(backendName);
    }
    if (backend === null) {
      throw new MatmulEngineError(`tfjs matmul engine: backend '${backendName}' failed to initialise`);
    }
    const kernel = tf.getKernel(tf.BatchMatMul, backendName);
    if (kernel === undefined) {
      throw new MatmulEngineError(`tfjs matmul engine: backend '${backendName}' has no BatchMatMul kernel`);
    }
    const maxTensorBytes = options.maxTensorBytes ?? deviceTensorBytes(backend);
    if (!(maxTensorBytes >= BYTES_PER_FLOAT32)) {
      throw new RangeError(`tfjs matmul engine: maxTensorBytes must be ≥ ${BYTES_PER_FLOAT32}`);
    }
    const maxTensorElements = Math.floor(maxTensorBytes / BYTES_PER_FLOAT32);
    const site = options.transposeSite ?? 'kernel';
    return new TfjsMatmulEngine(backendName, kernel.kernelFunc, maxTensorElements, site, options.detail);
  }

  async run(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array> {
    checkMatmulOperands(this.name, a, b, rows, cols, depth);
    const c = new Float32Array(rows * cols);
    if (rows === 0 || cols === 0 || depth === 0) return c;
    const limit = this.maxTensorElements;
    if (depth > limit) throw this.tooLarge(`one row of depth ${depth}`);
    const backend = this.backend();
    const colBlock = Math.min(cols, Math.floor(limit / depth));
    const rowBlock = Math.min(rows, Math.floor(limit / depth), Math.floor(limit / colBlock));
    const onHost = this.transposeSite === 'host';
    for (let c0 = 0; c0 < cols; c0 += colBlock) {
      const width = Math.min(cols, c0 + colBlock) - c0;
      const bTile = b.subarray(c0 * depth, (c0 + width) * depth);
      const bInfo = onHost
        ? write(backend, transpose(bTile, width, depth), depth, width)
        : write(backend, bTile, width, depth);
      try {
        for (let r0 = 0; r0 < rows; r0 += rowBlock) {
          const height = Math.min(rows, r0 + rowBlock) - r0;
          const aInfo = write(backend, a.subarray(r0 * depth, (r0 + height) * depth), height, depth);
          let block: Float32Array;
          try {
            block = await this.multiply(backend, aInfo, bInfo, false, !onHost, height * width);
          } finally {
            backend.disposeData(aInfo.dataId);
          }
          if (height === rows && width === cols) return block;
          if (width === cols) c.set(block, r0 * cols);
          else
            for (let i = 0; i < height; i++)
              c.set(block.subarray(i * width, (i + 1) * width), (r0 + i) * cols + c0);
        }
      } finally {
        backend.disposeData(bInfo.dataId);
      }
    }
    return c;
  }

  async runTransposedA(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array> {
    checkMatmulOperands(this.name, a, b, rows, cols, depth);
    if (rows === 0 || cols === 0 || depth === 0) return new Float32Array(rows * cols);
    const limit = this.maxTensorElements;
    // Splitting the depth keeps each tile of A and B contiguous, but every partial product is the whole result.
    if (rows * cols > limit)
      return this.run(transpose(a, depth, rows), transpose(b, depth, cols), rows, cols, depth);
    const depthBlock = Math.min(depth, Math.floor(limit / rows), Math.floor(limit / cols));
    const onHost = this.transposeSite === 'host';
    const backend = this.backend();
    let c: Float32Array | undefined;
    for (let k0 = 0; k0 < depth; k0 += depthBlock) {
      const span = Math.min(depth, k0 + depthBlock) - k0;
      const aTile = a.subarray(k0 * rows, (k0 + span) * rows);
      const aInfo = onHost
        ? write(backend, transpose(aTile, span, rows), rows, span)
        : write(backend, aTile, span, rows);
      let partial: Float32Array;
      try {
        const bInfo = write(backend, b.subarray(k0 * cols, (k0 + span) * cols), span, cols);
        try {
          partial = await this.multiply(backend, aInfo, bInfo, !onHost, false, rows * cols);
        } finally {
          backend.disposeData(bInfo.dataId);
        }
      } finally {
        backend.disposeData(aInfo.dataId);
      }
      if (c === undefined) c = partial;
      else for (let i = 0; i < c.length; i++) c[i] += partial[i];
    }
    return c ?? new Float32Array(rows * cols);
  }

  /**
   * The backend's instance, looked up per product: when nothing has chosen TensorFlow.js's current backend yet,
   * the first operation that needs one makes tfjs build a fresh instance of every backend it tries, replacing the
   * one this engine initialised.
   */
  private backend(): tf.KernelBackend {
    const backend = tf.findBackend(this.backendName);
    if (backend === null) throw new MatmulEngineError(`${this.name}: the backend is no longer registered`);
    return backend;
  }

  /** One BatchMatMul on the backend, read back to the host; the result tensor is disposed once read. */
  private async multiply(
    backend: tf.KernelBackend,
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    transposeA: boolean,
    transposeB: boolean,
    expectedLength: number,
  ): Promise<Float32Array> {
    const output = this.batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } });
    const outputs = Array.isArray(output) ? output : [output];
    try {
      const values = await backend.read(outputs[0].dataId);
      if (!(values instanceof Float32Array) || values.length !== expectedLength) {
        throw new MatmulEngineError(
          `${this.name}: BatchMatMul returned ${values.length} values of type ${values.constructor.name}, ` +
            `not ${expectedLength} float32`,
        );
      }
      return values;
    } finally {
      for (const info of outputs) backend.disposeData(info.dataId);
    }
  }

  private tooLarge(what: string): MatmulEngineError {
    return new MatmulEngineError(
      `${this.name}: ${what} does not fit in the ${this.maxTensorElements * BYTES_PER_FLOAT32} bytes a tensor may ` +
        'hold on this backend',
    );
  }
}

/** Hands a row-major `rows × cols` float32 array to the backend, which may keep a reference until disposed. */
function write(backend: tf.KernelBackend, values: Float32Array, rows: number, cols: number): tf.TensorInfo {
  const shape = [rows, cols];
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

/** The device's per-buffer limit on WebGPU (both the buffer and its storage binding must hold a tensor). */
function deviceTensorBytes(backend: tf.KernelBackend): number {
  const limits = (backend as WebGpuBackendLimits).device?.limits;
  if (limits === undefined) return Number.POSITIVE_INFINITY;
  const bytes = Math.min(
    limits.maxBufferSize ?? Number.POSITIVE_INFINITY,
    limits.maxStorageBufferBindingSize ?? Number.POSITIVE_INFINITY,
  );
  return bytes;
}
