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
  /**
   * Present for text: each example is a sequence of token ids (exact in float32 below 2²⁴); a causal language
   * model reads all but the last and is scored on predicting each next token. `labels` are then unused (0) and
   * `classes` is the tokenizer's vocabulary.
   */
  readonly tokens?: TokenSequences;
}

/** How a text data set was tokenized, for messages and for checking it against a model's vocabulary. */
export interface TokenSequences {
  /** `bytes` (UTF-8, vocabulary 256), or the tokenizer.json file used. */
  readonly tokenizer: string;
  /** One more than the largest token id the tokenizer can produce. */
  readonly vocabulary: number;
}

/** How examples are laid out for the model that reads them. */
export type ExampleLayout = 'flat' | 'image';
