import { existsSync, statSync } from 'node:fs';
import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  backendPreferenceFromEnv,
} from '../../compute/backend.js';
import { InvalidFileError, UsageError } from '../../errors.js';
import { trainZooModel, type ZooTrainOptions } from '../../zoo/train-zoo-model.js';
import { addModelToZoo, findZooEntry, openZoo, verifyZoo, zooModelPath } from '../../zoo/zoo-folder.js';
import { zooEntryLines, zooTable } from '../../zoo/zoo-table.js';
import { type Command, choiceOption, numberOption, type OptionSpec, type ParsedArgs } from '../command.js';

const zooOption: Record<string, OptionSpec> = {
  zoo: { type: 'string', valueName: 'dir', description: 'the zoo folder (holds zoo.json) [required]' },
};

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

function requiredString(args: ParsedArgs, name: string): string {
  const value = args.strings.get(name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** `256,128` → [256, 128]; every entry an integer in [min, max]. */
function integerList(args: ParsedArgs, name: string, min: number, max: number): number[] | undefined {
  const raw = args.strings.get(name);
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || values.some((v) => v < min || v > max)) {
    throw new UsageError(
      `--${name} must be a comma-separated list of integers in [${min}, ${max}], got '${raw}'`,
    );
  }
  return values;
}

function integerOption(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const value = numberOption(args, name, min, max);
  if (value !== undefined && !Number.isInteger(value)) {
    throw new UsageError(`--${name} must be an integer, got '${args.strings.get(name)}'`);
  }
  return value;
}

/** A terminal progress bar for the epoch under way; `progress` draws nothing off a terminal. */
function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export const zooTrainCommand: Command = {
  name: 'zoo train',
  summary:
    'Train a model (MLP or small CNN) on a data set and add it to a zoo: safetensors with its architecture, ' +
    'widths, data set, seed and metrics in the metadata, plus a manifest entry. Creates the zoo if needed.',
  positionals: [],
  options: {
    ...zooOption,
    arch: { type: 'string', valueName: 'mlp|cnn', description: 'architecture [required]' },
    hidden: {
      type: 'string',
      valueName: 'w1,w2,…',
      description: 'MLP hidden widths, or CNN channels per convolution block [required]',
    },
    dense: {
      type: 'string',
      valueName: 'w1,…',
      description: "a CNN's hidden dense widths after the convolutions",
    },
    data: {
      type: 'string',
      valueName: 'source',
      description: 'training data: fashion-mnist:train, mnist:train, or an Arrow file [required]',
    },
    'data-dir': { type: 'string', valueName: 'dir', description: 'folder of the Fashion-MNIST IDX files' },
    classes: {
      type: 'string',
      valueName: 'c1,c2,…',
      description: 'train on these classes only (outputs in this order); also applied to --eval',
    },
    limit: { type: 'string', valueName: 'n', description: 'train on the first n examples only' },
    epochs: { type: 'string', valueName: 'n', description: 'training epochs [required]' },
    seed: { type: 'string', valueName: 'n', description: 'seed for initialization and shuffling [required]' },
    'batch-size': { type: 'string', valueName: 'n', description: "mini-batch size (default: the trainer's)" },
    lr: { type: 'string', valueName: 'rate', description: "learning rate (default: the trainer's)" },
    eval: {
      type: 'string',
      valueName: 's1,s2,…',
      description:
        'data sources to measure loss and accuracy on (default: the :test split of --data when it is a :train split)',
    },
    'eval-limit': {
      type: 'string',
      valueName: 'n',
      description: 'evaluate on the first n examples of each source',
    },
    id: {
      type: 'string',
      valueName: 'id',
      description: 'model id (default from the options, e.g. mlp-h256-s1-fmnist)',
    },
    dtype: {
      type: 'string',
      valueName: 'f32|f16',
      description: 'storage dtype of the weights',
      default: 'f32',
    },
    backend: {
      type: 'string',
      valueName: BACKEND_PREFERENCES.join('|'),
      description: 'TensorFlow.js backend (default: $MAL_BACKEND, else auto)',
    },
  },
  async run(args, io) {
    const options: ZooTrainOptions = {
      architecture: required(choiceOption(args, 'arch', ['mlp', 'cnn'] as const), 'arch'),
      hidden: required(integerList(args, 'hidden', 1, 65536), 'hidden'),
      dense: integerList(args, 'dense', 1, 65536),
      data: requiredString(args, 'data'),
      dataDir: args.strings.get('data-dir'),
      classes: integerList(args, 'classes', 0, 1_000_000),
      limit: integerOption(args, 'limit', 1, Number.MAX_SAFE_INTEGER),
      epochs: required(integerOption(args, 'epochs', 1, 1_000_000), 'epochs'),
      seed: required(integerOption(args, 'seed', 0, 2 ** 32 - 1), 'seed'),
      batchSize: integerOption(args, 'batch-size', 1, 1 << 20),
      learningRate: numberOption(args, 'lr', Number.MIN_VALUE, 1e6),
      evalSources: args.strings
        .get('eval')
        ?.split(',')
        .map((s) => s.trim()),
      evalLimit: integerOption(args, 'eval-limit', 1, Number.MAX_SAFE_INTEGER),
      id: args.strings.get('id'),
      dtype: choiceOption(args, 'dtype', ['f32', 'f16'] as const) ?? 'f32',
      backend: (choiceOption(args, 'backend', BACKEND_PREFERENCES) ??
        backendPreferenceFromEnv()) satisfies BackendPreference,
    };
    const zoo = await openZoo(requiredString(args, 'zoo'), { create: true });
    let epoch = 1;
    const result = await trainZooModel(zoo, options, {
      onBackend: (line) => io.progress(line),
      onStage: (line) => io.progress(line),
      onBatch: (done, total) =>
        io.progress(`epoch ${epoch}/${options.epochs} ${progressBar(done, total)} ${done}/${total} batches`),
      onEpoch: (e) => {
        io.progress(
          `epoch ${e.epoch}/${e.epochs} ${progressBar(1, 1)} loss ${e.loss.toFixed(4)} accuracy ${e.accuracy.toFixed(4)} (${e.seconds.toFixed(1)} s)`,
        );
        epoch = e.epoch + 1;
      },
    });
    const { entry } = result;
    const metrics = Object.entries(entry.metrics)
      .map(([source, m]) => `${source} accuracy ${m.accuracy.toFixed(4)} loss ${m.loss.toFixed(4)}`)
      .join('; ');
    io.out(
      `added ${entry.id} to ${zoo.dir}: ${entry.path} (${formatBytes(result.bytes)}), trained in ` +
        `${result.trainSeconds.toFixed(1)} s${metrics === '' ? '' : `; ${metrics}`}`,
    );
    return 0;
  },
};

export const zooAddCommand: Command = {
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
    seed: { type: 'string', valueName: 'n', description: 'the seed it was trained with' },
    link: { type: 'boolean', description: 'reference the files where they are instead of copying them' },
  },
  async run(args, io) {
    // A mistyped model path must not leave a new, empty zoo behind.
    if (!existsSync(args.positionals[0]))
      throw new InvalidFileError(args.positionals[0], 'no such file or folder');
    const zoo = await openZoo(requiredString(args, 'zoo'), { create: true });
    const entry = await addModelToZoo(zoo, args.positionals[0], {
      id: args.strings.get('id'),
      link: args.flags.has('link'),
      dataset: args.strings.get('dataset'),
      classes: integerList(args, 'classes', 0, 1_000_000),
      seed: integerOption(args, 'seed', 0, Number.MAX_SAFE_INTEGER),
    });
    if (entry.readable) {
      io.out(
        `added ${entry.id} (${entry.family}, widths ${Object.values(entry.widths).join('-')}) as ${entry.path}`,
      );
    } else {
      io.err(
        `warning: ${entry.id} cannot be read by this project and is listed as unreadable: ${entry.reason}`,
      );
      io.out(`added ${entry.id} (unreadable) as ${entry.path}`);
    }
    return 0;
  },
};

