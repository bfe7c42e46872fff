import { resolve } from 'node:path';
import { type Data, DataType, type Field, Precision, type Table } from 'apache-arrow';
import { InvalidFileError } from '../errors.js';
import { readArrowIPC } from '../io/arrow-ipc-read.js';
import { EXTENSION_METADATA_KEY, EXTENSION_NAME_KEY, FIXED_SHAPE_TENSOR } from '../io/arrow-tensor-dtypes.js';
import { readRegularFile } from '../io/read-regular-file.js';
import { DataSourceError } from './data-source-error.js';
import {
  CLASS_NAMES_KEY,
  CLASSES_KEY,
  EXAMPLE_SHAPE_KEY,
  LABEL_COLUMN,
  parseExampleShape,
} from './dataset-arrow-format.js';
import type { SourceExamples } from './source-examples.js';

type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type NumberKind = 'integer' | 'float';

/** Whether a scalar type holds numbers this reader takes, and which kind; undefined for anything else. */
function numberKind(type: DataType): NumberKind | undefined {
  if (DataType.isInt(type)) return 'integer';
  if (DataType.isFloat(type) && type.precision !== Precision.HALF) return 'float';
  return undefined;
}

/** The first `length` logical values of a primitive column (Arrow JS slices value buffers with the data). */
function valuesOf(data: Data, length: number): NumericArray {
  return (data.values as NumericArray).subarray(0, length);
}

interface FeatureLayout {
  /** Indices of the feature fields in the schema. */
  readonly fields: readonly number[];
  /** Whether fields[0] is a FixedSizeList holding every feature. */
  readonly list: boolean;
  readonly size: number;
  readonly kind: NumberKind;
}

function featureLayout(file: string, fields: readonly Field[], labelIndex: number): FeatureLayout {
  const featureFields = fields.map((_, index) => index).filter((index) => index !== labelIndex);
  const describe = fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ');
  if (featureFields.length === 0)
    throw new InvalidFileError(file, `no feature columns besides '${LABEL_COLUMN}'`);
  const lists = featureFields.filter((index) => DataType.isFixedSizeList(fields[index].type));
  if (lists.length > 0) {
    if (featureFields.length !== 1) {
      throw new InvalidFileError(
        file,
        `a FixedSizeList features column must be the only column besides '${LABEL_COLUMN}'; columns: ${describe}`,
      );
    }
    const field = fields[featureFields[0]];
    const listType = field.type as DataType & { listSize: number; valueType: DataType };
    const kind = numberKind(listType.valueType);
    if (kind === undefined) {
      throw new InvalidFileError(
        file,
        `features column '${field.name}' holds ${String(listType.valueType)}; expected integers or 32/64-bit floats`,
      );
    }
    if (listType.listSize <= 0)
      throw new InvalidFileError(file, `features column '${field.name}' has empty lists`);
    return { fields: featureFields, list: true, size: listType.listSize, kind };
  }
  const kinds = featureFields.map((index) => numberKind(fields[index].type));
  const bad = kinds.indexOf(undefined);
  if (bad >= 0) {
    const field = fields[featureFields[bad]];
    throw new InvalidFileError(
      file,
      `column '${field.name}' is ${String(field.type)}; feature columns must be integers or 32/64-bit floats (or one FixedSizeList of them)`,
    );
  }
  const kind = kinds.every((k) => k === 'integer') ? 'integer' : 'float';
  return { fields: featureFields, list: false, size: featureFields.length, kind };
}

/** Copies numbers into `out` at `offset`, checking bytes lie in 0..255 or floats are finite. */
function copyFeatures(
  file: string,
  source: NumericArray,
  out: Uint8Array | Float32Array,
  offset: number,
  firstExample: number,
  size: number,
): void {
  if (out instanceof Uint8Array) {
    if (source instanceof Uint8Array) {
      out.set(source, offset);
      return;
    }
    for (let k = 0; k < source.length; k += 1) {
      const v = Number(source[k]);
      if (!(v >= 0 && v <= 255)) {
        throw new InvalidFileError(
          file,
          `integer feature ${v} (example ${firstExample + Math.floor(k / size)}) is outside 0..255; integer features are read as pixel intensities, store other features as floats`,
        );
      }
      out[offset + k] = v;
    }
    return;
  }
  for (let k = 0; k < source.length; k += 1) {
    const v = Number(source[k]);
    if (!Number.isFinite(v)) {
      throw new InvalidFileError(
        file,
        `feature ${v} (example ${firstExample + Math.floor(k / size)}) is not finite`,
      );
    }
    out[offset + k] = v;
  }
}

