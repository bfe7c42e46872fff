import { readFile } from 'node:fs/promises';
import { MalError } from '../../src/errors.js';

/** A file the experiment wrote earlier (or the CLI did) cannot be read back. */
export class ExperimentFileError extends MalError {
  override readonly name = 'ExperimentFileError';
}

/** The parsed JSON of a file, or undefined when there is no such file: absence means "not done yet". */
export async function readJsonIfPresent(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ExperimentFileError(
      `${file} is not valid JSON (${(error as Error).message}); remove it, or the replicate's folder, and run again`,
    );
  }
}
