import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DataSourceError } from './data-source-error.js';
import { readDatasetArrow } from './dataset-arrow-reader.js';
import type { SourceExamples } from './source-examples.js';

/**
 * `fashion-mnist:val`, the validation subset the repository ships (data/fashion-mnist-val.arrow) so evaluation
 * runs without the Debian package: 2 000 Fashion-MNIST test images, 200 per class, chosen by a fixed rule
 * (chooseValidationIndices: the first 200 of each class in test-file order), kept in test-file order. Made by
 * `npx tsx scripts/make-validation-subset.ts`.
 */
export const VALIDATION_PER_CLASS = 200;
export const VALIDATION_FILE_NAME = 'fashion-mnist-val.arrow';

/**
 * Candidate locations of the shipped file: the repository's data/ seen from src/data/ (run from source) and
 * from dist/src/data/ (compiled).
 */
export function validationFileCandidates(): string[] {
  return [`../../data/${VALIDATION_FILE_NAME}`, `../../../data/${VALIDATION_FILE_NAME}`].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
}

/**
 * The subset rule: for each class, the indices of its first `perClass` examples in file order; all of them
 * returned in ascending order, so the subset keeps the source's order (its first image is the test set's first).
 */
export function chooseValidationIndices(
  labels: ArrayLike<number>,
  classes: number,
  perClass: number = VALIDATION_PER_CLASS,
): number[] {
  const taken = new Array<number>(classes).fill(0);
  const chosen: number[] = [];
  for (let i = 0; i < labels.length; i += 1) {
    const label = labels[i];
    if (taken[label] < perClass) {
      taken[label] += 1;
      chosen.push(i);
    }
  }
  const short = taken.findIndex((n) => n < perClass);
  if (short >= 0) {
    throw new DataSourceError(
      `class ${short} has ${taken[short]} examples, fewer than the ${perClass} the subset takes`,
    );
  }
  return chosen;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Loads the shipped subset; if the file is gone, says where it looked and how to regenerate it. */
export async function loadFashionMnistValidation(): Promise<SourceExamples> {
  const candidates = validationFileCandidates();
  for (const path of candidates) {
    if (await exists(path)) return readDatasetArrow(path, 'fashion-mnist:val');
  }
  throw new DataSourceError(
    [
      `fashion-mnist:val: the shipped subset ${VALIDATION_FILE_NAME} was not found. Paths tried:`,
      ...candidates.map((path) => `  ${path}`),
      'To fix: restore data/fashion-mnist-val.arrow from the repository, or regenerate it with ' +
        '`npx tsx scripts/make-validation-subset.ts` (needs the Fashion-MNIST test files).',
    ].join('\n'),
  );
}
