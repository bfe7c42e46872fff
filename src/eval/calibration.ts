/**
 * Output calibration (MAL §7): per-class shifts `d` of the logits, optionally with a temperature `T`, fitted to
 * minimise the mean cross-entropy of softmax(logits / T + d) on labelled data. It corrects a model's class prior
 * (and its confidence) without touching what it has learnt, which makes it the baseline any knowledge transfer
 * has to beat.
 */

import { MalError } from '../errors.js';
import { choleskyFactor, choleskySolve } from '../linalg/cholesky.js';

export const CALIBRATION_KINDS = ['biases', 'temperature-biases'] as const;
export type CalibrationKind = (typeof CALIBRATION_KINDS)[number];

export interface Calibration {
  readonly kind: CalibrationKind;
  /** 1 for kind `biases`. */
  readonly temperature: number;
  /** One shift per class, with mean 0 (softmax ignores a common shift, so this is the one representative). */
  readonly biases: readonly number[];
}

/** Logits of N examples over C classes, row-major, as a forward pass returns them. */
export interface LogitsTable {
  readonly logits: Float32Array;
  readonly classes: number;
}

export interface CalibrationFit extends Calibration {
  /** Weighted mean cross-entropy before and after, in nats. */
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly iterations: number;
}

export interface CalibrationFitOptions {
  /** One weight per example (≥ 0, not all 0); equal weights by default. Normalised to sum to 1. */
  readonly weights?: Float64Array;
  /** Newton iterations at most; default 100. */
  readonly maxIterations?: number;
}

/** Calibration cannot be fitted on the data given (no examples, labels out of range, bad weights). */
export class CalibrationError extends MalError {
  override readonly name = 'CalibrationError';
}

/**
 * The classes among 0..classes−1 that no example with a positive weight carries. Their fitted shift has no finite
 * optimum: the fit pushes it down until it stops iterating, and the calibrated model all but never predicts them.
 */
export function classesWithoutExamples(
  labels: ArrayLike<number>,
  classes: number,
  weights?: ArrayLike<number>,
): number[] {
  const seen = new Uint8Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label >= 0 && label < classes && (weights === undefined || weights[i] > 0)) seen[label] = 1;
  }
  const missing: number[] = [];
  seen.forEach((s, c) => {
    if (s === 0) missing.push(c);
  });
  return missing;
}

/** The calibration that changes nothing. */
export function identityCalibration(kind: CalibrationKind, classes: number): Calibration {
  return { kind, temperature: 1, biases: new Array<number>(classes).fill(0) };
}

/**
 * Fits the calibration by Newton's method in float64. With u = 1/T the calibrated logits u·x + d are linear in
 * (u, d), so the cross-entropy is convex in them and Newton with a backtracking line search converges from the
 * identity. Softmax ignores a common shift of d; a penalty ½·(Σd)²/C removes that flat direction (its minimum is
 * the mean-zero representative) and keeps the Hessian definite. Deterministic: no randomness, fixed order.
 */
