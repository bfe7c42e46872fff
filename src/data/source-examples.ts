import { DataSourceError } from './data-source-error.js';
import type { Dataset, ExampleLayout } from './dataset.js';

/**
 * Examples as a source holds them, before class selection, limit, layout and scaling: pixels as bytes (scaled
 * by 1/255 when the Dataset is made) or as floats already in their final scale.
 */
export interface SourceExamples {
  readonly name: string;
  readonly count: number;
  /** `count × exampleSize` values, row-major. */
  readonly values: Uint8Array | Float32Array;
  readonly labels: Uint8Array | Int32Array;
  readonly classes: number;
  readonly classNames?: readonly string[];
  /** Values per example: the `flat` layout's shape is `[exampleSize]`. */
  readonly exampleSize: number;
  /** Shape of one example under the `image` layout (product `exampleSize`); absent where the source has none. */
  readonly imageShape?: readonly number[];
}

export interface SelectionOptions {
  readonly layout: ExampleLayout;
  /** Keep the first `limit` examples, after class selection. */
  readonly limit?: number;
  /** Keep only these classes, relabelled 0..k-1 in this order. */
  readonly classes?: readonly number[];
}

/** p / 255 as float32 for every byte, so scaled pixels are exactly the same whichever way they are computed. */
export const BYTE_SCALE = Float32Array.from({ length: 256 }, (_, value) => value / 255);

function checkClasses(source: string, wanted: readonly number[], classes: number): void {
  if (wanted.length === 0) throw new DataSourceError(`${source}: the class list is empty`);
  const seen = new Set<number>();
  for (const c of wanted) {
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new DataSourceError(`${source}: class ${c} is not one of its classes 0..${classes - 1}`);
    }
    if (seen.has(c)) throw new DataSourceError(`${source}: class ${c} is listed twice`);
    seen.add(c);
  }
}

function checkLimit(source: string, limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new DataSourceError(`${source}: limit must be a non-negative integer, got ${limit}`);
  }
}

function shapeFor(examples: SourceExamples, layout: ExampleLayout): readonly number[] {
  if (layout === 'flat') return [examples.exampleSize];
  if (layout === 'image') {
    if (examples.imageShape !== undefined) return examples.imageShape;
    throw new DataSourceError(
      `${examples.name}: examples are ${examples.exampleSize} flat values with no image shape; use the flat layout, or record the shape (e.g. 'mal.example_shape' metadata in an Arrow file)`,
    );
  }
  throw new DataSourceError(
    `${examples.name}: unknown layout '${String(layout)}'; expected 'flat' or 'image'`,
  );
}

/**
 * Makes the Dataset: keeps the listed classes (relabelled in the given order, names recording the mapping),
 * then the first `limit` examples, and scales byte pixels to [0, 1] while copying only the kept examples.
 */
export function selectExamples(examples: SourceExamples, options: SelectionOptions): Dataset {
  const { name, labels, values } = examples;
  const exampleShape = shapeFor(examples, options.layout);
  const size = examples.exampleSize;
  if (options.limit !== undefined) checkLimit(name, options.limit);

  let relabel: Int32Array | undefined;
  let classes = examples.classes;
  let classNames = examples.classNames;
  if (options.classes !== undefined) {
    checkClasses(name, options.classes, examples.classes);
    relabel = new Int32Array(examples.classes).fill(-1);
    options.classes.forEach((original, index) => {
      relabel![original] = index;
    });
    classes = options.classes.length;
    classNames = options.classes.map((c) => examples.classNames?.[c] ?? String(c));
  }

  const limit = options.limit ?? examples.count;
  const kept: number[] = [];
  for (let i = 0; i < examples.count && kept.length < limit; i += 1) {
    if (relabel === undefined || relabel[labels[i]] >= 0) kept.push(i);
  }

  const count = kept.length;
  const features = new Float32Array(count * size);
  const outLabels = new Int32Array(count);
  // Runs of consecutive kept examples are copied in one go (the common case: no class filter).
  let run = 0;
  while (run < count) {
    let end = run + 1;
    while (end < count && kept[end] === kept[end - 1] + 1) end += 1;
    const from = kept[run] * size;
    const to = (kept[end - 1] + 1) * size;
    if (values instanceof Uint8Array) {
      let out = run * size;
      for (let j = from; j < to; j += 1) features[out++] = BYTE_SCALE[values[j]];
    } else {
      features.set(values.subarray(from, to), run * size);
    }
    run = end;
  }
  for (let k = 0; k < count; k += 1) {
    const label = labels[kept[k]];
    outLabels[k] = relabel === undefined ? label : relabel[label];
  }
  return {
    name,
    count,
    exampleShape,
    features,
    labels: outLabels,
    classes,
    ...(classNames === undefined ? {} : { classNames }),
  };
}
