import { DataSourceError } from './data-source-error.js';
import type { Dataset } from './dataset.js';
import { readFortunes, readText, selectSplit } from './text-corpus.js';
import { parseTextSource } from './text-source.js';
import { readTokenArrow } from './text-token-arrow.js';
import type { TextTokenizer } from './text-tokenizer.js';

export interface TextDatasetOptions {
  /** Tokens a model reads per sequence; each example holds one more (the last position's next token). */
  readonly sequenceLength: number;
  /** How text becomes tokens; unused for a token file, which is tokenized already. */
  readonly tokenizer: TextTokenizer;
  /** Keep the first `limit` sequences. */
  readonly limit?: number;
}

/**
 * Loads a text source (see parseTextSource) as token sequences: documents are tokenized one by one, their
 * tokens concatenated in order into one stream, and the stream cut into consecutive, non-overlapping examples
 * of `sequenceLength + 1` tokens; the tail that fills no whole example is dropped.
 */
export async function loadTextDataset(source: string, options: TextDatasetOptions): Promise<Dataset> {
  const { sequenceLength, tokenizer } = options;
  if (!Number.isInteger(sequenceLength) || sequenceLength < 1) {
    throw new DataSourceError(
      `${source}: the sequence length must be a positive integer, got ${sequenceLength}`,
    );
  }
  const parsed = parseTextSource(source);
  let stream: ArrayLike<number>;
  let vocabulary: number;
  let tokenizerName: string;
  if (parsed.kind === 'tokens') {
    const file = await readTokenArrow(parsed.path);
    stream = file.tokens;
    vocabulary = file.vocabulary;
    tokenizerName = `the token file ${parsed.path}`;
  } else {
    const documents =
      parsed.kind === 'fortunes'
        ? selectSplit(await readFortunes(parsed.language), parsed.split)
        : [await readText(parsed.path, 'refuse')];
    const tokens: number[] = [];
    for (const document of documents) {
      for (const id of tokenizer.encode(document)) tokens.push(id);
    }
    stream = tokens;
    vocabulary = tokenizer.vocabulary;
    tokenizerName = tokenizer.name;
  }
  const size = sequenceLength + 1;
  let count = Math.floor(stream.length / size);
  if (count === 0) {
    throw new DataSourceError(
      `${source}: ${stream.length} tokens (${tokenizerName}) do not fill one sequence of ${size} (the model's context plus one); give more text or a shorter --context`,
    );
  }
  if (options.limit !== undefined) {
    if (!Number.isSafeInteger(options.limit) || options.limit < 0) {
      throw new DataSourceError(`${source}: limit must be a non-negative integer, got ${options.limit}`);
    }
    count = Math.min(count, options.limit);
  }
  const features = new Float32Array(count * size);
  for (let i = 0; i < features.length; i++) features[i] = stream[i];
  return {
    name: source,
    count,
    exampleShape: [size],
    features,
    labels: new Int32Array(count),
    classes: vocabulary,
    tokens: { tokenizer: tokenizerName, vocabulary },
  };
}
