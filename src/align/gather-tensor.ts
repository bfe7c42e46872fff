import { stridesOf } from '../tensor/tensor.js';

/**
 * Reads a tensor through one index array per source axis: output position `i` along axis `k` takes source
 * index `indices[k][i]`, or nothing (`-1`). This one primitive maps a target tensor into the base's frame
 * (generalized permutations with zero-padding), pads or crops kernels, and slices the parts of fused axes.
 */
export interface GatherResult {
  readonly data: Float32Array;
  readonly shape: number[];
  /** 1 where every axis index was matched, 0 where some axis was `-1`; present when requested. */
  readonly matched?: Uint8Array;
}

export interface GatherOptions {
  /** Output axis order as source axis numbers (default: source order). */
  readonly axisOrder?: readonly number[];
  /** Also return the matched mask. */
  readonly withMask?: boolean;
}

export function gatherTensor(
  source: Float32Array,
  sourceShape: readonly number[],
  indices: readonly Int32Array[],
  options: GatherOptions = {},
): GatherResult {
  const rank = sourceShape.length;
  if (indices.length !== rank) {
    throw new RangeError(`gatherTensor: ${indices.length} index arrays for a rank-${rank} tensor`);
  }
  const order = options.axisOrder ?? [...Array(rank).keys()];
  const sourceStrides = stridesOf(sourceShape);
  // Per output axis: source element offset of each output position, or -1 when unmatched.
  const offsets: Int32Array[] = order.map((axis) => {
    const idx = indices[axis];
    const stride = sourceStrides[axis];
    const out = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      const j = idx[i];
      if (j >= sourceShape[axis])
        throw new RangeError(`gatherTensor: index ${j} out of range on axis ${axis}`);
      out[i] = j < 0 ? -1 : j * stride;
    }
    return out;
  });
  const shape = offsets.map((o) => o.length);
  let total = 1;
  for (const d of shape) total *= d;
  const data = new Float32Array(total);
  const matched = options.withMask ? new Uint8Array(total) : undefined;
  if (total === 0) return { data, shape, matched };
  if (rank === 0) {
    data[0] = source[0];
    if (matched) matched[0] = 1;
    return { data, shape, matched };
  }

  let cursor = 0;
  const inner = offsets[rank - 1];
  const innerLength = inner.length;
  // Innermost indices that run 0, 1, 2… through contiguous source memory copy as one block (rows kept whole).
  const contiguous = sourceStrides[order[rank - 1]] === 1 && isRun(inner);
  const walk = (axis: number, base: number): void => {
    if (axis === rank - 1) {
      if (contiguous) {
        data.set(source.subarray(base + inner[0], base + inner[0] + innerLength), cursor);
        if (matched) matched.fill(1, cursor, cursor + innerLength);
        cursor += innerLength;
        return;
      }
      for (let i = 0; i < innerLength; i++) {
        const o = inner[i];
        if (o >= 0) {
          data[cursor] = source[base + o];
          if (matched) matched[cursor] = 1;
        }
        cursor++;
      }
      return;
    }
    const axisOffsets = offsets[axis];
    for (let i = 0; i < axisOffsets.length; i++) {
      const o = axisOffsets[i];
      if (o < 0) {
        // Everything below an unmatched index stays zero (and unmatched).
        cursor += blockSize(shape, axis + 1);
      } else {
        walk(axis + 1, base + o);
      }
    }
  };
  walk(0, 0);
  return { data, shape, matched };
}

/** Whether the offsets step by one from a matched start: `o, o+1, o+2, …`. */
function isRun(offsets: Int32Array): boolean {
  if (offsets.length === 0 || offsets[0] < 0) return false;
  for (let i = 1; i < offsets.length; i++) if (offsets[i] !== offsets[0] + i) return false;
  return true;
}

function blockSize(shape: readonly number[], fromAxis: number): number {
  let n = 1;
  for (let k = fromAxis; k < shape.length; k++) n *= shape[k];
  return n;
}

/** `[0, 1, …, n-1]` shifted by `offset`: the identity index over one contiguous range. */
export function rangeIndex(offset: number, length: number): Int32Array {
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = offset + i;
  return out;
}
