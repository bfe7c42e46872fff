import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import { root } from '../support/mal-cli.js';
import { makeGpt2, makeLlama, type SyntheticModel } from '../support/model-factory.js';
import { gpt2Forward, llamaForward } from '../support/reference-forward.js';
import { referenceLmScore } from '../support/reference-transformer.js';
import { runMal } from '../support/run-mal.js';
import { randomFreePermutations, specOf, transformModel } from '../support/transform-model.js';

const mal = (...args: string[]) => runMal(args);
const TOLERANCE = 1e-4;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-lm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A model folder: model.safetensors and its config.json, as a checkpoint is saved. */
async function save(
  name: string,
  model: SyntheticModel,
  extra: Record<string, string> = {},
): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  await writeSafetensorsTensors(
    join(folder, 'model.safetensors'),
    new Map([...model.tensors].map(([n, t]) => [n, fromFloat32(t.data, 'F32', t.shape)])),
  );
  await writeFile(join(folder, 'config.json'), JSON.stringify(model.config));
  for (const [file, text] of Object.entries(extra)) await writeFile(join(folder, file), text);
  return folder;
}

/** Consecutive sequences of `size` ids, the tail dropped: what the loader must produce, computed here by hand. */
function chunks(ids: readonly number[], size: number, limit = Number.POSITIVE_INFINITY): number[][] {
  const out: number[][] = [];
  for (let start = 0; start + size <= ids.length && out.length < limit; start += size)
    out.push(ids.slice(start, start + size));
  return out;
}

const TEXT = Array.from(
  { length: 12 },
  (_, i) => `Line ${i}: the quick brown fox jumps over ${i * 7} lazy dogs.\n`,
).join('');

function relative(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1, Math.abs(b));
}

