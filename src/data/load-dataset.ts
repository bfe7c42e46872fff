import { parseDataSource } from './data-source.js';
import type { Dataset, ExampleLayout } from './dataset.js';
import { readDatasetArrow } from './dataset-arrow-reader.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadFashionMnistValidation } from './fashion-mnist-val.js';
import { loadMnist } from './mnist-package.js';
import { type SourceExamples, selectExamples } from './source-examples.js';

export interface LoadDatasetOptions {
  /** `flat`: examples of shape `[n]` (784 for 28×28 images); `image`: `[channels, height, width]`. */
  readonly layout: ExampleLayout;
  /**
   * Folder holding the Fashion-MNIST IDX files (the CLI's --data-dir); overrides MAL_DATA_DIR. Only
   * `fashion-mnist:train` and `fashion-mnist:test` read it.
   */
  readonly dataDir?: string;
  /** Keep the first `limit` examples, after class selection. */
  readonly limit?: number;
  /** Keep only these classes, relabelled 0..k-1 in this order; classNames records the original names. */
  readonly classes?: readonly number[];
}

function readSource(source: string, dataDir: string | undefined): Promise<SourceExamples> {
  const parsed = parseDataSource(source);
  switch (parsed.kind) {
    case 'fashion-mnist':
      return loadFashionMnist(parsed.split, dataDir);
    case 'fashion-mnist-val':
      return loadFashionMnistValidation();
    case 'mnist':
      return loadMnist(parsed.split);
    case 'arrow':
      return readDatasetArrow(parsed.path, source);
  }
}

/**
 * Loads a data set by source string (see parseDataSource): features scaled to [0, 1] as float32 in the asked
 * layout, labels as class indices. Throws DataSourceError for an unknown source or missing files (saying where it
 * looked and how to fix it), InvalidFileError for a malformed file.
 */
export async function loadDataset(source: string, options: LoadDatasetOptions): Promise<Dataset> {
  const examples = await readSource(source, options.dataDir);
  return selectExamples(examples, options);
}

/**
 * Loads every example in the layout its source records: images (`[channels, height, width]`) when the source
 * has an image shape, flat otherwise. For tools that rewrite a data set and must keep its shape for CNNs.
 */
export async function loadDatasetAsStored(source: string, dataDir?: string): Promise<Dataset> {
  const examples = await readSource(source, dataDir);
  return selectExamples(examples, { layout: examples.imageShape === undefined ? 'flat' : 'image' });
}