export const zooLsCommand: Command = {
  name: 'zoo ls',
  summary:
    'List the models of a zoo: id, family, widths of every space in network order, data set, accuracy on the ' +
    'first evaluated source, and whether the project can read it (with the reason when not).',
  positionals: [],
  options: { ...zooOption, json: { type: 'boolean', description: "print the manifest's entries as JSON" } },
  async run(args, io) {
    const zoo = await openZoo(requiredString(args, 'zoo'));
    if (args.flags.has('json')) {
      io.out(JSON.stringify(zoo.manifest.models, null, 2));
      return 0;
    }
    if (zoo.manifest.models.length === 0) {
      io.out(`${zoo.dir}: the zoo is empty`);
      return 0;
    }
    for (const line of zooTable(zoo.manifest.models)) io.out(line);
    return 0;
  },
};

export const zooShowCommand: Command = {
  name: 'zoo show',
  summary:
    'Show one zoo model: path, hash, family and widths (or why it is unreadable), data, metrics, provenance.',
  positionals: ['id'],
  options: {
    ...zooOption,
    json: { type: 'boolean', description: "print the model's manifest entry as JSON" },
  },
  async run(args, io) {
    const zoo = await openZoo(requiredString(args, 'zoo'));
    const entry = findZooEntry(zoo, args.positionals[0]);
    if (args.flags.has('json')) {
      io.out(JSON.stringify(entry, null, 2));
      return 0;
    }
    const path = zooModelPath(zoo, entry);
    for (const line of zooEntryLines(entry, path)) io.out(line);
    try {
      const size = statSync(path);
      if (size.isFile()) io.out(`size:      ${formatBytes(size.size)}`);
    } catch {
      io.out('size:      the file is missing');
    }
    return 0;
  },
};

export const zooVerifyCommand: Command = {
  name: 'zoo verify',
  summary:
    'Re-hash every model of a zoo and compare with the manifest; exits 1 if any changed or is missing.',
  positionals: [],
  options: { ...zooOption },
  async run(args, io) {
    const zoo = await openZoo(requiredString(args, 'zoo'));
    const results = await verifyZoo(zoo);
    const width = Math.max(0, ...results.map((r) => r.id.length));
    for (const r of results) {
      const detail =
        r.status === 'changed'
          ? `: expected ${r.expected}, found ${r.actual}`
          : r.status === 'missing'
            ? `: ${r.detail}`
            : '';
      (r.status === 'ok' ? io.out : io.err)(`${r.id.padEnd(width)}  ${r.status}${detail}`);
    }
    const bad = results.filter((r) => r.status !== 'ok').length;
    io.out(`${results.length - bad} of ${results.length} models match their hashes`);
    return bad === 0 ? 0 : 1;
  },
};

/** Every `mal zoo …` subcommand; main.ts matches a command's two words (`zoo train`) against the first two arguments. */
export const zooCommands: readonly Command[] = [
  zooTrainCommand,
  zooAddCommand,
  zooLsCommand,
  zooShowCommand,
  zooVerifyCommand,
];
