import { checkMatmulOperands, type MatmulTransposedEngine, runTransposedA } from './matmul-engine.js';

/**
 * Products up to this many multiply-adds (rows × cols × depth) go to the small-product engine. Measured with
 * bench/gemm.ts (small-products section) on the 2-core development machine: an onnxruntime call costs ~9 µs
 * however small, the TypeScript kernel ~0.7 ns per multiply-add, so they tie near 24³ (13 824): 16³ took
 * 2.8 µs vs 8.7, 32³ 20 µs vs 9. Below the threshold the TypeScript kernel also keeps float64 accumulation.
 */
export const DEFAULT_SMALL_PRODUCT_MULTIPLY_ADDS = 1 << 14;

/**
 * Sends each product to one of two engines by size: tiny products, where a native call's fixed cost dominates,
 * to `small`; the rest to `large`.
 */
export class SizeSwitchingMatmulEngine implements MatmulTransposedEngine {
  readonly name: string;

  constructor(
    private readonly small: MatmulTransposedEngine,
    private readonly large: MatmulTransposedEngine,
    private readonly smallProductMultiplyAdds = DEFAULT_SMALL_PRODUCT_MULTIPLY_ADDS,
  ) {
    this.name = `${large.name}, ${small.name} up to ${smallProductMultiplyAdds} multiply-adds`;
  }

  async run(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array | Float64Array> {
    checkMatmulOperands(this.name, a, b, rows, cols, depth);
    return this.engineFor(rows, cols, depth).run(a, b, rows, cols, depth);
  }

  async runTransposedA(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array | Float64Array> {
    checkMatmulOperands(this.name, a, b, rows, cols, depth);
    return runTransposedA(this.engineFor(rows, cols, depth), a, b, rows, cols, depth);
  }

  private engineFor(rows: number, cols: number, depth: number): MatmulTransposedEngine {
    return rows * cols * depth <= this.smallProductMultiplyAdds ? this.small : this.large;
  }
}
