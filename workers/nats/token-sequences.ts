import type { Dataset } from '../../src/data/dataset.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { BadTaskError } from './nats-errors.js';
import type { TokenSequencesInput } from './task-messages.js';

/**
 * A language model's evaluation data from token sequences a dispatcher sent: checked here, since a bad id would
 * index past the embedding and a wrong shape would be read as other sequences. `features` holds the ids (the
 * tensor's data, or a copy in shared memory the caller made).
 */
export function tokenSequencesDataset(
  name: string,
  tokens: FloatTensor,
  text: TokenSequencesInput,
  where: string,
  maxSequences = Number.POSITIVE_INFINITY,
): Dataset {
  const [count, size] = tokens.shape;
  if (tokens.shape.length !== 2 || count < 1 || count > maxSequences || size < 2) {
    const sequences = Number.isFinite(maxSequences) ? `1..${maxSequences} sequences` : 'sequences ≥ 1';
    throw new BadTaskError(
      `${where}: token sequences ${text.tokens} have shape [${tokens.shape.join(', ')}], not [${sequences}, context + 1 ≥ 2]`,
    );
  }
  const bad = tokens.data.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= text.vocabulary);
  if (bad >= 0) {
    throw new BadTaskError(
      `${where}: token ${bad} of ${text.tokens} is ${tokens.data[bad]}, not an id below the vocabulary (${text.vocabulary})`,
    );
  }
  return {
    name,
    count,
    exampleShape: [size],
    features: tokens.data,
    labels: new Int32Array(count),
    classes: text.vocabulary,
    tokens: { tokenizer: text.tokenizer, vocabulary: text.vocabulary },
  };
}
