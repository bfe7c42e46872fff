import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  Uint8,
} from 'apache-arrow';
import { writeFileAtomic } from '../io/atomic-file.js';
import { shapeToString } from '../tensor/tensor.js';
import { DataSourceError } from './data-source-error.js';
import type { Dataset } from './dataset.js';
import {
  BYTE_FEATURES_COLUMN,
  CLASS_NAMES_KEY,
  CLASSES_KEY,
  EXAMPLE_SHAPE_KEY,
  FLOAT_FEATURES_COLUMN,
  formatExampleShape,
  LABEL_COLUMN,
} from './dataset-arrow-format.js';
import { BYTE_SCALE } from './source-examples.js';

/**
 * `uint8` stores features as bytes p with value p/255 (a quarter of the size), `float32` as they are; `auto`
 * picks `uint8` when that is lossless (every feature is exactly some p/255, as for pixels read from bytes).
 */
export type FeatureEncoding = 'auto' | 'uint8' | 'float32';

export interface DatasetArrowOptions {
  readonly encoding?: FeatureEncoding;
  /** Extra schema metadata (provenance, say); the `mal.*` keys the writer sets take precedence. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The byte p with p/255 === value exactly (as float32), or -1. */
function exactByte(value: number): number {
  const p = Math.round(value * 255);
  return p >= 0 && p <= 255 && BYTE_SCALE[p] === value ? p : -1;
}

function toBytes(features: Float32Array): Uint8Array | undefined {
  const bytes = new Uint8Array(features.length);
  for (let k = 0; k < features.length; k += 1) {
    const p = exactByte(features[k]);
    if (p < 0) return undefined;
    bytes[k] = p;
  }
  return bytes;
}

function checkDataset(dataset: Dataset): number {
  const size = dataset.exampleShape.reduce((a, b) => a * b, 1);
  if (
    dataset.features.length !== dataset.count * size ||
    dataset.labels.length !== dataset.count ||
    size === 0
  ) {
    throw new DataSourceError(
      `${dataset.name}: ${dataset.count} examples of shape ${shapeToString(dataset.exampleShape)} need ${dataset.count * size} features and ${dataset.count} labels, got ${dataset.features.length} and ${dataset.labels.length}`,
    );
  }
  const bad = dataset.labels.findIndex((label) => label < 0 || label >= dataset.classes);
  if (bad >= 0) {
    throw new DataSourceError(
      `${dataset.name}: label ${dataset.labels[bad]} at ${bad} is not a class 0..${dataset.classes - 1}`,
    );
  }
  return size;
}

/** Encodes a data set as an Arrow IPC file (see dataset-arrow-format.ts): a label column and one list column. */
export function datasetToArrowIPC(dataset: Dataset, options: DatasetArrowOptions = {}): Uint8Array {
  const size = checkDataset(dataset);
  const encoding = options.encoding ?? 'auto';
  const bytes = encoding === 'float32' ? undefined : toBytes(dataset.features);
  if (encoding === 'uint8' && bytes === undefined) {
    throw new DataSourceError(
      `${dataset.name}: features are not all of the form p/255, so uint8 encoding would lose them`,
    );
  }
  const count = dataset.count;
  const items =
    bytes === undefined
      ? makeData({ type: new Float32(), length: count * size, nullCount: 0, data: dataset.features })
      : makeData({ type: new Uint8(), length: count * size, nullCount: 0, data: bytes });
  const listType = new FixedSizeList(size, new Field('item', items.type, false));
  const features = makeData({ type: listType, length: count, nullCount: 0, child: items });
  const labels =
    dataset.classes <= 256
      ? makeData({ type: new Uint8(), length: count, nullCount: 0, data: Uint8Array.from(dataset.labels) })
      : makeData({ type: new Int32(), length: count, nullCount: 0, data: dataset.labels });
  const metadata = new Map(Object.entries(options.metadata ?? {}));
  metadata.set(EXAMPLE_SHAPE_KEY, formatExampleShape(dataset.exampleShape));
  metadata.set(CLASSES_KEY, String(dataset.classes));
  if (dataset.classNames !== undefined) metadata.set(CLASS_NAMES_KEY, JSON.stringify(dataset.classNames));
  const schema = new Schema(
    [
      new Field(LABEL_COLUMN, labels.type, false),
      new Field(bytes === undefined ? FLOAT_FEATURES_COLUMN : BYTE_FEATURES_COLUMN, listType, false),
    ],
    metadata,
  );
  const rows = makeData({
    type: new Struct(schema.fields),
    length: count,
    nullCount: 0,
    children: [labels, features],
  });
  return tableToIPC(new Table([new RecordBatch(schema, rows)]), 'file');
}

/** Writes a data set as an Arrow IPC file, atomically; loadDataset reads it back by path. */
export async function writeDatasetArrow(
  path: string,
  dataset: Dataset,
  options: DatasetArrowOptions = {},
): Promise<void> {
  await writeFileAtomic(path, datasetToArrowIPC(dataset, options));
}
