// Task messages as a hostile peer on the bus would send them: each is refused with a BadTaskError that names the
// field, and only once the key is the hash of the task is the key reported (so a failure can be recorded there).
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALIGNMENT } from '../../src/assembly/plan-file.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { canonicalJson, hashOf } from '../../src/store/content-store.js';
import { BadTaskError } from '../../workers/nats/nats-errors.js';
import { encodeEnvelope, type TaskInput } from '../../workers/nats/task-messages.js';
import { decodeTaskMessage, MAX_TASK_MESSAGE_BYTES } from '../../workers/nats/task-schema.js';
import { makeMlp } from '../support/model-factory.js';

const model = makeMlp({ widths: [12, 16, 4], naming: 'layers', seed: 1 }).tensors;
const spec = deriveSpec([...model].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape })));
const hash = 'a'.repeat(64);
const refs = [...model.keys()].map((name) => ({ name, hash }));

const evaluate: TaskInput = {
  kind: 'evaluate',
  backend: 'wasm',
  spec: spec,
  config: {},
  batchSize: null,
  scoring: 'raw',
  tensors: refs,
  data: { source: 'fashion-mnist:val', layout: 'flat', start: 0, end: null },
};
const align: TaskInput = {
  kind: 'align',
  base: { spec: spec, widths: [['layers.0.out', 16]], tensors: refs },
  zoo: { spec: spec, widths: [['layers.0.out', 16]], tensors: refs },
  candidate: { model: 'zoo', layers: ['layers.0'], baseLayers: ['layers.0'] },
  settings: DEFAULT_ALIGNMENT,
  seed: 7,
};

const curve: TaskInput = {
  kind: 'curve',
  backend: 'wasm',
  base: { spec: spec, widths: [['layers.0.out', 16]], tensors: refs },
  zoo: { spec: spec, widths: [['layers.0.out', 16]], tensors: refs },
  candidate: { model: 'zoo', layers: ['layers.0'], baseLayers: ['layers.0'] },
  maps: hash,
  kernel: 'incompatible',
  method: { method: 'mal', unmatched: 'zero' },
  seed: 0,
  lambdas: [0, 0.5, 1],
  config: {},
  batchSize: null,
  scoring: 'raw',
  data: { source: 'fashion-mnist:val', layout: 'flat', start: 0, end: 500 },
};

/** A message whose key is the hash of the (hostile) task it carries, as any peer can make one. */
function message(task: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson({ key: hashOf(task), task }));
}

