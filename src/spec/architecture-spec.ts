/**
 * An architecture spec says, for every axis of every tensor of a model, which unit space it belongs to.
 * Alignment permutes spaces, never tensors: a map chosen for a space is applied to every axis that touches it.
 *
 * The model is mergekit's architecture files (each weight tagged with its input and output space), extended with
 * two things heterogeneous merging needs: an axis may be a concatenation of parts (GPT-2's fused q|k|v), and a
 * part may repeat each unit over a contiguous block (attention heads of `headDim` entries, a CNN's channels
 * flattened into a dense layer as `C×H×W`).
 */

/** `free`: any permutation of its units leaves the function unchanged. `fixed`: identity only (inputs, classes). */
export type SpaceKind = 'free' | 'fixed';

export interface SpaceSpec {
  readonly name: string;
  readonly kind: SpaceKind;
  /** What the units are, for people reading `mal inspect`: hidden, channels, residual, heads, input, output, vocab. */
  readonly role?: string;
  /**
   * A nested space: its units live inside each unit of this (top-level) space, and each parent unit permutes
   * them on its own (a head's value dims, the query heads of one kv group). Its map holds one permutation per
   * parent unit, and it is aligned together with its parent.
   */
  readonly parent?: string;
}

/**
 * One contiguous part of a tensor axis. It spans `width(space) × block` entries; unit `u` of the space owns
 * entries `[u·block, (u+1)·block)` of the part.
 */
export interface AxisPart {
  readonly space: string;
  readonly block: number;
  /**
   * The structure of each unit's block, outer level first; the sizes multiply to `block`. A level with a space
   * (a nested space whose parent is `space`) is permuted by that space's map for the unit; a level without
   * keeps its order. Absent: the block's entries keep their order.
   */
  readonly inner?: readonly InnerLevel[];
}

/** One level of a block: `size` entries (a nested space's width), reordered by `space` when it has one. */
export interface InnerLevel {
  readonly space?: string;
  readonly size: number;
}

/** `null`: the axis belongs to no unit space (a convolution's spatial axis). Otherwise its parts in order. */
export type AxisSpec = readonly AxisPart[] | null;

export interface TensorSpec {
  readonly name: string;
  readonly axes: readonly AxisSpec[];
  /** False for buffers that are copied from the base and never merged (BatchNorm's num_batches_tracked, masks). */
  readonly merge: boolean;
}

export type LayerKind = 'dense' | 'conv' | 'batchnorm' | 'norm' | 'embedding' | 'attention' | 'other';

/** The tensors that carry one computation from one space to another: the unit a transplant moves. */
export interface LayerSpec {
  readonly name: string;
  readonly kind: LayerKind;
  readonly tensors: readonly string[];
  /** Space the layer reads (for norms: the space it normalizes), or null when it has none. */
  readonly input: string | null;
  /** Space the layer writes, or null when it has none. */
  readonly output: string | null;
}

export type ArchitectureFamily = 'mlp' | 'cnn' | 'resnet' | 'gpt2' | 'llama' | 'custom';

export interface ArchitectureSpec {
  readonly family: ArchitectureFamily;
  /** Spaces in network order (input side first). Coordinate descent visits free spaces in this order. */
  readonly spaces: readonly SpaceSpec[];
  /** Every tensor of the model, in file order. */
  readonly tensors: readonly TensorSpec[];
  /** Layers in network order. */
  readonly layers: readonly LayerSpec[];
  /** Facts the forward pass and reports need: activation, attention heads, head dim, norm epsilon. */
  readonly attributes: Readonly<Record<string, string | number>>;
}

/** Width (number of units) of every space, as implied by a spec and the tensor shapes it describes. */
export type SpaceWidths = ReadonlyMap<string, number>;