function readFeatures(file: string, table: Table, layout: FeatureLayout): Uint8Array | Float32Array {
  const count = table.numRows;
  const out =
    layout.kind === 'integer' ? new Uint8Array(count * layout.size) : new Float32Array(count * layout.size);
  let row = 0;
  for (const batch of table.batches) {
    const n = batch.numRows;
    if (layout.list) {
      const list = batch.data.children[layout.fields[0]];
      const items = list.children[0];
      if (list.nullCount !== 0 || items.nullCount !== 0)
        throw new InvalidFileError(file, 'features hold nulls');
      copyFeatures(file, valuesOf(items, n * layout.size), out, row * layout.size, row, layout.size);
    } else {
      // One column per feature: gather each column into its place in every example.
      const scratch = layout.kind === 'integer' ? new Uint8Array(n) : new Float32Array(n);
      layout.fields.forEach((fieldIndex, feature) => {
        const column = batch.data.children[fieldIndex];
        if (column.nullCount !== 0) {
          throw new InvalidFileError(
            file,
            `feature column '${table.schema.fields[fieldIndex].name}' holds nulls`,
          );
        }
        copyFeatures(file, valuesOf(column, n), scratch, 0, row, 1);
        for (let r = 0; r < n; r += 1) out[(row + r) * layout.size + feature] = scratch[r];
      });
    }
    row += n;
  }
  return out;
}

function readLabels(file: string, table: Table, labelIndex: number, classes: number | undefined): Int32Array {
  const labels = new Int32Array(table.numRows);
  let row = 0;
  for (const batch of table.batches) {
    const column = batch.data.children[labelIndex];
    if (column.nullCount !== 0) throw new InvalidFileError(file, `'${LABEL_COLUMN}' holds nulls`);
    const values = valuesOf(column, batch.numRows);
    for (let r = 0; r < values.length; r += 1) {
      const label = Number(values[r]);
      if (label < 0 || label > 0x7fffffff || (classes !== undefined && label >= classes)) {
        const range = classes === undefined ? 'a non-negative class index' : `a class 0..${classes - 1}`;
        throw new InvalidFileError(file, `label ${label} at row ${row + r} is not ${range}`);
      }
      labels[row + r] = label;
    }
    row += batch.numRows;
  }
  return labels;
}

function readClassNames(file: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    throw new InvalidFileError(file, `'${CLASS_NAMES_KEY}' metadata is not JSON`);
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw new InvalidFileError(file, `'${CLASS_NAMES_KEY}' metadata must be a JSON array of strings`);
  }
  return names;
}

function readClassCount(
  file: string,
  metadata: Map<string, string>,
  names: string[] | undefined,
): number | undefined {
  const text = metadata.get(CLASSES_KEY);
  if (text === undefined) return names?.length;
  const classes = Number(text);
  if (!/^[1-9][0-9]*$/.test(text.trim()) || !Number.isSafeInteger(classes)) {
    throw new InvalidFileError(
      file,
      `'${CLASSES_KEY}' metadata ${JSON.stringify(text)} is not a positive integer`,
    );
  }
  if (names !== undefined && names.length !== classes) {
    throw new InvalidFileError(
      file,
      `'${CLASSES_KEY}' is ${classes} but '${CLASS_NAMES_KEY}' names ${names.length}`,
    );
  }
  return classes;
}

/**
 * The example shape of a features column of Arrow's canonical `arrow.fixed_shape_tensor` type (one tensor an
 * example, as pyarrow writes image batches), or undefined for a plain column.
 */
function tensorShapeOf(file: string, field: Field, size: number): number[] | undefined {
  if (field.metadata.get(EXTENSION_NAME_KEY) !== FIXED_SHAPE_TENSOR) return undefined;
  const text = field.metadata.get(EXTENSION_METADATA_KEY) ?? '';
  let shape: unknown;
  let permutation: unknown;
  try {
    ({ shape, permutation } = (JSON.parse(text) ?? {}) as { shape?: unknown; permutation?: unknown });
  } catch {
    shape = undefined;
  }
  // Another axis order than the shape's would need a transpose; tensor messages refuse it the same way.
  if (permutation !== undefined && permutation !== null) {
    const identity =
      Array.isArray(permutation) &&
      Array.isArray(shape) &&
      permutation.length === shape.length &&
      permutation.every((axis, k) => axis === k);
    if (!identity) {
      throw new InvalidFileError(
        file,
        `features column '${field.name}' is an ${FIXED_SHAPE_TENSOR} whose "permutation" ${JSON.stringify(permutation)} reorders the axes; mal reads examples in their physical (row-major) order only`,
      );
    }
  }
  const valid = Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d > 0);
  const product = valid ? (shape as number[]).reduce((a, b) => a * b, 1) : Number.NaN;
  if (product !== size) {
    throw new InvalidFileError(
      file,
      `features column '${field.name}' is an ${FIXED_SHAPE_TENSOR} whose metadata ${JSON.stringify(text)} does not give a shape of its ${size} values`,
    );
  }
  return shape as number[];
}

