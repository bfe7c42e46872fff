import { availableParallelism } from 'node:os';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { checkMatmulOperands, type MatmulTransposedEngine } from './matmul-engine.js';
import { MODEL_INPUT_A, MODEL_INPUT_B, MODEL_OUTPUT, onnxMatmulModel } from './onnx-matmul-model.js';
import { disableOnnxruntimeTelemetry } from './onnxruntime-telemetry.js';

export interface OnnxruntimeMatmulOptions {
  /** Threads of onnxruntime's intra-op pool; defaults to every core. */
  readonly threads?: number;
  /**
   * Upper bound on the elements of `A` handed to one native call (at least one row per call). onnxruntime-node
   * wraps the input arrays without copying and writes into the preallocated result, so this does not bound
   * the operands' own memory (the caller holds them); it bounds what a single call may allocate on the side and
   * how long one call blocks the event loop (a call runs synchronously on the main thread).
   */
  readonly maxRowBlockElements?: number;
  /**
   * Whether idle pool threads spin waiting for work. Off by default: between products the caller solves
   * assignment problems on the main thread, and spinning threads would take cores away from it.
   */
  readonly allowSpinning?: boolean;
}

/**
 * 2 Mi elements (8 MiB of A) per call: ~512 rows at depth 4096. Smaller calls ran faster than whole products on
 * 2 cores (bench/gemm.ts, row blocks): 11008²×4096 at 157–175 GFLOP/s against 120–132 in one call, 4096³ at
 * 146–173 against 133–151; 1 Mi was slower again (per-call costs).
 */
export const DEFAULT_MAX_ROW_BLOCK_ELEMENTS = 1 << 21;

type OnnxruntimeModule = typeof import('onnxruntime-node');

/**
 * `A·Bᵀ` on onnxruntime's CPU execution provider (MLAS SGEMM) through one cached session of a one-node Gemm
 * model with `transB = 1` and symbolic dimensions, so that one session serves every shape.
 *
 * Gemm with `transB` was measured faster than MatMul on a pre-transposed B (bench/gemm.ts, 2 cores, n = 1024–4096:
 * ~345–405 vs ~210–340 GFLOP/s on a quieter machine, not counting the transposition; counting it, under load
 * from other processes, Gemm won in most runs), and it takes both operands in the layout the cost-matrix builder already has, with no copy.
 *
 * Precision: onnxruntime accumulates in float32, so each entry carries a relative error of order
 * `√depth · 2⁻²⁴` (at worst `depth · 2⁻²⁴`) of `Σ|aₖ·bₖ|`, against float64 in the TypeScript engine. Cost matrices
 * built from it therefore have float32 precision. The assignment solver takes float32 costs anyway, so only
 * near-ties closer than float32 resolution can resolve differently from the float64 path.
 */
export class OnnxruntimeMatmulEngine implements MatmulTransposedEngine {
  readonly name: string;

  private constructor(
    private readonly ort: OnnxruntimeModule,
    private readonly session: InferenceSession,
    private readonly sessionTransposedA: InferenceSession,
    private readonly maxRowBlockElements: number,
    threads: number,
  ) {
    this.name = `onnxruntime-gemm-f32(${threads} thread${threads === 1 ? '' : 's'})`;
  }

  /** Loads onnxruntime-node and builds the session; rejects where the native binaries cannot load. */
  static async create(options: OnnxruntimeMatmulOptions = {}): Promise<OnnxruntimeMatmulEngine> {
    const threads = options.threads ?? availableParallelism();
    const maxRowBlockElements = options.maxRowBlockElements ?? DEFAULT_MAX_ROW_BLOCK_ELEMENTS;
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError('onnxruntime engine: threads must be ≥ 1');
    if (!(maxRowBlockElements >= 1))
      throw new RangeError('onnxruntime engine: maxRowBlockElements must be ≥ 1');
    // In time on the main thread: the library reads it at its first session. In a worker thread it is too late
    // and has no effect; the thread pools call this before they start.
    disableOnnxruntimeTelemetry();
    const ort: OnnxruntimeModule = await import('onnxruntime-node');
    const sessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } },
    } as const;
    const session = await ort.InferenceSession.create(onnxMatmulModel('gemm-transposed-b'), sessionOptions);
    const sessionTransposedA = await ort.InferenceSession.create(
      onnxMatmulModel('gemm-transposed-a'),
      sessionOptions,
    );
    return new OnnxruntimeMatmulEngine(ort, session, sessionTransposedA, maxRowBlockElements, threads);
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
    // Empty products: nothing to compute, and a zero depth is a zero matrix.
    if (rows === 0 || cols === 0 || depth === 0) return c;
    const bTensor = this.tensor(b, cols, depth);
    const blockRows = Math.max(1, Math.min(rows, Math.floor(this.maxRowBlockElements / depth)));
    for (let r0 = 0; r0 < rows; r0 += blockRows) {
      const r1 = Math.min(rows, r0 + blockRows);
      const aBlock = this.tensor(a.subarray(r0 * depth, r1 * depth), r1 - r0, depth);
      // The output tensor views the result's rows, so onnxruntime writes them in place.
      const cBlock = this.tensor(c.subarray(r0 * cols, r1 * cols), r1 - r0, cols);
      await this.session.run(
        { [MODEL_INPUT_A]: aBlock, [MODEL_INPUT_B]: bTensor },
        { [MODEL_OUTPUT]: cBlock },
      );
    }
    return c;
  }

  /** `Aᵀ·B` with A as depth × rows, in one call: blocks of A's columns would need strided copies. */
  async runTransposedA(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array> {
    checkMatmulOperands(this.name, a, b, rows, cols, depth);
    const c = new Float32Array(rows * cols);
    if (rows === 0 || cols === 0 || depth === 0) return c;
    await this.sessionTransposedA.run(
      { [MODEL_INPUT_A]: this.tensor(a, depth, rows), [MODEL_INPUT_B]: this.tensor(b, depth, cols) },
      { [MODEL_OUTPUT]: this.tensor(c, rows, cols) },
    );
    return c;
  }

  /** Releases the native sessions; the engine cannot run afterwards. */
  async dispose(): Promise<void> {
    await this.session.release();
    await this.sessionTransposedA.release();
  }

  private tensor(data: Float32Array, rows: number, cols: number): Tensor {
    return new this.ort.Tensor('float32', data, [rows, cols]);
  }
}
