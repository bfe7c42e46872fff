/**
 * A labelled data set in memory, ready for forward passes: features scaled to [0, 1], one example after another
 * (row-major), labels as class indices.
 */
export interface Dataset {
  /** The source it came from, e.g. `fashion-mnist:test`, for messages and reports. */
  readonly name: string;
  readonly count: number;
  /** Shape of one example: `[784]` for MLPs (flattened row-major), `[1, 28, 28]` for CNNs. */
  readonly exampleShape: readonly number[];
  /** `count × prod(exampleShape)` values. */
  readonly features: Float32Array;
  /** `count` class indices in `[0, classes)`. */
  readonly labels: Int32Array;
  readonly classes: number;
  readonly classNames?: readonly string[];
}

/** How examples are laid out for the model that reads them. */
export type ExampleLayout = 'flat' | 'image';