/**
 * The image-layout shape: the metadata shape when it has two or more axes; else the features column's
 * fixed_shape_tensor shape when it has two or more; else, for a square number of features s², one channel of
 * s×s (what a data frame of 784 pixel columns means); else none.
 */
function imageShapeOf(
  file: string,
  metadata: Map<string, string>,
  size: number,
  tensorShape: number[] | undefined,
): number[] | undefined {
  const text = metadata.get(EXAMPLE_SHAPE_KEY);
  if (text !== undefined) {
    const shape = parseExampleShape(text);
    if (shape === undefined) {
      throw new InvalidFileError(
        file,
        `'${EXAMPLE_SHAPE_KEY}' metadata ${JSON.stringify(text)} is not a list of positive integers`,
      );
    }
    const product = shape.reduce((a, b) => a * b, 1);
    if (product !== size) {
      throw new InvalidFileError(
        file,
        `'${EXAMPLE_SHAPE_KEY}' ${text} holds ${product} values but each example has ${size}`,
      );
    }
    if (shape.length >= 2) return shape;
  } else if (tensorShape !== undefined && tensorShape.length >= 2) {
    return tensorShape;
  }
  const side = Math.round(Math.sqrt(size));
  return side * side === size ? [1, side, side] : undefined;
}

/**
 * Decodes a data set from Arrow IPC bytes (file or stream format; any number of record batches, compressed or
 * big-endian: see readArrowIPC); see dataset-arrow-format.ts for the layout.
 */
export function datasetFromArrowIPC(bytes: Uint8Array, file: string, name: string = file): SourceExamples {
  const table = readArrowIPC(bytes, file, { notArrow: 'not an Arrow IPC file or stream' });
  const { fields, metadata } = table.schema;
  if (fields.length === 0) throw new InvalidFileError(file, 'not an Arrow IPC file or stream (no columns)');
  const labelIndex = fields.findIndex((f) => f.name === LABEL_COLUMN);
  if (labelIndex < 0) {
    throw new InvalidFileError(
      file,
      `no '${LABEL_COLUMN}' column; columns: ${fields.map((f) => f.name).join(', ')}`,
    );
  }
  if (!DataType.isInt(fields[labelIndex].type)) {
    throw new InvalidFileError(
      file,
      `'${LABEL_COLUMN}' is ${String(fields[labelIndex].type)}; expected an integer type`,
    );
  }
  const layout = featureLayout(file, fields, labelIndex);
  const classNames = readClassNames(file, metadata.get(CLASS_NAMES_KEY));
  const declaredClasses = readClassCount(file, metadata, classNames);
  const labels = readLabels(file, table, labelIndex, declaredClasses);
  const classes = declaredClasses ?? labels.reduce((max, label) => Math.max(max, label + 1), 0);
  const tensorShape = layout.list ? tensorShapeOf(file, fields[layout.fields[0]], layout.size) : undefined;
  const imageShape = imageShapeOf(file, metadata, layout.size, tensorShape);
  return {
    name,
    count: table.numRows,
    values: readFeatures(file, table, layout),
    labels,
    classes,
    ...(classNames === undefined ? {} : { classNames }),
    exampleSize: layout.size,
    ...(imageShape === undefined ? {} : { imageShape }),
  };
}

/** Reads a data set from an Arrow IPC file; a missing file raises a DataSourceError naming the full path. */
export async function readDatasetArrow(path: string, name: string = path): Promise<SourceExamples> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path);
  } catch (error) {
    if (error instanceof InvalidFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataSourceError(`${name}: Arrow data file not found: ${resolve(path)}`);
    throw new DataSourceError(`${name}: cannot read ${resolve(path)} (${(error as Error).message})`);
  }
  return datasetFromArrowIPC(bytes, path, name);
}
