import { checkMatmulOperands, type MatmulTransposedEngine } from './matmul-engine.js';
import { matmulTransposed } from './matmul-transposed.js';

/**
 * The dependency-free engine: the TypeScript kernel with float64 accumulation. Slow on large products
 * (a few GFLOP/s) but exact to double precision and free of native call overhead, so it is both the fallback
 * where onnxruntime cannot load and the better choice for tiny products.
 */
export class TypescriptMatmulEngine implements MatmulTransposedEngine {
  readonly name = 'typescript-f64';

  async run(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float64Array> {
    checkMatmulOperands(this.name, a, b, rows, cols, depth);
    return matmulTransposed(a, b, rows, cols, depth);
  }
}
