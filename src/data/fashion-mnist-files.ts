import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DataSourceError } from './data-source-error.js';

/** Where Debian's `dataset-fashion-mnist` package installs the gzipped IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Environment variable naming a folder to read data files from instead of the Debian location. */
export const DATA_DIR_ENV = 'MAL_DATA_DIR';

export type FashionMnistSplit = 'train' | 'test';

/** The upstream file names (without `.gz`) of each split. */
export const FASHION_MNIST_FILE_NAMES: Readonly<
  Record<FashionMnistSplit, { readonly images: string; readonly labels: string }>
> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export interface FashionMnistFiles {
  readonly images: string;
  readonly labels: string;
}

/**
 * The folders searched, in order. An explicit `dataDir` (the CLI's --data-dir), else MAL_DATA_DIR, replaces the
 * Debian location rather than adding to it, so an override never silently reads other files; the folder itself
 * and its `fashion-mnist/` subfolder are searched, so it may be a general data root.
 */
export function fashionMnistDirectories(dataDir?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const override = dataDir ?? (env[DATA_DIR_ENV] === '' ? undefined : env[DATA_DIR_ENV]);
  if (override === undefined) return [DEBIAN_FASHION_MNIST_DIR];
  return [override, join(override, 'fashion-mnist')];
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) if (await exists(path)) return path;
  return undefined;
}

/**
 * Finds the image and label files of a split, gzipped (preferred, as shipped) or not, both in the same folder.
 * Throws a DataSourceError that lists every path tried and how to provide the files.
 */
export async function locateFashionMnistFiles(
  split: FashionMnistSplit,
  directories: readonly string[],
): Promise<FashionMnistFiles> {
  const names = FASHION_MNIST_FILE_NAMES[split];
  const tried: string[] = [];
  for (const directory of directories) {
    const imageCandidates = [join(directory, `${names.images}.gz`), join(directory, names.images)];
    const labelCandidates = [join(directory, `${names.labels}.gz`), join(directory, names.labels)];
    tried.push(...imageCandidates, ...labelCandidates);
    const images = await firstExisting(imageCandidates);
    const labels = await firstExisting(labelCandidates);
    if (images !== undefined && labels !== undefined) return { images, labels };
  }
  const listing = await Promise.all(
    tried.map(async (path) => `  ${path}${(await exists(path)) ? ' (present)' : ' (missing)'}`),
  );
  throw new DataSourceError(
    [
      `fashion-mnist:${split}: the Fashion-MNIST ${split} files (${names.images} and ${names.labels}, gzipped or not, in one folder) were not found. Paths tried:`,
      ...listing,
      'To fix: install the Debian package (sudo apt-get install dataset-fashion-mnist), which puts them in ' +
        `${DEBIAN_FASHION_MNIST_DIR}; or point --data-dir or ${DATA_DIR_ENV} at a folder holding them; ` +
        'or use the validation subset shipped with this repository, fashion-mnist:val.',
    ].join('\n'),
  );
}
