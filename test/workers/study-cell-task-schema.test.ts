// A study-cell task as the dispatcher sends it reads back as the same cell (the same content address, so the
// worker's row is filed under the cell the dispatcher asked for); a hostile one is refused naming the field.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load-model.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { canonicalJson, hashOf } from '../../src/store/content-store.js';
import type { StudyCell } from '../../src/study/study-cell.js';
import { studyCellAddress } from '../../src/study/study-cell-address.js';
import { BadTaskError } from '../../workers/nats/nats-errors.js';
import { StudyCellWorker } from '../../workers/nats/study-cell-worker.js';
import { encodeEnvelope, type StudyCellTaskInput } from '../../workers/nats/task-messages.js';
import { decodeTaskMessage } from '../../workers/nats/task-schema.js';
import { cellOf } from '../study/study-fixtures.js';
import { makeMlp } from '../support/model-factory.js';

const model = makeMlp({ widths: [12, 16, 4], naming: 'layers', seed: 1 }).tensors;
const spec = deriveSpec([...model].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape })));
const refs = [...model.keys()].map((name, i) => ({ name, hash: String(i).repeat(64) }));
const info = (id: string, sha: string) => ({
  id,
  sha256: sha.repeat(64),
  family: 'mlp',
  arch: 'mlp-h16',
  depth: 2,
  data: 'bands',
  domain: 'bands',
});
const cell: StudyCell = cellOf(
  { ...info('a', 'a'), path: '/zoo/a.safetensors' },
  { ...info('b', 'b'), path: '/elsewhere/b.safetensors' },
  { baseLayers: ['layers.0'], targetLayers: ['layers.0'], evalData: 'fashion-mnist:test', backend: 'wasm' },
);

function taskOf(c: StudyCell): StudyCellTaskInput {
  const { path: _a, ...base } = c.base;
  const { path: _b, ...target } = c.target;
  return {
    kind: 'study-cell',
    cell: { ...c, base, target },
    base: { spec, config: { arch: 'mlp' }, tensors: refs },
    target: { spec, config: {}, tensors: refs },
  };
}

function refusal(task: unknown): string {
  try {
    decodeTaskMessage(new TextEncoder().encode(canonicalJson({ key: hashOf(task), task })));
  } catch (error) {
    expect(error).toBeInstanceOf(BadTaskError);
    return (error as Error).message;
  }
  throw new Error('the message was accepted');
}

