import { statSync } from 'node:fs';
import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  backendPreferenceFromEnv,
} from '../../compute/backend.js';
import { UsageError } from '../../errors.js';
import { zooEntryStatus } from '../../zoo/check-zoo-entry.js';
import {
  trainZooModel,
  type ZooTrainHooks,
  type ZooTrainOptions,
  type ZooTrainResult,
} from '../../zoo/train-zoo-model.js';
import {
  checkZooTransformerOptions,
  trainZooTransformer,
  type ZooTransformerTrainOptions,
} from '../../zoo/train-zoo-transformer.js';
import { zooFileError } from '../../zoo/zoo-file-error.js';
import {
  addModelToZoo,
  findZooEntry,
  openZoo,
  openZooToAddTo,
  verifyZoo,
  zooModelPath,
} from '../../zoo/zoo-folder.js';
import { zooEntryLines, zooTable } from '../../zoo/zoo-table.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, numberOption, requiredNumber, requiredString } from '../command.js';
import { HIGHER_IS_BETTER, LOWER_IS_BETTER } from '../directions.js';

export async function runZooTrain(args: ParsedArgs, io: CommandIO): Promise<number> {
  const architecture = choiceOption(args, 'arch', ['mlp', 'cnn', 'gpt2', 'llama'] as const) ?? 'mlp';
  if (architecture === 'gpt2' || architecture === 'llama') return runTransformerTrain(architecture, args, io);
  for (const name of TRANSFORMER_OPTIONS) {
    if (args.strings.has(name) || args.numbers.has(name))
      throw new UsageError(`--${name} is for --arch gpt2 or llama, not ${architecture}`);
  }
  if (!args.strings.has('hidden')) throw new UsageError(`--hidden is required for --arch ${architecture}`);
  const options: ZooTrainOptions = {
    architecture,
    hidden: integerList(args, 'hidden', 1, 65536) ?? [],
    dense: integerList(args, 'dense', 1, 65536),
    data: requiredString(args, 'data'),
    dataDir: args.strings.get('data-dir'),
    classes: integerList(args, 'classes', 0, 1_000_000),
    ...trainingRunOptions(args),
    initFrom: args.strings.get('init-from'),
  };
  const zoo = await openZooToAddTo(requiredString(args, 'zoo'));
  const result = await trainZooModel(zoo, options, trainingHooks(options.epochs, io));
  reportTrained(zoo.dir, result, io);
  return 0;
}

/** The options every architecture's training run shares: how long, how, what to evaluate, how to store it. */
function trainingRunOptions(args: ParsedArgs) {
  return {
    limit: numberOption(args, 'limit'),
    epochs: requiredNumber(args, 'epochs'),
    seed: requiredNumber(args, 'seed'),
    batchSize: numberOption(args, 'batch-size'),
    learningRate: numberOption(args, 'lr'),
    evalSources: args.strings
      .get('eval')
      ?.split(',')
      .map((s) => s.trim()),
    evalLimit: numberOption(args, 'eval-limit'),
    id: args.strings.get('id'),
    dtype: choiceOption(args, 'dtype', ['f32', 'f16'] as const) ?? 'f32',
    backend: (choiceOption(args, 'backend', BACKEND_PREFERENCES) ??
      backendPreferenceFromEnv()) satisfies BackendPreference,
  };
}

const TRANSFORMER_OPTIONS = ['width', 'heads', 'kv-heads', 'layers', 'context', 'intermediate'] as const;

async function runTransformerTrain(
  architecture: 'gpt2' | 'llama',
  args: ParsedArgs,
  io: CommandIO,
): Promise<number> {
  for (const name of ['hidden', 'dense', 'classes', 'init-from', 'data-dir'] as const) {
    if (args.strings.has(name)) throw new UsageError(`--${name} is not an option of --arch ${architecture}`);
  }
  if (architecture === 'gpt2' && args.numbers.has('kv-heads')) {
    throw new UsageError('--kv-heads is for --arch llama; GPT-2 has one key/value head per head');
  }
  const options: ZooTransformerTrainOptions = {
    architecture,
    width: requiredNumber(args, 'width'),
    heads: requiredNumber(args, 'heads'),
    kvHeads: numberOption(args, 'kv-heads'),
    layers: requiredNumber(args, 'layers'),
    context: requiredNumber(args, 'context'),
    intermediate: numberOption(args, 'intermediate'),
    data: args.strings.get('data'),
    ...trainingRunOptions(args),
  };
  checkZooTransformerOptions(options);
  const zooDir = requiredString(args, 'zoo');
  let zooPath = zooDir;
  const result = await trainZooTransformer(
    async () => {
      const zoo = await openZoo(zooDir, { create: true });
      zooPath = zoo.dir;
      return zoo;
    },
    options,
    trainingHooks(options.epochs, io),
  );
  reportTrained(zooPath, result, io, true);
  return 0;
}

