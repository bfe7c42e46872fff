/** One point of a linear-mode-connectivity curve: the merged model at merge factor λ, evaluated. */
export interface LmcPoint {
  readonly lambda: number;
  readonly loss: number;
  readonly accuracy: number;
}

/** What MAL §5 reports about a curve. */
export interface LmcSummary {
  /** Mean loss over the grid: the paper's heatmap metric. */
  readonly meanLoss: number;
  /** `max_λ [L(λ) − ((1−λ)·L(0) + λ·L(1))]`: how far the curve rises above the straight line between its ends. */
  readonly barrier: number;
  readonly barrierLambda: number;
  /** The merge-factor threshold λ*: the largest grid λ such that every grid point up to it has `L ≤ L(0) + ε`. */
  readonly threshold: number;
  /** The ε used for λ*, in loss units. */
  readonly epsilon: number;
}

export interface LmcSummaryOptions {
  /** ε as a fraction of L(0) (default 0.01: 1%). */
  readonly epsilonFraction?: number;
}

/** Summarises a curve whose points are sorted by λ, starting at λ = 0 and ending at λ = 1. */
export function summarizeLmc(points: readonly LmcPoint[], options: LmcSummaryOptions = {}): LmcSummary {
  if (points.length < 2) throw new RangeError('an LMC curve needs at least two points');
  for (let i = 1; i < points.length; i++) {
    if (!(points[i].lambda > points[i - 1].lambda))
      throw new RangeError('LMC points must be sorted by increasing λ');
  }
  const first = points[0];
  const last = points[points.length - 1];
  if (first.lambda !== 0 || last.lambda !== 1) {
    throw new RangeError(`an LMC grid must run from λ = 0 to λ = 1, got ${first.lambda} to ${last.lambda}`);
  }
  const epsilon = (options.epsilonFraction ?? 0.01) * Math.abs(first.loss);
  let barrier = Number.NEGATIVE_INFINITY;
  let barrierLambda = 0;
  let sum = 0;
  for (const p of points) {
    sum += p.loss;
    const line = (1 - p.lambda) * first.loss + p.lambda * last.loss;
    if (p.loss - line > barrier) {
      barrier = p.loss - line;
      barrierLambda = p.lambda;
    }
  }
  let threshold = 0;
  for (const p of points) {
    if (p.loss > first.loss + epsilon) break;
    threshold = p.lambda;
  }
  return { meanLoss: sum / points.length, barrier, barrierLambda, threshold, epsilon };
}