function refusal(bytes: Uint8Array): BadTaskError {
  try {
    decodeTaskMessage(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(BadTaskError);
    return error as BadTaskError;
  }
  throw new Error('the message was accepted');
}

describe('task messages', () => {
  it('reads back what the dispatcher sends, spec included', () => {
    for (const task of [evaluate, align, curve]) {
      const { key, bytes } = encodeEnvelope(task);
      const decoded = decodeTaskMessage(bytes);
      expect(decoded.key).toBe(key);
      expect(decoded.task.kind).toBe(task.kind);
    }
    const decoded = decodeTaskMessage(encodeEnvelope(evaluate).bytes);
    expect(decoded.task.kind === 'evaluate' && decoded.task.spec).toEqual(spec);
  });

  it("reads an evaluate task's scoring and refuses one it does not know", () => {
    const calibrated: TaskInput = { ...evaluate, scoring: 'biases' };
    const decoded = decodeTaskMessage(encodeEnvelope(calibrated).bytes);
    expect(decoded.task.kind === 'evaluate' && decoded.task.scoring).toBe('biases');
    expect(refusal(message({ ...evaluate, scoring: 'sideways' })).message).toMatch(/task\.scoring/);
    const { scoring: _, ...unscored } = evaluate as TaskInput & { scoring: string };
    expect(refusal(message(unscored)).message).toMatch(/task\.scoring/);
  });

  it('refuses hostile alignment settings with the plan schema, naming the field and the task', () => {
    const hostile = { ...align, settings: { ...DEFAULT_ALIGNMENT, tolerance: -1 } };
    const error = refusal(message(hostile));
    expect(error.key).toBe(hashOf(hostile));
    expect(error.message).toMatch(
      /task [0-9a-f]{64} \(align\): task\.settings\.tolerance: must be ≥ 0, got -1/,
    );
    expect(
      refusal(message({ ...align, settings: { ...DEFAULT_ALIGNMENT, maxSweeps: 0.5 } })).message,
    ).toMatch(/settings\.maxSweeps/);
    expect(refusal(message({ ...align, settings: { ...DEFAULT_ALIGNMENT, sweeps: 3 } })).message).toMatch(
      /unknown key 'sweeps'/,
    );
  });

  it("reads activation matching's examples and models' forward settings, and refuses bad ones", () => {
    const byActivations: TaskInput = {
      ...align,
      base: { ...align.base, config: { activation: 'relu' } },
      zoo: { ...align.zoo, config: {} },
      settings: { ...DEFAULT_ALIGNMENT, match: 'activations' },
      statistics: { backend: 'wasm', features: 'b'.repeat(64) },
    };
    const decoded = decodeTaskMessage(encodeEnvelope(byActivations).bytes).task;
    expect(decoded.kind === 'align' && decoded.statistics).toEqual({
      backend: 'wasm',
      features: 'b'.repeat(64),
    });
    expect(decoded.kind === 'align' && decoded.base.config).toEqual({ activation: 'relu' });
    const statistics = (value: object) => message({ ...byActivations, statistics: value });
    expect(refusal(statistics({ backend: 'wasm', features: 'not-a-hash' })).message).toMatch(
      /task\.statistics\.features: expected a hex sha256/,
    );
    expect(refusal(statistics({ backend: 'gpu-of-the-future', features: hash })).message).toMatch(
      /task\.statistics\.backend/,
    );
    expect(refusal(statistics({ backend: 'wasm', features: hash, labels: hash })).message).toMatch(
      /task\.statistics.*labels/,
    );
    expect(
      refusal(message({ ...byActivations, zoo: { ...align.zoo, config: { activation: [1] } } })).message,
    ).toMatch(/task\.zoo\.config\.activation/);
  });

  it("refuses a curve task's λ outside [0, 1], an empty or huge grid, an unknown method and maps not by hash", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ lambdas: [0.5, 1.5] }, /task\.lambdas\.1/],
      [{ lambdas: [] }, /task\.lambdas/],
      [{ lambdas: Array.from({ length: 1001 }, () => 0.5) }, /task\.lambdas/],
      [{ method: { method: 'magic' } }, /task\.method/],
      [{ method: { method: 'mal', unmatched: 'zero', density: 0.5 } }, /task\.method/],
      [{ maps: 'maps.json' }, /task\.maps: expected a hex sha256/],
      [{ kernel: 'stretch' }, /task\.kernel/],
    ];
    for (const [change, pattern] of cases) {
      const task = { ...curve, ...change };
      const error = refusal(message(task));
      expect(error.message).toMatch(pattern);
      expect(error.key).toBe(hashOf(task));
    }
  });

  it('refuses a negative, fractional or reversed data range', () => {
    const data = (d: object) => ({ ...evaluate, data: { ...evaluate.data, ...d } });
    expect(refusal(message(data({ start: -1 }))).message).toMatch(/task\.data\.start/);
    expect(refusal(message(data({ start: 1.5 }))).message).toMatch(/task\.data\.start/);
    expect(refusal(message(data({ start: 10, end: 5 }))).message).toMatch(
      /task\.data\.end: end must be null or ≥ start/,
    );
    expect(refusal(message(data({ layout: 'cube' }))).message).toMatch(/task\.data\.layout/);
  });

  it("reads a language model's token sequences by hash as an evaluation batch, and refuses bad ones by field", () => {
    const text = { tokens: 'b'.repeat(64), tokenizer: 'bytes', vocabulary: 256 };
    const name = 'fortunes:en:test';
    const tokens: TaskInput = { ...evaluate, data: { text, name, start: 0, end: 12 } };
    const decoded = decodeTaskMessage(encodeEnvelope(tokens).bytes);
    expect(decoded.task.kind === 'evaluate' && decoded.task.data).toEqual({ text, name, start: 0, end: 12 });
    const curveOnTokens = decodeTaskMessage(
      encodeEnvelope({ ...curve, data: { text, name, start: 0, end: null } }).bytes,
    );
    expect(curveOnTokens.task.kind === 'curve' && curveOnTokens.task.data).toEqual({
      text,
      name,
      start: 0,
      end: null,
    });
    const batch = (d: object) => ({ ...evaluate, data: { text, name, start: 0, end: null, ...d } });
    expect(refusal(message(batch({ text: { ...text, tokens: '../x' } }))).message).toMatch(
      /task\.data\.text\.tokens/,
    );
    expect(refusal(message(batch({ text: { ...text, vocabulary: 0 } }))).message).toMatch(
      /task\.data\.text\.vocabulary/,
    );
    expect(refusal(message(batch({ start: -2 }))).message).toMatch(/task\.data\.start/);
    expect(refusal(message(batch({ start: 5, end: 2 }))).message).toMatch(/task\.data\.end/);
    expect(refusal(message(batch({ name: '' }))).message).toMatch(/task\.data\.name/);
    // One kind or the other: labelled examples' fields do not ride along with token sequences.
    expect(refusal(message(batch({ source: 'fashion-mnist:val' }))).message).toMatch(/task\.data.*source/);
  });

  it('refuses unknown backends, bad specs, tensor refs that are not hashes and repeated tensors', () => {
    expect(refusal(message({ ...evaluate, backend: 'abacus' })).message).toMatch(/task\.backend/);
    expect(refusal(message({ ...evaluate, spec: { spaces: 'none' } })).message).toMatch(/task\.spec/);
    const badRef = [{ name: 'x', hash: '../../etc/passwd' }];
    expect(refusal(message({ ...evaluate, tensors: badRef })).message).toMatch(
      /task\.tensors\.0\.hash: expected a hex sha256/,
    );
    const repeated = Array.from({ length: 3000 }, () => refs[0]);
    expect(refusal(message({ ...evaluate, tensors: repeated })).message).toMatch(/listed twice/);
    expect(refusal(message({ ...align, base: { ...align.base, widths: [['h', 1e12]] } })).message).toMatch(
      /task\.base\.widths/,
    );
    expect(refusal(message({ ...align, seed: -1 })).message).toMatch(/task\.seed/);
  });

  it('never reports a key that is not the hash of the task, so no failure lands on another task', () => {
    const { key } = encodeEnvelope(evaluate);
    const forged = new TextEncoder().encode(JSON.stringify({ key, task: { kind: 'unknown-kind' } }));
    expect(refusal(forged).key).toBeUndefined();
    const swapped = new TextEncoder().encode(JSON.stringify({ key, task: { ...evaluate, seed: 1 } }));
    const error = refusal(swapped);
    expect(error.key).toBeUndefined();
    expect(error.message).toMatch(/key is not the hash of the task/);
    expect(
      refusal(new TextEncoder().encode(JSON.stringify({ key: '>', task: evaluate }))).key,
    ).toBeUndefined();
  });

  it('refuses a message over the size cap before parsing it, and one that is not UTF-8 JSON', () => {
    const huge = new Uint8Array(MAX_TASK_MESSAGE_BYTES + 1).fill(0x5b);
    expect(refusal(huge).message).toMatch(/larger than the \d+ a task may be/);
    expect(refusal(new Uint8Array([0xff, 0xfe])).message).toMatch(/not JSON/);
    expect(refusal(new TextEncoder().encode('[1,2]')).message).toMatch(/not a JSON object/);
    const deep = new TextEncoder().encode(
      `{"key":"${'b'.repeat(64)}","task":{"kind":"noop","tensors":${'['.repeat(500_000)}${']'.repeat(500_000)}}}`,
    );
    expect(refusal(deep)).toBeInstanceOf(BadTaskError);
  });
});
