/**
 * `Mᵀ` for a row-major `rows × cols` float32 matrix M, optionally with M's rows picked first: row `i` of M is
 * `source` row `rowIndex[i]`, or zeros where that is −1 (`rows` is then `rowIndex.length`, `sourceRows` the
 * source's). Square tiles, written column by column, keep the rows read and the rows written in cache: ~4× faster
 * than element-by-element on a 4096 × 11008 weight (tile sizes 8–128 measured, 64 among the best).
 */
export function transposeMatrix(
  source: Float32Array,
  sourceRows: number,
  cols: number,
  rowIndex?: Int32Array,
): Float32Array {
  if (source.length !== sourceRows * cols) {
    throw new RangeError(`transposeMatrix: ${source.length} elements for ${sourceRows} × ${cols}`);
  }
  const rows = rowIndex?.length ?? sourceRows;
  const offsets = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = rowIndex === undefined ? i : rowIndex[i];
    if (r >= sourceRows) throw new RangeError(`transposeMatrix: row ${r} of ${sourceRows}`);
    offsets[i] = r < 0 ? -1 : r * cols;
  }
  const out = new Float32Array(rows * cols);
  const tile = 64;
  for (let i0 = 0; i0 < rows; i0 += tile) {
    const i1 = Math.min(rows, i0 + tile);
    for (let j0 = 0; j0 < cols; j0 += tile) {
      const j1 = Math.min(cols, j0 + tile);
      for (let j = j0; j < j1; j++) {
        const to = j * rows;
        for (let i = i0; i < i1; i++) {
          const from = offsets[i];
          if (from >= 0) out[to + i] = source[from + j];
        }
      }
    }
  }
  return out;
}
