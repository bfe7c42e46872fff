import { BACKEND_PREFERENCES } from '../../compute/backend-preference.js';
import type { CommandDefinition, OptionSpec } from '../command.js';

const zooOption: Record<string, OptionSpec> = {
  zoo: { type: 'string', valueName: 'dir', description: 'the zoo folder (holds zoo.json)', required: true },
};

export const zooTrainCommand: CommandDefinition = {
  name: 'zoo train',
  summary:
    'Train a model (MLP, small CNN, or a small GPT-2 or LLaMA on text) and add it to a zoo: safetensors with its ' +
    'architecture, widths, data set, seed and metrics in the metadata (a transformer: a Hugging Face folder with ' +
    'config.json), plus a manifest entry. Creates the zoo if needed.',
  positionals: [],
  options: {
    ...zooOption,
    arch: {
      type: 'choice',
      choices: ['mlp', 'cnn', 'gpt2', 'llama'],
      description: 'architecture',
      required: true,
    },
    hidden: {
      type: 'string',
      valueName: 'w1,w2,…',
      description: 'MLP hidden widths, or CNN channels per convolution block (mlp and cnn: required)',
    },
    dense: {
      type: 'string',
      valueName: 'w1,…',
      description: "a CNN's hidden dense widths after the convolutions",
    },
    width: {
      type: 'number',
      integer: true,
      min: 1,
      max: 65536,
      valueName: 'n',
      description: 'gpt2, llama: residual width',
    },
    heads: {
      type: 'number',
      integer: true,
      min: 1,
      max: 4096,
      valueName: 'n',
      description: 'gpt2, llama: attention heads',
    },
    'kv-heads': {
      type: 'number',
      integer: true,
      min: 1,
      max: 4096,
      valueName: 'n',
      description: 'llama: key/value heads (grouped-query attention; default --heads)',
    },
    layers: {
      type: 'number',
      integer: true,
      min: 1,
      max: 1024,
      valueName: 'n',
      description: 'gpt2, llama: blocks',
    },
    context: {
      type: 'number',
      integer: true,
      min: 1,
      max: 65536,
      valueName: 'n',
      description: 'gpt2, llama: tokens per training sequence and the model context',
    },
    intermediate: {
      type: 'number',
      integer: true,
      min: 1,
      max: 1 << 20,
      valueName: 'n',
      description: 'gpt2, llama: MLP width (default 4·width for gpt2, about 8/3·width for llama)',
    },
    data: {
      type: 'string',
      valueName: 'source',
      description:
        'training data: fashion-mnist:train, mnist:train, or an Arrow file; for gpt2 and llama a text source (fortunes:en|de|es|it[:train|:test], text:<file>, tokens:<file.arrow>; default fortunes:en:train), read as bytes',
    },
    'data-dir': { type: 'string', valueName: 'dir', description: 'folder of the Fashion-MNIST IDX files' },
    classes: {
      type: 'string',
      valueName: 'c1,c2,…',
      description: 'train on these classes only (outputs in this order); also applied to --eval',
    },
    limit: {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'n',
      description: 'train on the first n examples only',
    },
    epochs: {
      type: 'number',
      integer: true,
      min: 1,
      max: 1_000_000,
      valueName: 'n',
      description: 'training epochs',
      required: true,
    },
    seed: {
      type: 'number',
      integer: true,
      min: 0,
      max: 2 ** 32 - 1,
      valueName: 'n',
      description: 'seed for initialization and shuffling',
      required: true,
    },
    'batch-size': {
      type: 'number',
      integer: true,
      min: 1,
      max: 1 << 20,
      valueName: 'n',
      description: "mini-batch size (default: the trainer's)",
    },
    lr: {
      type: 'number',
      above: 0,
      max: 1e6,
      valueName: 'rate',
      description: "learning rate (default: the trainer's)",
    },
    eval: {
      type: 'string',
      valueName: 's1,s2,…',
      description:
        'data sources to measure loss and accuracy on (default: the :test split of --data when it is a :train split)',
    },
    'eval-limit': {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'n',
      description: 'evaluate on the first n examples of each source',
    },
    id: {
      type: 'string',
      valueName: 'id',
      description: 'model id (default from the options, e.g. mlp-h256-s1-fmnist)',
    },
    dtype: {
      type: 'choice',
      choices: ['f32', 'f16'],
      description: 'storage dtype of the weights',
      default: 'f32',
    },
    backend: {
      type: 'choice',
      choices: BACKEND_PREFERENCES,
      description: 'TensorFlow.js backend (default: $MAL_BACKEND, else auto)',
    },
    'init-from': {
      type: 'string',
      valueName: 'model',
      description:
        "start from this model's weights instead of the seeded initialization (--arch, --hidden, --dense and the classes must give exactly its tensors); its hash is recorded",
    },
  },
  run: async (args, io) => (await import('./zoo-run.js')).runZooTrain(args, io),
};

export const zooAddCommand: CommandDefinition = {
  name: 'zoo add',
  summary:
    'Add an existing model (a .safetensors file, a shard index, or a model folder) to a zoo, copied into its ' +
    'models/ folder or referenced with --link. A model the project cannot read is still added, as unreadable ' +
    'with the reason, and the command warns on stderr and exits 0; a path that does not exist exits 1.',
  positionals: ['model'],
  options: {
    ...zooOption,
    id: {
      type: 'string',
      valueName: 'id',
      description: "model id (default: the metadata's zoo_id, else the file name without .safetensors)",
    },
    dataset: { type: 'string', valueName: 'source', description: 'the data set it was trained on' },
    classes: {
      type: 'string',
      valueName: 'c1,c2,…',
      description: "the data set's classes its outputs stand for",
    },
    seed: {
      type: 'number',
      integer: true,
      min: 0,
      valueName: 'n',
      description: 'the seed it was trained with',
    },
    link: { type: 'boolean', description: 'reference the files where they are instead of copying them' },
  },
  run: async (args, io) => (await import('./zoo-run.js')).runZooAdd(args, io),
};

export const zooLsCommand: CommandDefinition = {
  name: 'zoo ls',
  summary:
    'List the models of a zoo: id, family, widths of every space in network order, data set, accuracy on the ' +
    'first evaluated source, and whether the project can read it (with the reason when not).',
  positionals: [],
  options: { ...zooOption, json: { type: 'boolean', description: "print the manifest's entries as JSON" } },
  run: async (args, io) => (await import('./zoo-run.js')).runZooLs(args, io),
};

export const zooShowCommand: CommandDefinition = {
  name: 'zoo show',
  summary:
    'Show one zoo model: path, hash, family and widths (or why it is unreadable), data, metrics, provenance.',
  positionals: ['id'],
  options: {
    ...zooOption,
    json: { type: 'boolean', description: "print the model's manifest entry as JSON" },
  },
  run: async (args, io) => (await import('./zoo-run.js')).runZooShow(args, io),
};

export const zooVerifyCommand: CommandDefinition = {
  name: 'zoo verify',
  summary:
    'Re-hash every model of a zoo and compare with the manifest; exits 1 if any changed or is missing.',
  positionals: [],
  options: { ...zooOption },
  run: async (args, io) => (await import('./zoo-run.js')).runZooVerify(args, io),
};

/** Every `mal zoo …` subcommand (the registry, commands/index.ts, loads them one at a time). */
export const zooCommands: readonly CommandDefinition[] = [
  zooTrainCommand,
  zooAddCommand,
  zooLsCommand,
  zooShowCommand,
  zooVerifyCommand,
];
