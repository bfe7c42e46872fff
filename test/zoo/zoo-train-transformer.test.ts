/**
 * `mal zoo train --arch gpt2|llama` through the command object, on a small text file read as bytes: a Hugging
 * Face folder (model.safetensors, config.json) the project reads back, metrics equal to the float64 reference's
 * on the stored weights, the same bytes for the same seed, and clear refusals.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooTrainCommand } from '../../src/cli/commands/zoo.js';
import { loadModel, readFiniteFloatTensors } from '../../src/model/load-model.js';
import { readZooManifest } from '../../src/zoo/zoo-manifest.js';
import { gpt2Forward, llamaForward } from '../support/reference-forward.js';
import { referenceLmScore } from '../support/reference-transformer.js';
import { runCommand } from './run-command.js';
import { scratch } from './zoo-fixtures.js';

const TEXT = Array.from(
  { length: 60 },
  (_, i) => `Line ${i % 7}: the quick brown fox jumps over the lazy dog ${i % 3 === 0 ? 'again' : 'once'}.\n`,
).join('');

/** The file's bytes cut as loadTextDataset cuts them: consecutive sequences of `size` tokens. */
function byteSequences(text: string, size: number, limit: number): number[][] {
  const bytes = [...new TextEncoder().encode(text)];
  const count = Math.min(limit, Math.floor(bytes.length / size));
  return Array.from({ length: count }, (_, i) => bytes.slice(i * size, (i + 1) * size));
}

describe('mal zoo train --arch gpt2|llama', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let text: string;
  beforeAll(async () => {
    dir = await scratch();
    text = join(dir.path, 'corpus.txt');
    await writeFile(text, TEXT);
  });
  afterAll(async () => {
    await dir.remove();
  });

  const train = (zoo: string, arch: 'gpt2' | 'llama', seed: number, extra: string[] = [], heads = 4) =>
    runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      arch,
      '--width',
      '16',
      '--heads',
      String(heads),
      '--layers',
      '2',
      '--context',
      '16',
      '--data',
      `text:${text}`,
      '--eval',
      `text:${text}`,
      '--eval-limit',
      '6',
      '--epochs',
      '2',
      '--seed',
      String(seed),
      '--backend',
      'wasm',
      ...extra,
    ]);

  for (const [arch, reference, extra] of [
    ['gpt2', gpt2Forward, []],
    ['llama', llamaForward, ['--kv-heads', '2']],
  ] as const) {
    it(`${arch}: writes a model folder whose recorded loss is the float64 reference's`, async () => {
      const zoo = join(dir.path, `zoo-${arch}`);
      const run = await train(zoo, arch, 7, [...extra]);
      expect(run.err).toEqual([]);
      expect(run.code).toBe(0);
      const id = `${arch}-w16-h4-${arch === 'llama' ? 'kv2-' : ''}l2-c16-s7-corpustxt`;
      expect(run.out[0]).toContain(`added ${id} to ${zoo}: models/${id} (`);
      expect(run.out[0]).toMatch(/perplexity \d+\.\d+/);
      expect(run.progress.some((line) => /^epoch 2\/2 \[#+\] loss/.test(line))).toBe(true);
      const [entry] = (await readZooManifest(zoo)).models;
      expect(entry).toMatchObject({ id, path: `models/${id}`, readable: true, family: arch, seed: 7 });
      const folder = join(zoo, entry.path);
      const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
      expect(config.model_type).toBe(arch);
      expect(config.vocab_size).toBe(256);
      const model = await loadModel(folder);
      try {
        expect(model.spec.family).toBe(arch);
        const tensors = await readFiniteFloatTensors(model, model.source.tensorNames());
        // Tied head: no lm_head tensor, the embedding is the head.
        expect([...tensors.keys()].some((name) => name.startsWith('lm_head'))).toBe(false);
        const expected = referenceLmScore(reference, tensors, config, byteSequences(TEXT, 17, 6));
        const metric = entry.metrics[`text:${text}`];
        expect(metric.examples).toBe(6 * 16);
        expect(Math.abs(metric.loss - expected.loss)).toBeLessThan(1e-4);
        expect(metric.accuracy).toBeCloseTo(expected.accuracy, 6);
        // Two epochs on a repetitive text: better than uniform guessing over 256 bytes.
        expect(metric.loss).toBeLessThan(Math.log(256) - 0.5);
      } finally {
        await model.source.close();
      }
    });
  }

  it('gives the same bytes for the same seed and different bytes for another', async () => {
    const bytesOf = async (zoo: string, seed: number): Promise<Buffer> => {
      const run = await train(zoo, 'gpt2', seed, ['--id', 'm']);
      expect(run.code).toBe(0);
      return readFile(join(zoo, 'models', 'm', 'model.safetensors'));
    };
    const first = await bytesOf(join(dir.path, 'same-a'), 3);
    const second = await bytesOf(join(dir.path, 'same-b'), 3);
    const other = await bytesOf(join(dir.path, 'same-c'), 4);
    expect(first.equals(second)).toBe(true);
    expect(first.equals(other)).toBe(false);
  });

  it('refuses heads that do not divide the width, and classifier options, naming the option', async () => {
    const zoo = join(dir.path, 'zoo-bad');
    const uneven = await train(zoo, 'gpt2', 1, [], 3);
    expect(uneven.code).not.toBe(0);
    expect(uneven.err.join('\n')).toContain('--width 16 is not a multiple of --heads 3');
    const hidden = await train(zoo, 'llama', 1, ['--hidden', '8']);
    expect(hidden.code).not.toBe(0);
    expect(hidden.err.join('\n')).toContain('--hidden is not an option of --arch llama');
    const kv = await train(zoo, 'gpt2', 1, ['--kv-heads', '2']);
    expect(kv.err.join('\n')).toContain('--kv-heads is for --arch llama');
    const width = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'mlp',
      '--hidden',
      '4',
      '--data',
      'x.arrow',
      '--width',
      '8',
      '--epochs',
      '1',
      '--seed',
      '1',
    ]);
    expect(width.err.join('\n')).toContain('--width is for --arch gpt2 or llama');
  });

  it('refuses an uneven shape, a non-text or too short --data before creating the zoo', async () => {
    const zoo = join(dir.path, 'zoo-never');
    const trainOn = (data: string, evalSource: string, extra: string[]) =>
      runCommand(zooTrainCommand, [
        ...['--zoo', zoo, '--arch', 'llama', '--width', '16', '--heads', '4', '--layers', '1'],
        ...['--context', '8', '--data', data, '--eval', evalSource, '--epochs', '1', '--seed', '1'],
        ...extra,
      ]);
    const uneven = await trainOn(`text:${text}`, `text:${text}`, ['--kv-heads', '3']);
    expect(uneven.code).not.toBe(0);
    expect(uneven.err.join('\n')).toContain('--heads 4 is not a multiple of --kv-heads 3');
    const notText = await trainOn('fashion-mnist:train', `text:${text}`, []);
    expect(notText.code).not.toBe(0);
    expect(notText.err.join('\n')).toContain("'fashion-mnist:train' is not text");
    const evalSource = await trainOn(`text:${text}`, 'fortunes:xx', []);
    expect(evalSource.code).not.toBe(0);
    expect(evalSource.err.join('\n')).toContain("no fortune corpus 'xx'");
    const tiny = join(dir.path, 'tiny.txt');
    await writeFile(tiny, 'short');
    const short = await trainOn(`text:${tiny}`, `text:${text}`, []);
    expect(short.code).not.toBe(0);
    expect(short.err.join('\n')).toContain('do not fill one sequence of 9');
    await expect(stat(zoo)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
