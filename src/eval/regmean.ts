/**
 * RegMean (Jin et al., 2023, "Dataless knowledge fusion by merging weights of language models"), in the base's
 * frame: a merged dense layer is the one that best reproduces, in least squares, what each endpoint's own layer
 * computes on that endpoint's own inputs,
 *
 *   W = argmin Σᵢ wᵢ·‖Xᵢ·W − Xᵢ·Wᵢ‖²  =  (Σᵢ wᵢ·Gᵢ)⁻¹ · Σᵢ wᵢ·Gᵢ·Wᵢ,   Gᵢ = XᵢᵀXᵢ,
 *
 * with `Xᵢ` the layer's inputs (`[x, 1]`, so the bias is fitted with the weights) when endpoint `i` (the base,
 * or an aligned donor mapped into the base's frame) runs on unlabelled examples, and `wᵢ` the merge weights
 * (1−λ and λ for one donor). Plain interpolation is the special case of equal Gram matrices, and that is what a
 * layer reading the network's input, or a layer whose inputs no merge changed, gets: only layers fed by merged
 * layers differ. Where the examples never take an input direction (a unit dead in every endpoint, or a layer
 * wider than the examples are many) the data says nothing, and a ridge toward the plain interpolation fills it
 * in. No labels and no gradient steps: the data enters through the Gram matrices only, the base's measured once
 * a step and each path's end once.
 */
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { choleskyFactor, choleskySolve } from '../linalg/cholesky.js';
import type { ArchitectureFamily, ArchitectureSpec, LayerSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { postActivationGrams, type StatisticsOptions } from './activation-statistics.js';
import type { ForwardConfig } from './forward.js';

/** RegMean cannot solve a merge: a base of another family than MLP, or inputs that are all zero or not finite. */
export class RegMeanError extends MalError {
  override readonly name = 'RegMeanError';
}

/** What RegMean needs besides the path: the base's architecture and the unlabelled data it measures on. */
export interface RegMeanSettings {
  readonly spec: ArchitectureSpec;
  readonly config?: ForwardConfig;
  readonly data: Dataset;
  readonly options?: StatisticsOptions;
}

/** A dense layer RegMean re-solves, and the hidden layer whose post-activations are its inputs. */
export interface RegMeanLayer {
  readonly layer: LayerSpec;
  readonly reads: string;
}

/** One endpoint as RegMean sees it: its tensors in the base's frame and the Gram of each solved layer's inputs. */
export interface RegMeanEndpoint {
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  readonly grams: ReadonlyMap<string, Float64Array>;
  /** Gᵢ·Wᵢ of each layer once computed (it does not depend on the weights), when the endpoint outlives one merge. */
  readonly products?: Map<string, Float64Array>;
}

/** The families whose merged layers RegMean can solve: dense layers reading dense layers. */
export const REGMEAN_FAMILIES: readonly ArchitectureFamily[] = ['mlp'];

/**
 * The ridge toward the plain interpolation, relative to the Gram's mean diagonal: the first that lets the
 * weighted Gram factor. A Gram of fewer examples than inputs is singular, and its float32 accumulation can leave
 * eigenvalues slightly below zero; each larger ridge pulls the undetermined directions to the interpolation.
 */
const RIDGES = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

/**
 * The dense layers of `spec` among the merged tensors (`merged`: base tensor names) whose inputs differ between
 * the endpoints (a merged layer upstream writes into them), in network order. The others get the same inputs at
 * both ends, where RegMean is the plain interpolation, so they are left to it and cost no statistics.
 */
export function regmeanLayers(spec: ArchitectureSpec, merged: ReadonlySet<string>): RegMeanLayer[] {
  assertRegMeanFamily(spec);
  const writers = new Map(
    spec.layers.filter((l) => l.kind === 'dense' && l.output !== null).map((l) => [l.output, l]),
  );
  // Spaces whose values differ between the endpoints: written by a merged layer, or downstream of one.
  const changed = new Set<string>();
  const out: RegMeanLayer[] = [];
  for (const layer of spec.layers) {
    const isMerged = layer.tensors.some((t) => merged.has(t));
    const inputChanged = layer.input !== null && changed.has(layer.input);
    if ((isMerged || inputChanged) && layer.output !== null) changed.add(layer.output);
    if (layer.kind !== 'dense' || !merged.has(`${layer.name}.weight`) || !inputChanged) continue;
    const writer = writers.get(layer.input);
    if (writer !== undefined) out.push({ layer, reads: writer.name });
  }
  return out;
}

/** Refuses a base RegMean cannot solve, by family. */
export function assertRegMeanFamily(spec: ArchitectureSpec): void {
  if (!REGMEAN_FAMILIES.includes(spec.family))
    throw new RegMeanError(
      `RegMean solves dense layers of MLP models only, and this base is a '${spec.family}' model (a convolution would need the Gram matrices of its input patches)`,
    );
}

/**
 * Gram matrices measured so far, by the tensors and examples they were measured on and the layer whose outputs
 * they are: every candidate of a step starts from the same base, so its Gram matrices are measured once a step.
 */
const measured = new WeakMap<ReadonlyMap<string, FloatTensor>, WeakMap<Dataset, Map<string, Float64Array>>>();

/** An endpoint's Gram matrices of the solved layers' inputs, measured on the settings' examples. */
export function measureEndpoint(
  settings: RegMeanSettings,
  layers: readonly RegMeanLayer[],
  tensors: ReadonlyMap<string, FloatTensor>,
): RegMeanEndpoint {
  let byData = measured.get(tensors);
  if (byData === undefined) {
    byData = new WeakMap();
    measured.set(tensors, byData);
  }
  let known = byData.get(settings.data);
  if (known === undefined) {
    known = new Map();
    byData.set(settings.data, known);
  }
  const keyOf = (writer: string) =>
    `${writer}|${settings.options?.examples ?? 'all'}|${settings.options?.batchSize ?? 'default'}`;
  const missing = [...new Set(layers.map((l) => l.reads))].filter((w) => !known.has(keyOf(w)));
  if (missing.length > 0) {
    const fresh = postActivationGrams(
      { ...settings, tensors },
      settings.data,
      settings.options ?? {},
      missing,
    );
    for (const [writer, gram] of fresh) known.set(keyOf(writer), gram);
  }
  const grams = new Map<string, Float64Array>();
  for (const { layer, reads } of layers) grams.set(layer.name, known.get(keyOf(reads))!);
  return { tensors, grams, products: new Map() };
}

/** One term of a weighted merge: an endpoint and its weight in each layer (0 where it does not merge it). */
export interface RegMeanTerm {
  readonly endpoint: RegMeanEndpoint;
  readonly weightIn: (layer: string) => number;
}

/**
 * `merged` (the plain weighted merge of the terms) with each RegMean layer's weight and bias replaced by the
 * weighted least-squares solution above. Layers where only one term has weight keep what `merged` has.
 */
export function regmeanWeighted(
  merged: ReadonlyMap<string, FloatTensor>,
  layers: readonly RegMeanLayer[],
  terms: readonly RegMeanTerm[],
): Map<string, FloatTensor> {
  const out = new Map(merged);
  for (const { layer } of layers) {
    const weighted = terms
      .map((t) => ({ endpoint: t.endpoint, weight: t.weightIn(layer.name) }))
      .filter((t) => t.weight !== 0);
    if (weighted.length < 2) continue;
    const weightName = `${layer.name}.weight`;
    const biasName = `${layer.name}.bias`;
    const plain = merged.get(weightName)!;
    const [outputs, inputs] = plain.shape;
    const hasBias = merged.has(biasName);
    const size = inputs + (hasBias ? 1 : 0);
    const gram = new Float64Array(size * size);
    const right = new Float64Array(size * outputs);
    for (const { endpoint, weight } of weighted) {
      const full = endpoint.grams.get(layer.name);
      if (full === undefined) throw new RangeError(`no Gram matrix for layer '${layer.name}'`);
      const g = gramBlock(full, inputs, hasBias);
      addScaled(gram, g, weight);
      let product = endpoint.products?.get(layer.name);
      if (product === undefined) {
        const a = augmentedWeights(
          endpoint.tensors,
          weightName,
          hasBias ? biasName : undefined,
          inputs,
          outputs,
        );
        product = new Float64Array(size * outputs);
        addProduct(product, g, a, size, outputs, 1);
        endpoint.products?.set(layer.name, product);
      }
      addScaled(right, product, weight);
    }
    const plainAugmented = augmentedWeights(
      merged,
      weightName,
      hasBias ? biasName : undefined,
      inputs,
      outputs,
    );
    const solution = solveWithRidge(gram, right, plainAugmented, size, outputs, layer.name);
    const weightData = new Float32Array(outputs * inputs);
    for (let o = 0; o < outputs; o++)
      for (let i = 0; i < inputs; i++) weightData[o * inputs + i] = solution[i * outputs + o];
    out.set(weightName, { shape: plain.shape, data: weightData });
    if (hasBias) {
      const biasData = new Float32Array(outputs);
      for (let o = 0; o < outputs; o++) biasData[o] = solution[inputs * outputs + o];
      out.set(biasName, { shape: merged.get(biasName)!.shape, data: biasData });
    }
  }
  return out;
}

/** The `[x, 1]` Gram, or its `x` block alone for a layer without a bias. */
function gramBlock(full: Float64Array, inputs: number, withOne: boolean): Float64Array {
  if (withOne) return full;
  const block = new Float64Array(inputs * inputs);
  for (let r = 0; r < inputs; r++)
    for (let c = 0; c < inputs; c++) block[r * inputs + c] = full[r * (inputs + 1) + c];
  return block;
}

/** A dense layer as a `[inputs (+1), outputs]` matrix: its weight transposed, the bias as the last row. */
function augmentedWeights(
  tensors: ReadonlyMap<string, FloatTensor>,
  weightName: string,
  biasName: string | undefined,
  inputs: number,
  outputs: number,
): Float64Array {
  const weight = tensors.get(weightName);
  if (weight === undefined) throw new RangeError(`no tensor '${weightName}'`);
  const size = inputs + (biasName === undefined ? 0 : 1);
  const a = new Float64Array(size * outputs);
  for (let o = 0; o < outputs; o++)
    for (let i = 0; i < inputs; i++) a[i * outputs + o] = weight.data[o * inputs + i];
  if (biasName !== undefined) {
    const bias = tensors.get(biasName);
    if (bias === undefined) throw new RangeError(`no tensor '${biasName}'`);
    for (let o = 0; o < outputs; o++) a[inputs * outputs + o] = bias.data[o];
  }
  return a;
}

function addScaled(into: Float64Array, values: Float64Array, scale: number): void {
  for (let k = 0; k < into.length; k++) into[k] += scale * values[k];
}

/** into += scale · g·a, with g `[size, size]` and a `[size, columns]`. */
function addProduct(
  into: Float64Array,
  g: Float64Array,
  a: Float64Array,
  size: number,
  columns: number,
  scale: number,
): void {
  for (let r = 0; r < size; r++) {
    for (let k = 0; k < size; k++) {
      const factor = scale * g[r * size + k];
      if (factor === 0) continue;
      const from = k * columns;
      const to = r * columns;
      for (let c = 0; c < columns; c++) into[to + c] += factor * a[from + c];
    }
  }
}

/**
 * Solves `(G + r·I)·X = R + r·P` (P: the plain interpolation) with the smallest ridge r of RIDGES that lets the
 * matrix factor.
 */
function solveWithRidge(
  gram: Float64Array,
  right: Float64Array,
  plain: Float64Array,
  size: number,
  columns: number,
  layer: string,
): Float64Array {
  let trace = 0;
  for (let k = 0; k < size; k++) trace += gram[k * size + k];
  const scale = trace / size;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new RegMeanError(
      `RegMean: the inputs of layer '${layer}' are ${Number.isFinite(scale) ? 'zero on every statistics example' : 'not finite on the statistics examples'}`,
    );
  for (const relative of RIDGES) {
    const ridge = relative * scale;
    const factor = choleskyFactor(gram, size, ridge);
    if (factor === undefined) continue;
    const b = new Float64Array(right.length);
    for (let k = 0; k < b.length; k++) b[k] = right[k] + ridge * plain[k];
    return choleskySolve(factor, b, size, columns);
  }
  throw new RegMeanError(
    `RegMean: the weighted Gram matrix of layer '${layer}' does not factor even with a ridge of ${RIDGES.at(-1)} of its mean diagonal`,
  );
}