describe('study-cell task messages', () => {
  it('read back as the same cell: same address, same models', () => {
    const { key, bytes } = encodeEnvelope(taskOf(cell));
    const decoded = decodeTaskMessage(bytes);
    expect(decoded.key).toBe(key);
    if (decoded.task.kind !== 'study-cell') throw new Error(`decoded a ${decoded.task.kind} task`);
    const back = decoded.task.cell;
    const asCell = {
      ...back,
      base: { ...back.base, path: 'x' },
      target: { ...back.target, path: 'y' },
    } as StudyCell;
    expect(studyCellAddress(asCell)).toBe(studyCellAddress(cell));
    expect(decoded.task.base.spec).toEqual(spec);
    expect(decoded.task.base.config).toEqual({ arch: 'mlp' });
  });

  it('refuses activation matching, a huge grid, unpaired layers and the auto backend', () => {
    const activations = taskOf({ ...cell, alignment: { ...cell.alignment, match: 'activations' } });
    expect(refusal(activations)).toMatch(/task\.cell\.alignment.*weights only/);
    const grid = taskOf({ ...cell, grid: Array.from({ length: 2000 }, (_, i) => i / 1999) });
    expect(refusal(grid)).toMatch(/task\.cell\.grid/);
    const outside = taskOf({ ...cell, grid: [0, 1.5] });
    expect(refusal(outside)).toMatch(/task\.cell\.grid\.1/);
    const unpaired = taskOf({ ...cell, targetLayers: ['layers.0', 'layers.1'] });
    expect(refusal(unpaired)).toMatch(/task\.cell\.targetLayers: baseLayers and targetLayers/);
    const auto = { ...taskOf(cell), cell: { ...taskOf(cell).cell, backend: 'auto' } };
    expect(refusal(auto)).toMatch(/task\.cell\.backend/);
    const extra = { ...taskOf(cell), base: { ...taskOf(cell).base, path: '/etc/passwd' } };
    expect(refusal(extra)).toMatch(/task\.base/);
  });

  it("carry a language model's token sequences by hash, and refuse a bad hash or vocabulary", () => {
    const text = { tokens: 'c'.repeat(64), tokenizer: 'bytes', vocabulary: 256 };
    const decoded = decodeTaskMessage(encodeEnvelope({ ...taskOf(cell), text }).bytes);
    if (decoded.task.kind !== 'study-cell') throw new Error(`decoded a ${decoded.task.kind} task`);
    expect(decoded.task.text).toEqual(text);
    expect(refusal({ ...taskOf(cell), text: { ...text, tokens: '../etc/passwd' } })).toMatch(
      /task\.text\.tokens/,
    );
    expect(refusal({ ...taskOf(cell), text: { ...text, vocabulary: 0 } })).toMatch(/task\.text\.vocabulary/);
    expect(refusal({ ...taskOf(cell), text: { ...text, vocabulary: 2 ** 25 } })).toMatch(
      /task\.text\.vocabulary/,
    );
    expect(refusal({ ...taskOf(cell), text: { ...text, sequences: 4 } })).toMatch(/task\.text/);
  });

  it('carry a GPT-2 spec with its nested head spaces, and a worker refuses a token id outside the vocabulary', async () => {
    const gpt2 = await loadModel(resolve('zoo/transformers/models/base-gpt2-w64-h4-weak'));
    expect(gpt2.spec.spaces.some((space) => space.parent !== undefined)).toBe(true);
    const text = { tokens: 'c'.repeat(64), tokenizer: 'bytes', vocabulary: 256 };
    const lm = {
      ...taskOf(cell),
      base: { spec: gpt2.spec, config: {}, tensors: refs },
      target: { spec: gpt2.spec, config: {}, tensors: refs },
      text,
    };
    const decoded = decodeTaskMessage(encodeEnvelope(lm).bytes);
    if (decoded.task.kind !== 'study-cell') throw new Error(`decoded a ${decoded.task.kind} task`);
    expect(decoded.task.base.spec).toEqual(gpt2.spec);

    // Two sequences of 3 tokens, one id past the byte vocabulary: refused before any thread starts.
    const tokens = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 256, 6]) };
    const worker = new StudyCellWorker(1);
    const sources = {
      fetchTensors: async (wanted: readonly { name: string; hash: string }[]) =>
        wanted[0]?.hash === text.tokens ? ([['tokens', tokens]] as [string, typeof tokens][]) : [],
      dataset: async () => {
        throw new Error('a language model cell loads no labelled examples');
      },
      tensorBytes: 1 << 30,
    };
    const run = worker.run(decoded.task, sources, new AbortController().signal);
    await expect(run).rejects.toThrow(BadTaskError);
    await expect(run).rejects.toThrow(/token 4 of c{64} is 256, not an id below the vocabulary \(256\)/);
    // Valid ids, but the token sequences alone (24 bytes) exceed a 23-byte tensor memory: counted with the models.
    const fits = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    const tight = {
      ...sources,
      fetchTensors: async (wanted: readonly { name: string; hash: string }[]) =>
        wanted[0]?.hash === text.tokens ? ([['tokens', fits]] as [string, typeof fits][]) : [],
      tensorBytes: 23,
    };
    await expect(worker.run(decoded.task, tight, new AbortController().signal)).rejects.toThrow(
      /its models and token sequences take 24 bytes, more than this worker's tensor memory \(--cache-mb, 23 bytes\)/,
    );
    const { text: _none, ...withoutText } = decoded.task;
    await expect(worker.run(withoutText, sources, new AbortController().signal)).rejects.toThrow(
      /reads token sequences, and the task carries none/,
    );
    await worker.destroy();
  });

  it('a worker refuses a cell whose models together take more than its tensor memory, and runs one that fits', async () => {
    const target = makeMlp({ widths: [12, 16, 4], naming: 'layers', seed: 2 }).tensors;
    const held = [...model.values(), ...target.values()].reduce((sum, t) => sum + t.data.byteLength, 0);
    const decoded = decodeTaskMessage(encodeEnvelope(taskOf(cell)).bytes);
    if (decoded.task.kind !== 'study-cell') throw new Error(`decoded a ${decoded.task.kind} task`);
    const task = decoded.task;
    const examples = 8;
    const sources = (tensorBytes: number) => ({
      fetchTensors: async (wanted: readonly { name: string; hash: string }[]) =>
        wanted === task.base.tensors ? [...model] : [...target],
      dataset: async () => ({
        name: 'bands',
        count: examples,
        exampleShape: [12],
        features: Float32Array.from({ length: examples * 12 }, (_, i) => Math.sin(i)),
        labels: Int32Array.from({ length: examples }, (_, i) => i % 4),
        classes: 4,
      }),
      tensorBytes,
    });
    const worker = new StudyCellWorker(1);
    try {
      const refused = worker.run(task, sources(held - 1), new AbortController().signal);
      await expect(refused).rejects.toThrow(BadTaskError);
      await expect(refused).rejects.toThrow(
        new RegExp(
          `its models take ${held} bytes, more than this worker's tensor memory \\(--cache-mb, ${held - 1} bytes\\)`,
        ),
      );
      const outcome = await worker.run(task, sources(held), new AbortController().signal);
      expect(outcome.ok).toBe(true);
    } finally {
      await worker.destroy();
    }
  });
});