function trainingHooks(epochs: number, io: CommandIO): ZooTrainHooks {
  let epoch = 1;
  return {
    onBackend: (line) => io.progress(line),
    onStage: (line) => io.progress(line),
    onBatch: (done, total) =>
      io.progress(`epoch ${epoch}/${epochs} ${progressBar(done, total)} ${done}/${total} batches`),
    onEpoch: (e) => {
      io.progress(
        `epoch ${e.epoch}/${e.epochs} ${progressBar(1, 1)} loss ${e.loss.toFixed(4)} accuracy ${e.accuracy.toFixed(4)} (${e.seconds.toFixed(1)} s)`,
      );
      epoch = e.epoch + 1;
    },
  };
}

function reportTrained(dir: string, result: ZooTrainResult, io: CommandIO, perplexity = false): void {
  const { entry } = result;
  const metrics = Object.entries(entry.metrics)
    .map(
      ([source, m]) =>
        `${source} accuracy ${m.accuracy.toFixed(4)} ${HIGHER_IS_BETTER}, loss ${m.loss.toFixed(4)} ${LOWER_IS_BETTER}` +
        (perplexity ? `, perplexity ${Math.exp(m.loss).toFixed(3)} ${LOWER_IS_BETTER}` : ''),
    )
    .join('; ');
  io.out(
    `added ${entry.id} to ${dir}: ${entry.path} (${formatBytes(result.bytes)}), trained in ` +
      `${result.trainSeconds.toFixed(1)} s${metrics === '' ? '' : `; ${metrics}`}`,
  );
}

export async function runZooAdd(args: ParsedArgs, io: CommandIO): Promise<number> {
  // A mistyped model path must not leave a new, empty zoo behind.
  // Says why (a link loop, no permission), not only that the path cannot be used.
  try {
    statSync(args.positionals[0]);
  } catch (error) {
    throw zooFileError(args.positionals[0], error, 'read the model');
  }
  const zoo = await openZoo(requiredString(args, 'zoo'), { create: true });
  const { entry, added } = await addModelToZoo(zoo, args.positionals[0], {
    id: args.strings.get('id'),
    link: args.flags.has('link'),
    dataset: args.strings.get('dataset'),
    classes: integerList(args, 'classes', 0, 1_000_000),
    seed: numberOption(args, 'seed'),
  });
  if (!added) {
    io.out(`${entry.id} is already in the zoo with the same bytes (${entry.path}); nothing to do`);
    return 0;
  }
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
}

export async function runZooLs(args: ParsedArgs, io: CommandIO): Promise<number> {
  const zoo = await openZoo(requiredString(args, 'zoo'));
  if (args.flags.has('json')) {
    io.out(JSON.stringify(zoo.manifest.models, null, 2));
    return 0;
  }
  if (zoo.manifest.models.length === 0) {
    io.out(`${zoo.dir}: the zoo is empty`);
    return 0;
  }
  const statuses: string[] = [];
  for (const entry of zoo.manifest.models) statuses.push(await zooEntryStatus(zoo.dir, entry));
  for (const line of zooTable(zoo.manifest.models, statuses)) io.out(line);
  if (zoo.manifest.models.some((m) => Object.keys(m.metrics).length > 0)) {
    io.out('ACCURACY is measured on the ON data set: higher is better.');
  }
  return 0;
}

export async function runZooShow(args: ParsedArgs, io: CommandIO): Promise<number> {
  const zoo = await openZoo(requiredString(args, 'zoo'));
  const entry = findZooEntry(zoo, args.positionals[0]);
  if (args.flags.has('json')) {
    io.out(JSON.stringify(entry, null, 2));
    return 0;
  }
  const path = zooModelPath(zoo, entry);
  for (const line of zooEntryLines(entry, path)) io.out(line);
  const status = await zooEntryStatus(zoo.dir, entry);
  if (status === 'readable' || status.startsWith('unreadable:')) {
    const size = statSync(path);
    if (size.isFile()) io.out(`size:      ${formatBytes(size.size)}`);
  } else {
    io.out(`files:     ${status}`);
  }
  return 0;
}

export async function runZooVerify(args: ParsedArgs, io: CommandIO): Promise<number> {
  const zoo = await openZoo(requiredString(args, 'zoo'));
  const results = await verifyZoo(zoo);
  const width = Math.max(0, ...results.map((r) => r.id.length));
  for (const r of results) {
    const detail =
      r.status === 'changed'
        ? `: expected ${r.expected}, found ${r.actual}`
        : r.status === 'missing' || r.status === 'refused'
          ? `: ${r.detail}`
          : '';
    (r.status === 'ok' ? io.out : io.err)(`${r.id.padEnd(width)}  ${r.status}${detail}`);
  }
  const bad = results.filter((r) => r.status !== 'ok').length;
  io.out(`${results.length - bad} of ${results.length} models match their hashes`);
  return bad === 0 ? 0 : 1;
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

/** A terminal progress bar for the epoch under way; `progress` draws nothing off a terminal. */
function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}
