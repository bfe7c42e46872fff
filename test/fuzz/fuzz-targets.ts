/**
 * What the fuzz suite feeds mutated bytes to: each parser of bytes a user or a peer on the bus supplies, seeded
 * from real files (the shipped validation set, the demo zoo, the example plan). A target returns when it accepts
 * the bytes and throws when it refuses them; a MalError is a clean refusal, anything else a crash.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Field,
  Int32,
  List,
  Schema,
  Table,
  tableFromArrays,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { parse as parseYaml } from 'yaml';
import { parsePlanFile } from '../../src/assembly/plan-file.js';
import { datasetFromArrowIPC } from '../../src/data/dataset-arrow-reader.js';
import { datasetToArrowIPC } from '../../src/data/dataset-arrow-writer.js';
import { tokensFromArrowIPC } from '../../src/data/text-token-arrow.js';
import { tensorFromArrowIPC, tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { parseShardIndex } from '../../src/io/shard-index.js';
import { canonicalJson } from '../../src/store/content-store.js';
import { byteLength } from '../../src/tensor/dtype.js';
import { elementCount } from '../../src/tensor/tensor.js';
import { encodeEnvelope, type TaskInput, taskKey } from '../../workers/nats/task-messages.js';
import { decodeTaskMessage } from '../../workers/nats/task-schema.js';
import type { MutateOptions } from './mutate.js';

export const root = join(import.meta.dirname, '..', '..');

export interface FuzzTarget {
  readonly name: string;
  readonly seeds: () => Uint8Array[];
  readonly mutate: MutateOptions;
  readonly run: (bytes: Uint8Array) => Promise<void> | void;
  /** Rewrites mutated bytes before the run (the task key recomputed, so mutations reach past the key check). */
  readonly prepare?: (bytes: Uint8Array, rng: () => number) => Uint8Array;
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The first and last kilobytes: where Arrow and safetensors keep their metadata. */
const edges = (head: number, tail: number) => (length: number) =>
  [
    [0, head],
    [length - tail, length],
  ] as [number, number][];

let scratch: string | undefined;
function scratchFile(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'mal-fuzz-'));
  return join(scratch, 'case.safetensors');
}

export function removeScratch(): void {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
}

const safetensors: FuzzTarget = {
  name: 'safetensors header',
  seeds: () => {
    const folder = join(root, 'zoo', 'demo', 'models');
    return readdirSync(folder)
      .filter((name) => name.endsWith('.safetensors'))
      .map((name) => new Uint8Array(readFileSync(join(folder, name))));
  },
  mutate: { hot: (length) => [[0, Math.min(length, 4096)]], text: true },
  run: async (bytes) => {
    // Through the reader on a real file, as `mal inspect` opens a model: header, offsets, then every tensor.
    const path = scratchFile();
    writeFileSync(path, bytes);
    const reader = await SafetensorsReader.open(path);
    try {
      for (const name of reader.tensorNames()) await reader.read(name);
    } finally {
      await reader.close();
    }
  },
};

const shardIndex: FuzzTarget = {
  name: 'shard index',
  seeds: () => [
    text(
      JSON.stringify(
        {
          metadata: { total_size: 4096 },
          weight_map: {
            'transformer.h.0.attn.c_attn.weight': 'model-00001-of-00002.safetensors',
            'transformer.h.0.mlp.c_fc.weight': 'model-00001-of-00002.safetensors',
            'lm_head.weight': 'model-00002-of-00002.safetensors',
          },
        },
        null,
        2,
      ),
    ),
  ],
  mutate: { text: true },
  run: (bytes) => {
    parseShardIndex(decode(bytes), 'model.safetensors.index.json');
  },
};

const arrowData: FuzzTarget = {
  name: 'Arrow data file',
  seeds: () => {
    const small = datasetToArrowIPC({
      name: 'small',
      count: 3,
      exampleShape: [1, 2, 2],
      features: Float32Array.from({ length: 12 }, (_, k) => k / 11),
      labels: Int32Array.from([0, 1, 2]),
      classes: 3,
      classNames: ['a', 'b', 'c'],
    });
    return [new Uint8Array(readFileSync(join(root, 'data', 'fashion-mnist-val.arrow'))), small];
  },
  mutate: { hot: edges(512, 2048) },
  run: (bytes) => {
    const data = datasetFromArrowIPC(bytes, 'fuzz.arrow');
    // What eval reads: every example whole.
    if (data.values.length !== data.count * data.exampleSize || data.labels.length !== data.count) {
      throw new Error(
        `accepted ${data.count} rows with ${data.values.length} values, ${data.labels.length} labels`,
      );
    }
  },
};