describe('mal eval on transformers', () => {
  it('GPT-2 on a text file as UTF-8 bytes: loss, perplexity and next-token accuracy of the float64 reference', async () => {
    const model = makeGpt2({ vocab: 256, positions: 16, dModel: 16, nHead: 2, nLayer: 2, seed: 3 });
    const folder = await save('gpt2-bytes', model);
    const textFile = join(dir, 'lines.txt');
    await writeFile(textFile, TEXT);
    const run = await mal(
      'eval',
      folder,
      '--data',
      `text:${textFile}`,
      '--limit',
      '5',
      '--json',
      '--backend',
      'cpu',
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    const sequences = chunks([...Buffer.from(TEXT, 'utf8')], 17, 5);
    const expected = referenceLmScore(gpt2Forward, model.tensors, model.config, sequences);
    expect(result.count).toBe(5 * 16);
    expect(result.sequences).toBe(5);
    expect(result.sequenceLength).toBe(16);
    expect(result.tokenizer).toBe('bytes');
    expect(relative(result.loss, expected.loss)).toBeLessThan(TOLERANCE);
    expect(relative(result.perplexity, expected.perplexity)).toBeLessThan(TOLERANCE);
    expect(result.accuracy).toBeCloseTo(expected.accuracy, 10);

    const text = await mal(
      'eval',
      folder,
      '--data',
      `text:${textFile}`,
      '--context',
      '8',
      '--backend',
      'wasm',
    );
    expect(text.code, text.stderr).toBe(0);
    const shorter = referenceLmScore(
      gpt2Forward,
      model.tensors,
      model.config,
      chunks([...Buffer.from(TEXT, 'utf8')], 9),
    );
    expect(text.stdout).toContain(
      `(${shorter.count} predicted tokens in ${shorter.count / 8} sequences, bytes)`,
    );
    expect(text.stdout).toMatch(/perplexity \d+\.\d{3} \(lower is better\)/);
    expect(text.stdout).toContain(`loss      ${shorter.loss.toFixed(4)}`);

    // config.json's booleans as Hugging Face writes them: attention over the block index too.
    await writeFile(
      join(folder, 'config.json'),
      JSON.stringify({ ...model.config, scale_attn_by_inverse_layer_idx: true }),
    );
    const byLayer = await mal('eval', folder, '--data', `text:${textFile}`, '--limit', '5', '--json');
    expect(byLayer.code, byLayer.stderr).toBe(0);
    const expectedByLayer = referenceLmScore(
      gpt2Forward,
      model.tensors,
      { ...model.config, scale_attn_by_inverse_layer_idx: 1 },
      sequences,
    );
    expect(relative(JSON.parse(byLayer.stdout).loss, expectedByLayer.loss)).toBeLessThan(TOLERANCE);
    expect(relative(expectedByLayer.loss, expected.loss)).toBeGreaterThan(1e-4);
  });

  it("LLaMA with grouped-query attention reads its folder's tokenizer.json", async () => {
    const tokenizer = {
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: {
        type: 'WordPiece',
        vocab: { '[UNK]': 0, the: 1, cat: 2, sat: 3, on: 4, mat: 5, '.': 6 },
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
      },
    };
    const model = makeLlama({ vocab: 7, dModel: 16, nHead: 4, nKvHead: 2, ff: 12, nLayer: 2, seed: 4 });
    const folder = await save('llama-words', model, { 'tokenizer.json': JSON.stringify(tokenizer) });
    const textFile = join(dir, 'cats.txt');
    const words = 'the cat sat on the mat . the mat sat on the cat . a dog sat .';
    await writeFile(textFile, words);
    const ids = [1, 2, 3, 4, 1, 5, 6, 1, 5, 3, 4, 1, 2, 6, 0, 0, 3, 6];
    const run = await mal('eval', folder, '--data', textFile, '--context', '5', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    const expected = referenceLmScore(llamaForward, model.tensors, model.config, chunks(ids, 6));
    expect(result.count).toBe(15);
    expect(result.tokenizer).toBe(join(folder, 'tokenizer.json'));
    expect(relative(result.loss, expected.loss)).toBeLessThan(TOLERANCE);

    // LLaMA 3.1's rope_scaling, nested in config.json as Hugging Face writes it; the reference reads it flattened.
    const scaling = {
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    };
    await writeFile(
      join(folder, 'config.json'),
      JSON.stringify({ ...model.config, rope_scaling: { rope_type: 'llama3', ...scaling } }),
    );
    const scaled = await mal('eval', folder, '--data', textFile, '--context', '5', '--json');
    expect(scaled.code, scaled.stderr).toBe(0);
    const flat = Object.fromEntries(Object.entries(scaling).map(([k, v]) => [`rope_scaling.${k}`, v]));
    const expectedScaled = referenceLmScore(
      llamaForward,
      model.tensors,
      { ...model.config, rope_scaling: 'llama3', ...flat },
      chunks(ids, 6),
    );
    expect(relative(JSON.parse(scaled.stdout).loss, expectedScaled.loss)).toBeLessThan(TOLERANCE);
    expect(relative(expectedScaled.loss, expected.loss)).toBeGreaterThan(1e-3);
    // transformers 5 writes theta and scaling together as rope_parameters.
    const { rope_theta: _theta, ...withoutTheta } = model.config;
    await writeFile(
      join(folder, 'config.json'),
      JSON.stringify({
        ...withoutTheta,
        rope_parameters: { rope_type: 'llama3', rope_theta: 10000, ...scaling },
      }),
    );
    const v5 = await mal('eval', folder, '--data', textFile, '--context', '5', '--json');
    expect(v5.code, v5.stderr).toBe(0);
    expect(relative(JSON.parse(v5.stdout).loss, expectedScaled.loss)).toBeLessThan(TOLERANCE);
    // Two thetas that disagree are refused rather than one picked.
    await writeFile(
      join(folder, 'config.json'),
      JSON.stringify({ ...model.config, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }),
    );
    const both = await mal('eval', folder, '--data', textFile, '--context', '5');
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain(
      `${folder}: config.json gives rope_theta 10000 and rope_parameters.rope_theta 500000; keep one`,
    );
  });

  it('refuses data the model cannot read, naming what to change', async () => {
    const small = await save(
      'gpt2-small-vocab',
      makeGpt2({ vocab: 100, positions: 8, dModel: 8, nHead: 2, nLayer: 1, seed: 5 }),
    );
    const run = await mal('eval', small, '--data', 'fortunes:en:test');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /tokenized with bytes \(vocabulary 256\) but 'transformer\.wte\.weight' has only 100 rows/,
    );
    // A vocabulary that is not bytes, and no tokenizer.json: bytes would index tokens they are not.
    const wide = await save(
      'gpt2-wide-vocab',
      makeGpt2({ vocab: 300, positions: 8, dModel: 8, nHead: 2, nLayer: 1, seed: 5 }),
    );
    const untokenized = await mal('eval', wide, '--data', 'fortunes:en:test');
    expect(untokenized.code).not.toBe(0);
    expect(untokenized.stderr).toContain(
      `${wide}: 'transformer.wte.weight' has 300 rows (a 300-token vocabulary) but no tokenizer.json beside it`,
    );
    const labelled = await mal('eval', small, '--data', 'fashion-mnist:val');
    expect(labelled.code).not.toBe(0);
    expect(labelled.stderr).toMatch(
      /not text, and this model reads token sequences; text sources: fortunes:/,
    );
    const long = await mal('eval', small, '--data', 'fortunes:en:test', '--context', '9');
    expect(long.code).not.toBe(0);
    expect(long.stderr).toMatch(
      /--context 9 is longer than the model's context of 8 \(from config 'n_positions'\)/,
    );
    const llama = makeLlama({ vocab: 256, dModel: 8, nHead: 2, nKvHead: 1, ff: 8, nLayer: 1, seed: 9 });
    const scaled = await save('llama-scaled', llama);
    const withRope = (rope_scaling: Record<string, unknown>) =>
      writeFile(join(scaled, 'config.json'), JSON.stringify({ ...llama.config, rope_scaling }));
    await withRope({ rope_type: 'yarn', factor: 2 });
    const rope = await mal('eval', scaled, '--data', 'fortunes:en:test', '--context', '8');
    expect(rope.code).not.toBe(0);
    expect(rope.stderr).toMatch(
      /RoPE scaling 'yarn' \(rope_scaling or rope_parameters\), which is not implemented \(implemented: linear, dynamic, llama3\)/,
    );
    // Said of the model it is about.
    expect(rope.stderr).toContain(`${scaled}: transformer forward:`);
    await withRope({ rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 });
    const partial = await mal('eval', scaled, '--data', 'fortunes:en:test', '--context', '8');
    expect(partial.code).not.toBe(0);
    expect(partial.stderr).toMatch(
      /rope_scaling 'llama3' needs rope_scaling\.original_max_position_embeddings, and the model config has none/,
    );
    const mlp = join(root, 'zoo', 'demo', 'models', 'mlp-h256x256-s1-fmnist.safetensors');
    const text = await mal('eval', mlp, '--data', 'fortunes:en:test');
    expect(text.code).not.toBe(0);
    expect(text.stderr).toMatch(/unknown data source 'fortunes:en:test'/);
  });

  it('on fortunes:en:test with a byte-level model: one pass over the held-out fortunes', async () => {
    const model = await save(
      'gpt2-fortunes',
      makeGpt2({ vocab: 256, positions: 32, dModel: 8, nHead: 2, nLayer: 1, seed: 6 }),
    );
    const run = await mal('eval', model, '--data', 'fortunes:en:test', '--limit', '20', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.count).toBe(20 * 32);
    // A random model is near-uniform over 256 bytes: perplexity of the order of the vocabulary.
    expect(result.perplexity).toBeGreaterThan(50);
    expect(result.perplexity).toBeLessThan(5000);
  });
});

describe('mal lmc on two GPT-2 models', () => {
  it('a permuted copy aligns back: the aligned curve is flat at the base loss; the naive one is not', async () => {
    const model = makeGpt2({
      vocab: 256,
      positions: 16,
      dModel: 16,
      nHead: 4,
      nLayer: 2,
      tiedLmHead: false,
      seed: 7,
    });
    const spec = specOf(model.tensors, model.config);
    const permuted = {
      tensors: transformModel(
        spec,
        model.tensors,
        randomFreePermutations(spec, model.tensors, new SeededRandom(8)),
      ),
      config: model.config,
    };
    const base = await save('lmc-base', model);
    const target = await save('lmc-target', permuted);
    const textFile = join(dir, 'lmc.txt');
    await writeFile(textFile, TEXT);
    const expected = referenceLmScore(
      gpt2Forward,
      model.tensors,
      model.config,
      chunks([...Buffer.from(TEXT, 'utf8')], 17, 6),
    );
    const aligned = await mal(
      'lmc',
      base,
      target,
      '--data',
      textFile,
      '--limit',
      '6',
      '--grid',
      '0:0.5:1',
      '--json',
    );
    expect(aligned.code, aligned.stderr).toBe(0);
    const result = JSON.parse(aligned.stdout);
    expect(result.points).toHaveLength(3);
    for (const point of result.points) expect(relative(point.loss, expected.loss)).toBeLessThan(TOLERANCE);
    const naive = await mal(
      'lmc',
      base,
      target,
      '--data',
      textFile,
      '--limit',
      '6',
      '--grid',
      '0:0.5:1',
      '--json',
      '--naive',
    );
    expect(naive.code, naive.stderr).toBe(0);
    const naiveResult = JSON.parse(naive.stdout);
    // The λ points evaluated on worker threads score the same.
    const threaded = await mal(
      'lmc',
      base,
      target,
      '--data',
      textFile,
      '--limit',
      '6',
      '--grid',
      '0:0.5:1',
      '--json',
      '--threads',
      '2',
    );
    expect(threaded.code, threaded.stderr).toBe(0);
    expect(JSON.parse(threaded.stdout).threads).toBe(2);
    for (const point of JSON.parse(threaded.stdout).points)
      expect(relative(point.loss, expected.loss)).toBeLessThan(TOLERANCE);
    // Unaligned, the midpoint averages unrelated units: a different function, so a different loss.
    expect(relative(naiveResult.points[1].loss, expected.loss)).toBeGreaterThan(0.01);
    expect(relative(naiveResult.points[2].loss, expected.loss)).toBeLessThan(TOLERANCE);
  });
});
