import { MalError } from '../errors.js';
import { parseSourceDocument, readSourceDocument, readSourceText } from '../schema/source-document.js';
import { type Study, studyFileSchema } from './study-schema.js';

/** A study file is malformed or cannot be run as written; the message reads `file:line: field: what is wrong`. */
export class StudyError extends MalError {
  override readonly name = 'StudyError';
}

/** Reads a study file; `.json` files must be strict JSON, anything else is read as YAML. */
export async function loadStudyFile(path: string): Promise<Study> {
  const text = await readSourceText(path, 'study file', (message) => new StudyError(message));
  return parseStudyFile(text, path);
}

export function parseStudyFile(text: string, file: string): Study {
  const error = (message: string) => new StudyError(message);
  return parseSourceDocument(studyFileSchema({ file }), readSourceDocument(text, file, error), error);
}
