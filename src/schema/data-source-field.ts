import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDataSource } from '../data/data-source.js';
import { describeTextSources, parseTextSource, type TextSource } from '../data/text-source.js';
import { MalError } from '../errors.js';
import { nonEmptyString } from './schema-kit.js';

/** The text source `text` names, or undefined when it names none. */
function textSourceOf(text: string): TextSource | undefined {
  try {
    return parseTextSource(text);
  } catch (error) {
    if (error instanceof MalError) return undefined;
    throw error;
  }
}

/**
 * A data-source field of a file that lives in `folder` (a plan, a study): the source's form is checked without
 * touching the disk, and a file's relative path is made absolute against that folder. Labelled data (a named
 * data set, an Arrow file) or, for language models, text (fortunes, a text file, a token file).
 */
export function dataSourceField(folder: string) {
  return nonEmptyString().transform((text, context) => {
    let source: ReturnType<typeof parseDataSource>;
    try {
      source = parseDataSource(text);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      const textSource = textSourceOf(text);
      if (textSource !== undefined) {
        if (textSource.kind === 'fortunes' || isAbsolute(textSource.path)) return text;
        const absolute = resolve(folder, textSource.path);
        return text.startsWith('text:') || text.startsWith('tokens:') || text.startsWith('arrow:')
          ? `${text.slice(0, text.indexOf(':') + 1)}${absolute}`
          : absolute;
      }
      context.addIssue({
        code: 'custom',
        message: `${error.message}; ${describeTextSources()}`,
        input: text,
      });
      return z.NEVER;
    }
    if (source.kind !== 'arrow' || isAbsolute(source.path)) return text;
    const absolute = resolve(folder, source.path);
    return text.startsWith('arrow:') ? `arrow:${absolute}` : absolute;
  });
}