export function fitCalibration(
  table: LogitsTable,
  labels: Int32Array,
  kind: CalibrationKind,
  options: CalibrationFitOptions = {},
): CalibrationFit {
  const { logits, classes } = table;
  const count = labels.length;
  checkInputs(logits, classes, labels, options.weights);
  const weights = normalisedWeights(count, options.weights);
  const withTemperature = kind === 'temperature-biases';
  // Parameters: d_0..d_{C−1}, then u when the temperature is fitted.
  const size = classes + (withTemperature ? 1 : 0);
  let params: Float64Array = new Float64Array(size);
  if (withTemperature) params[classes] = 1;
  const problem: Problem = { logits, classes, labels, weights, withTemperature };
  const lossBefore = objective(problem, params);
  let loss = lossBefore;
  let iterations = 0;
  const maxIterations = options.maxIterations ?? 100;
  while (iterations < maxIterations) {
    iterations++;
    const { gradient, hessian } = derivatives(problem, params);
    const direction = solveNewton(hessian, gradient, size);
    let slope = 0;
    for (let k = 0; k < size; k++) slope += gradient[k] * direction[k];
    if (!(slope < 0) || -slope < 1e-15 * Math.max(1, Math.abs(loss))) break;
    let step = 1;
    let accepted: Float64Array | undefined;
    let acceptedLoss = loss;
    for (let tries = 0; tries < 60; tries++, step /= 2) {
      const trial = new Float64Array(size);
      for (let k = 0; k < size; k++) trial[k] = params[k] + step * direction[k];
      if (withTemperature && !(trial[classes] > 0)) continue;
      const trialLoss = objective(problem, trial);
      if (trialLoss <= loss + 1e-4 * step * slope) {
        accepted = trial;
        acceptedLoss = trialLoss;
        break;
      }
    }
    if (accepted === undefined) break;
    const improvement = loss - acceptedLoss;
    params = accepted;
    loss = acceptedLoss;
    if (improvement <= 1e-14 * Math.max(1, Math.abs(loss))) break;
  }
  let mean = 0;
  for (let c = 0; c < classes; c++) mean += params[c] / classes;
  const biases = Array.from({ length: classes }, (_, c) => params[c] - mean);
  const temperature = withTemperature ? 1 / params[classes] : 1;
  const calibration: Calibration = { kind, temperature, biases };
  return {
    ...calibration,
    lossBefore,
    lossAfter: weightedCrossEntropy(problem, calibration),
    iterations,
  };
}

/** softmax-ready logits after calibration: x / T + d, float32 as the model would produce them. */
export function calibrateLogits(table: LogitsTable, calibration: Calibration): Float32Array {
  const { logits, classes } = table;
  const out = new Float32Array(logits.length);
  const u = 1 / calibration.temperature;
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] * u + calibration.biases[i % classes];
  return out;
}

interface Problem {
  readonly logits: Float32Array;
  readonly classes: number;
  readonly labels: Int32Array;
  readonly weights: Float64Array;
  readonly withTemperature: boolean;
}

function checkInputs(
  logits: Float32Array,
  classes: number,
  labels: Int32Array,
  weights: Float64Array | undefined,
): void {
  if (!Number.isInteger(classes) || classes < 2)
    throw new CalibrationError(`calibration needs at least 2 classes, got ${classes}`);
  if (labels.length === 0) throw new CalibrationError('calibration needs at least one labelled example');
  if (logits.length !== labels.length * classes)
    throw new CalibrationError(
      `calibration: ${logits.length} logits are not ${labels.length} examples × ${classes} classes`,
    );
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < classes))
      throw new CalibrationError(
        `calibration: example ${i} has label ${labels[i]}, outside the model's ${classes} classes`,
      );
  }
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i]))
      throw new CalibrationError(
        `calibration: the logit of example ${Math.floor(i / classes)}, class ${i % classes} is ${logits[i]}; the model's outputs must be finite`,
      );
  }
  if (weights !== undefined && weights.length !== labels.length)
    throw new CalibrationError(
      `calibration: ${weights.length} example weights for ${labels.length} examples`,
    );
}

function normalisedWeights(count: number, given: Float64Array | undefined): Float64Array {
  const weights = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const w = given === undefined ? 1 : given[i];
    if (!(w >= 0 && Number.isFinite(w)))
      throw new CalibrationError(`calibration: example ${i} has weight ${w}; weights must be finite and ≥ 0`);
    weights[i] = w;
    sum += w;
  }
  if (!(sum > 0)) throw new CalibrationError('calibration: every example weight is 0');
  for (let i = 0; i < count; i++) weights[i] /= sum;
  return weights;
}

