import * as tf from '@tensorflow/tfjs-core';

/** Per-unit mean and standard deviation (population: divided by the count) of one set of activations. */
export interface UnitMoments {
  readonly mean: Float64Array;
  readonly std: Float64Array;
  /** Values seen per unit: examples, times spatial positions for a convolution. */
  readonly count: number;
}

/**
 * Streams per-unit sums of `[rows, units]` batches. Each batch is reduced in float32 on the tfjs backend and
 * added to float64 totals; the values are first shifted by the first batch's means, so the sums of squares do
 * not cancel catastrophically when a unit's mean is large against its spread (the shifted-data algorithm).
 */
export class UnitMomentsAccumulator {
  private shiftTensor: tf.Tensor1D | undefined;
  private shiftValues: Float64Array | undefined;
  private readonly sum: Float64Array;
  private readonly sumSquares: Float64Array;
  private rows = 0;

  constructor(readonly units: number) {
    this.sum = new Float64Array(units);
    this.sumSquares = new Float64Array(units);
  }

  /** The shift of every unit, fixed by the first batch; the caller must not dispose it. */
  shift(x: tf.Tensor2D): tf.Tensor1D {
    if (this.shiftTensor === undefined) {
      this.shiftTensor = tf.keep(tf.tidy(() => tf.mean(x, 0) as tf.Tensor1D));
      this.shiftValues = Float64Array.from(this.shiftTensor.dataSync());
    }
    return this.shiftTensor;
  }

  /** Adds a batch `[rows, units]` and returns it shifted (a new tensor the caller disposes). */
  add(x: tf.Tensor2D): tf.Tensor2D {
    const shift = this.shift(x);
    const shifted = tf.tidy(() => tf.sub(x, shift) as tf.Tensor2D);
    const [sums, squares] = tf.tidy(() => [tf.sum(shifted, 0), tf.sum(tf.square(shifted), 0)]);
    const sumData = sums.dataSync();
    const squareData = squares.dataSync();
    sums.dispose();
    squares.dispose();
    for (let u = 0; u < this.units; u++) {
      this.sum[u] += sumData[u];
      this.sumSquares[u] += squareData[u];
    }
    this.rows += x.shape[0];
    return shifted;
  }

  get count(): number {
    return this.rows;
  }

  /** Shifted mean of every unit (mean minus shift), for cross moments. */
  shiftedMean(): Float64Array {
    return this.sum.map((s) => (this.rows === 0 ? 0 : s / this.rows));
  }

  moments(): UnitMoments {
    const mean = new Float64Array(this.units);
    const std = new Float64Array(this.units);
    for (let u = 0; u < this.units; u++) {
      const m = this.rows === 0 ? 0 : this.sum[u] / this.rows;
      mean[u] = (this.shiftValues?.[u] ?? 0) + m;
      std[u] = this.rows === 0 ? 0 : Math.sqrt(Math.max(0, this.sumSquares[u] / this.rows - m * m));
    }
    return { mean, std, count: this.rows };
  }

  dispose(): void {
    this.shiftTensor?.dispose();
  }
}

/**
 * Streams the Pearson correlation between every unit of one activation set (`a` units) and every unit of
 * another (`b` units) seen on the same rows: `Σ (x−kx)ᵀ(y−ky)` per batch as one float32 product, summed in
 * float64, plus the two sides' own moments.
 */
export class CrossMomentsAccumulator {
  readonly left: UnitMomentsAccumulator;
  readonly right: UnitMomentsAccumulator;
  private readonly cross: Float64Array;

  constructor(
    readonly leftUnits: number,
    readonly rightUnits: number,
  ) {
    this.left = new UnitMomentsAccumulator(leftUnits);
    this.right = new UnitMomentsAccumulator(rightUnits);
    this.cross = new Float64Array(leftUnits * rightUnits);
  }

  add(x: tf.Tensor2D, y: tf.Tensor2D): void {
    const xs = this.left.add(x);
    const ys = this.right.add(y);
    // An explicit transpose: tfjs wasm runs matMul with a transposed operand much slower (COMPUTE.md).
    const product = tf.tidy(() => tf.matMul(tf.transpose(xs), ys));
    const data = product.dataSync();
    product.dispose();
    xs.dispose();
    ys.dispose();
    for (let i = 0; i < data.length; i++) this.cross[i] += data[i];
  }

  /** Row-major `[a, b]` correlations; a unit that never varies correlates 0 with everything. */
  correlation(): Float64Array {
    const n = this.left.count;
    const out = new Float64Array(this.leftUnits * this.rightUnits);
    if (n === 0) return out;
    const mx = this.left.shiftedMean();
    const my = this.right.shiftedMean();
    const sx = this.left.moments().std;
    const sy = this.right.moments().std;
    for (let i = 0; i < this.leftUnits; i++) {
      for (let j = 0; j < this.rightUnits; j++) {
        const denominator = sx[i] * sy[j];
        const covariance = this.cross[i * this.rightUnits + j] / n - mx[i] * my[j];
        // Clamped: float rounding can push a perfect correlation past ±1.
        out[i * this.rightUnits + j] =
          denominator > 0 ? Math.max(-1, Math.min(1, covariance / denominator)) : 0;
      }
    }
    return out;
  }

  dispose(): void {
    this.left.dispose();
    this.right.dispose();
  }
}
