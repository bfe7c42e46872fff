/**
 * Forward-pass throughput (examples/s) of evaluateModel on each TensorFlow.js backend that starts here, in one
 * run: an MLP 784-512-512-10 and a small VGG-style CNN (16, 32 channels, dense 64) on random 28×28 examples.
 * `--train` also times one training epoch of the MLP on 60 000 random examples (wasm and, if present, webgpu).
 *
 *   npx tsx bench/forward.ts [--examples 10000] [--train]
 */
import { pathToFileURL } from 'node:url';
import type * as tf from '@tensorflow/tfjs-core';
import { type BackendName, describeBackend, initBackend } from '../src/compute/backend.js';
import type { Dataset } from '../src/data/dataset.js';
import { disposeParams, evaluateModel, paramsFromTensors } from '../src/eval/evaluate.js';
import { SeededRandom } from '../src/random/seeded-random.js';
import { deriveSpec } from '../src/spec/derive-spec.js';
import type { FloatTensor } from '../src/tensor/tensor.js';
import { initialValues } from '../src/train/init-params.js';
import { cnnLayout, type ModelLayout, mlpLayout } from '../src/train/model-layout.js';
import { trainModel } from '../src/train/train-model.js';

const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'webgpu'];

function randomDataset(count: number, exampleShape: number[], seed: number): Dataset {
  const random = new SeededRandom(seed);
  const size = exampleShape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(count * size);
  for (let i = 0; i < features.length; i++) features[i] = random.next();
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = random.int(10);
  return { name: 'random', count, exampleShape, features, labels, classes: 10 };
}

function modelOf(layout: ModelLayout, seed: number): Map<string, FloatTensor> {
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  for (const param of layout.params) {
    tensors.set(param.name, { shape: [...param.shape], data: initialValues(param, random) });
  }
  return tensors;
}

interface BenchModel {
  readonly label: string;
  readonly layout: ModelLayout;
  readonly dataset: Dataset;
}

async function examplesPerSecond(model: BenchModel): Promise<number> {
  const tensors = modelOf(model.layout, 1);
  const infos = [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape }));
  const spec = deriveSpec(infos, { config: model.layout.config });
  const params: Map<string, tf.Tensor> = paramsFromTensors(tensors);
  try {
    // One batch first: shader compilation, wasm warm-up and the first allocation are not throughput.
    const size = model.dataset.exampleShape.reduce((a, b) => a * b, 1);
    const warmup: Dataset = {
      ...model.dataset,
      count: 1000,
      features: model.dataset.features.subarray(0, 1000 * size),
      labels: model.dataset.labels.subarray(0, 1000),
    };
    await evaluateModel(params, spec, warmup, { config: model.layout.config });
    const started = performance.now();
    await evaluateModel(params, spec, model.dataset, { config: model.layout.config, batchSize: 1000 });
    return model.dataset.count / ((performance.now() - started) / 1000);
  } finally {
    disposeParams(params);
  }
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    console.log(describeBackend(await initBackend(name)));
    return true;
  } catch (error) {
    console.log(`${name}: not available here (${error instanceof Error ? error.message : String(error)})`);
    return false;
  }
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const examplesFlag = args.indexOf('--examples');
  const examples = examplesFlag >= 0 ? Number(args[examplesFlag + 1]) : 10_000;
  const models: BenchModel[] = [
    {
      label: 'MLP 784-512-512-10',
      layout: mlpLayout(784, [512, 512], 10),
      dataset: randomDataset(examples, [784], 2),
    },
    {
      label: 'CNN 16-32 ch, dense 64',
      layout: cnnLayout([1, 28, 28], [16, 32], [64], 10),
      dataset: randomDataset(examples, [1, 28, 28], 3),
    },
  ];
  const rows: string[] = [];
  const started: BackendName[] = [];
  for (const backend of BACKENDS) {
    if (!(await tryBackend(backend))) continue;
    started.push(backend);
    for (const model of models) {
      const rate = await examplesPerSecond(model);
      rows.push(`| ${backend} | ${model.label} | ${Math.round(rate).toLocaleString('en')} |`);
    }
  }
  console.log(`\n${examples} examples, batches of 1000, after one warm-up batch\n`);
  console.log('| backend | model | examples/s |\n|---|---|---|');
  for (const row of rows) console.log(row);

  if (args.includes('--train')) {
    const dataset = randomDataset(60_000, [784], 4);
    for (const backend of started.filter((name) => name !== 'cpu')) {
      await initBackend(backend);
      let seconds = 0;
      await trainModel({
        architecture: 'mlp',
        hidden: [512, 512],
        dataset,
        epochs: 1,
        seed: 1,
        onEpoch: (report) => {
          seconds = report.seconds;
        },
      });
      console.log(
        `train MLP 784-512-512-10, 60 000 examples, batch 128, ${backend}: ${seconds.toFixed(1)} s/epoch`,
      );
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