const arrowTokens: FuzzTarget = {
  name: 'Arrow token file',
  seeds: () => {
    const listField = new Field('tokens', new List(new Field('item', new Int32(), false)), false);
    const lists = vectorFromArray([[7, 7, 1], [2], [3, 4, 5, 6]], listField.type);
    const listed = new Table(new Schema([listField], new Map([['mal.vocabulary', '50']])), { tokens: lists });
    return [
      tableToIPC(tableFromArrays({ tokens: Int32Array.from([5, 1, 2, 3, 4, 0, 9, 8]) })),
      tableToIPC(listed),
    ];
  },
  mutate: { hot: edges(512, 512) },
  run: (bytes) => {
    const file = tokensFromArrowIPC(bytes, 'fuzz.arrow');
    // What the loader relies on: every id inside the vocabulary.
    for (const id of file.tokens) {
      if (!(id >= 0 && id < file.vocabulary))
        throw new Error(`accepted id ${id} outside vocabulary ${file.vocabulary}`);
    }
  },
};

const arrowTensor: FuzzTarget = {
  name: 'Arrow tensor message',
  seeds: () => [
    tensorToArrowIPC('w', { dtype: 'F32', shape: [4, 3], bytes: new Uint8Array(48).fill(7) }),
    tensorToArrowIPC('b', { dtype: 'I64', shape: [2], bytes: new Uint8Array(16).fill(1) }),
    tensorToArrowIPC('h', { dtype: 'BF16', shape: [], bytes: new Uint8Array(2) }),
    tensorToArrowIPC('m', { dtype: 'BOOL', shape: [3, 3], bytes: Uint8Array.of(1, 0, 1, 1, 1, 0, 0, 0, 1) }),
    tensorToArrowIPC('q', { dtype: 'F4', shape: [6], bytes: Uint8Array.of(0x12, 0x34, 0x56) }),
  ],
  mutate: {},
  run: (bytes) => {
    const { name, tensor } = tensorFromArrowIPC(bytes, 'fuzz tensor');
    // An accepted tensor holds exactly the bytes its dtype and shape need.
    if (tensor.bytes.length !== byteLength(tensor.dtype, elementCount(tensor.shape))) {
      throw new Error(
        `accepted '${name}' ${tensor.dtype} ${JSON.stringify(tensor.shape)} with ${tensor.bytes.length} bytes`,
      );
    }
    void tensor.bytes[tensor.bytes.length - 1];
  },
};

const plan: FuzzTarget = {
  name: 'plan YAML/JSON',
  seeds: () => {
    const yaml = readFileSync(join(root, 'examples', 'demo-plan.yaml'), 'utf8');
    // A leading 'J' marks the JSON form, read as plan.json: strict JSON first, then the same schema.
    return [text(`Y${yaml}`), text(`J${JSON.stringify(parseYaml(yaml), null, 2)}`)];
  },
  mutate: { text: true },
  run: (bytes) => {
    const json = bytes[0] === 0x4a;
    parsePlanFile(decode(bytes.subarray(1)), json ? 'plan.json' : 'plan.yaml');
  },
};

const tensors = [{ name: 'layers.0.weight', hash: 'a'.repeat(64) }];
const taskMessage: FuzzTarget = {
  name: 'task message',
  seeds: () =>
    [
      { kind: 'noop', tensors, nonce: 'n1' },
      {
        kind: 'evaluate',
        backend: 'cpu',
        spec: { family: 'mlp', spaces: [], tensors: [], layers: [], attributes: {} },
        config: {},
        batchSize: 256,
        tensors,
        data: { source: 'fashion-mnist:val', layout: 'flat', start: 0, end: 100 },
      },
      {
        kind: 'align',
        base: { spec: {}, widths: [['h0', 128]], tensors },
        zoo: { spec: {}, widths: [['h0', 256]], tensors },
        candidate: { kind: 'layer', zooModel: 'm', layer: 'layers.0' },
        settings: { maxSweeps: 50, tolerance: 1e-9, init: 'best' },
        seed: 1,
      },
    ].map((task) => encodeEnvelope(task as unknown as TaskInput).bytes),
  mutate: { text: true },
  prepare: (bytes, rng) => {
    // Most cases: a mutated task under its true key, so they reach the checks behind the key.
    if (rng() < 0.2) return bytes;
    try {
      const { task } = JSON.parse(decode(bytes)) as { task: TaskInput };
      return text(canonicalJson({ key: taskKey(task), task }));
    } catch {
      return bytes;
    }
  },
  run: (bytes) => {
    decodeTaskMessage(bytes);
  },
};

export const TARGETS: readonly FuzzTarget[] = [
  safetensors,
  shardIndex,
  arrowData,
  arrowTokens,
  arrowTensor,
  plan,
  taskMessage,
];
