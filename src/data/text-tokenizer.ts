import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { errnoCode, fileSystemError } from '../io/file-system-error.js';
import { readRegularFile } from '../io/read-regular-file.js';

/** Turns text into token ids for a language model. */
export interface TextTokenizer {
  /** `bytes`, or the tokenizer.json path. */
  readonly name: string;
  /** One more than the largest id `encode` can return. */
  readonly vocabulary: number;
  encode(text: string): number[];
}

/** UTF-8 bytes as tokens: what a model without a tokenizer.json reads (vocabulary 256). */
export const BYTE_TOKENIZER: TextTokenizer = {
  name: 'bytes',
  vocabulary: 256,
  encode: (text) => Array.from(new TextEncoder().encode(text)),
};

export const TOKENIZER_FILE = 'tokenizer.json';
const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** The tokenizer.json beside a model (in its folder, or beside its file), if there is one. */
export async function findTokenizerFile(
  modelPath: string,
  modelIsFolder: boolean,
): Promise<string | undefined> {
  const path = join(modelIsFolder ? modelPath : dirname(modelPath), TOKENIZER_FILE);
  try {
    await access(path);
    return path;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(path, error, 'look for the tokenizer');
  }
}

async function readJsonObject(path: string, optional: boolean): Promise<object | undefined> {
  let text: string;
  try {
    text = await readRegularFile(path, 'utf8');
  } catch (error) {
    if (optional && errnoCode(error) === 'ENOENT') return undefined;
    if (error instanceof InvalidFileError) throw error;
    throw fileSystemError(path, error, 'read the tokenizer');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidFileError(path, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidFileError(path, 'must be a JSON object');
  }
  return json;
}

/**
 * A Hugging Face tokenizer.json (with the tokenizer_config.json beside it, when present) through
 * `@huggingface/tokenizers`. Text is encoded without special tokens: documents are concatenated into one
 * stream and cut into sequences, so a BOS per document would be noise inside a sequence.
 */
export async function loadTokenizerJson(path: string): Promise<TextTokenizer> {
  const json = (await readJsonObject(path, false)) ?? {};
  const config = (await readJsonObject(join(dirname(path), TOKENIZER_CONFIG_FILE), true)) ?? {};
  // Loaded here only: commands that never read text do not pay for the library.
  const { Tokenizer } = await import('@huggingface/tokenizers');
  let tokenizer: InstanceType<typeof Tokenizer>;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (error) {
    throw new InvalidFileError(
      path,
      `not a tokenizer the tokenizers library reads (${(error as Error).message})`,
    );
  }
  let vocabulary = 0;
  for (const id of tokenizer.get_vocab(true).values()) vocabulary = Math.max(vocabulary, id + 1);
  if (vocabulary === 0) throw new InvalidFileError(path, 'the tokenizer has an empty vocabulary');
  return {
    name: path,
    vocabulary,
    encode: (text) => {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      // The library returns undefined for a word its model cannot map (no unk token): refuse, never guess.
      const bad = ids.findIndex((id: number) => !Number.isInteger(id) || id < 0 || id >= vocabulary);
      if (bad >= 0) {
        throw new InvalidFileError(
          path,
          `token ${bad} of the text ${JSON.stringify(text.slice(0, 40))}… has no id in the vocabulary of ${vocabulary} (${String(ids[bad])}); the tokenizer needs an unk token or byte fallback`,
        );
      }
      return ids;
    },
  };
}
