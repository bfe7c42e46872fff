/**
 * The Arrow IPC layout of a labelled data set (read by readDatasetArrow, written by writeDatasetArrow):
 *
 * - a `label` column of an integer type: class indices 0..classes-1, no nulls;
 * - the features, in one of two layouts:
 *   1. one FixedSizeList column of numbers (any name; writeDatasetArrow calls it `pixels` for bytes and
 *      `features` for floats), one list per example, and no other column besides `label`; it may be of Arrow's
 *      canonical `arrow.fixed_shape_tensor` type, whose shape is then the example shape unless
 *      `mal.example_shape` gives one; or
 *   2. many scalar numeric columns, every column other than `label`, taken in schema order as one example's
 *      values (the shape a data frame with one column per pixel gets);
 * - optional schema metadata: `mal.example_shape` (one example's shape as a JSON array, e.g. `[1,28,28]`, the
 *   notation of every shape in mal's metadata; the older `1,28,28` is read too; its product must equal the
 *   number of features), `mal.class_names` (a JSON array of strings, one per class), `mal.classes` (the number
 *   of classes, for files that do not hold every class).
 *
 * Scaling: integer features are pixel intensities: they must lie in 0..255 and are divided by 255. In the
 * many-columns layout they count as such only when every feature column is of an integer type; otherwise all are
 * taken as numbers. Floating-point features are taken as they are (they must be finite). 16-bit floats are not
 * read. The file may hold any number of record batches, compressed (LZ4_FRAME, ZSTD) or big-endian.
 */
export const LABEL_COLUMN = 'label';
export const BYTE_FEATURES_COLUMN = 'pixels';
export const FLOAT_FEATURES_COLUMN = 'features';
export const EXAMPLE_SHAPE_KEY = 'mal.example_shape';
export const CLASS_NAMES_KEY = 'mal.class_names';
export const CLASSES_KEY = 'mal.classes';

/** `[1, 28, 28]` → `[1,28,28]` (JSON, as `mal.tensor.shape` and `arrow.fixed_shape_tensor` write shapes). */
export function formatExampleShape(shape: readonly number[]): string {
  return JSON.stringify(shape);
}

/** Parses `[1,28,28]` or `1,28,28` (spaces allowed); undefined when the text is not a list of positive integers. */
export function parseExampleShape(text: string): number[] | undefined {
  // One list, bracketed or not; spaces only around the numbers, so `[2 2]` is refused rather than read as 22.
  const list = /^\s*\[(.*)\]\s*$/s.exec(text)?.[1] ?? text;
  const parts = list.split(',').map((part) => part.trim());
  if (!parts.every((part) => /^[1-9][0-9]*$/.test(part))) return undefined;
  const shape = parts.map(Number);
  return shape.every(Number.isSafeInteger) ? shape : undefined;
}