/** Weighted mean cross-entropy of the calibrated logits, in float64. */
function weightedCrossEntropy(problem: Problem, calibration: Calibration): number {
  const params = new Float64Array(problem.classes + 1);
  for (let c = 0; c < problem.classes; c++) params[c] = calibration.biases[c];
  params[problem.classes] = 1 / calibration.temperature;
  return crossEntropy({ ...problem, withTemperature: true }, params);
}

function crossEntropy(problem: Problem, params: Float64Array): number {
  const { logits, classes, labels, weights, withTemperature } = problem;
  const u = withTemperature ? params[classes] : 1;
  const z = new Float64Array(classes);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      z[c] = u * logits[i * classes + c] + params[c];
      if (z[c] > max) max = z[c];
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(z[c] - max);
    total += weights[i] * (max + Math.log(sum) - z[labels[i]]);
  }
  return total;
}

/** The minimised function: cross-entropy plus the gauge penalty ½·(Σd)²/C. */
function objective(problem: Problem, params: Float64Array): number {
  let sum = 0;
  for (let c = 0; c < problem.classes; c++) sum += params[c];
  return crossEntropy(problem, params) + (0.5 * sum * sum) / problem.classes;
}

function derivatives(
  problem: Problem,
  params: Float64Array,
): { gradient: Float64Array; hessian: Float64Array } {
  const { logits, classes, labels, weights, withTemperature } = problem;
  const size = classes + (withTemperature ? 1 : 0);
  const gradient = new Float64Array(size);
  const hessian = new Float64Array(size * size);
  const u = withTemperature ? params[classes] : 1;
  const p = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const row = i * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      p[c] = u * logits[row + c] + params[c];
      if (p[c] > max) max = p[c];
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      p[c] = Math.exp(p[c] - max);
      sum += p[c];
    }
    const w = weights[i];
    const label = labels[i];
    let px = 0;
    for (let c = 0; c < classes; c++) {
      p[c] /= sum;
      px += p[c] * logits[row + c];
    }
    for (let a = 0; a < classes; a++) {
      gradient[a] += w * (p[a] - (a === label ? 1 : 0));
      hessian[a * size + a] += w * p[a];
      for (let b = 0; b < classes; b++) hessian[a * size + b] -= w * p[a] * p[b];
    }
    if (withTemperature) {
      // ∂/∂u of the cross-entropy is Σ_c p_c·x_c − x_label; the cross terms are the covariance of x with each class.
      gradient[classes] += w * (px - logits[row + label]);
      let pxx = 0;
      for (let c = 0; c < classes; c++) {
        const x = logits[row + c];
        pxx += p[c] * x * x;
        const cross = w * p[c] * (x - px);
        hessian[c * size + classes] += cross;
        hessian[classes * size + c] += cross;
      }
      hessian[classes * size + classes] += w * (pxx - px * px);
    }
  }
  let sumD = 0;
  for (let c = 0; c < classes; c++) sumD += params[c];
  for (let a = 0; a < classes; a++) {
    gradient[a] += sumD / classes;
    for (let b = 0; b < classes; b++) hessian[a * size + b] += 1 / classes;
  }
  return { gradient, hessian };
}

/**
 * The Newton direction −H⁻¹g by Cholesky. A Hessian that is only semi-definite (a class no example predicts,
 * logits that do not vary) gets a growing ridge until it factors, which turns the step toward gradient descent.
 */
function solveNewton(hessian: Float64Array, gradient: Float64Array, size: number): Float64Array {
  let trace = 0;
  for (let k = 0; k < size; k++) trace += hessian[k * size + k];
  let ridge = 0;
  for (let attempt = 0; attempt < 40; attempt++) {
    const factor = choleskyFactor(hessian, size, ridge);
    if (factor !== undefined)
      return choleskySolve(
        factor,
        gradient.map((g) => -g),
        size,
      );
    ridge = ridge === 0 ? 1e-12 * Math.max(trace / size, 1e-300) : ridge * 10;
  }
  return gradient.map((g) => -g);
}
