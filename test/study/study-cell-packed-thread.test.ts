// A cluster worker's study cell measures on the token sequences the dispatcher sent; sequences of another length
// than the base's context plus one would give a row that the cell's address does not describe, so they are refused.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { loadTextDataset } from '../../src/data/text-dataset.js';
import { BYTE_TOKENIZER } from '../../src/data/text-tokenizer.js';
import { packTensors } from '../../src/engine/packed-tensors.js';
import studyCellPackedThread from '../../src/study/study-cell-packed-thread.js';
import { createStudyResources } from '../../src/study/study-resources.js';
import { hashModel } from '../../src/zoo/model-hash.js';
import { cellOf } from './study-fixtures.js';

const MODEL = resolve('zoo/transformers/models/base-gpt2-w64-h4-weak');

describe('studyCellPackedThread on a language model', () => {
  it('measures on sequences of the base context plus one, and refuses any other length', async () => {
    const info = {
      id: 'base',
      sha256: (await hashModel(MODEL)).sha256,
      family: 'gpt2',
      arch: 'gpt2-w64',
      depth: 2,
      data: 'en',
      domain: 'en',
      path: MODEL,
    };
    const gpt2 = await createStudyResources().model(info);
    const unit = transplantUnits(gpt2.spec)[0].name;
    const cell = cellOf(info, info, {
      baseLayers: [unit],
      targetLayers: [unit],
      evalData: 'fortunes:en:test',
      evalLimit: 2,
      grid: [0, 1],
      aligned: false,
    });
    const model = { spec: gpt2.spec, config: gpt2.config, tensors: packTensors(gpt2.tensors) };
    const packed = (dataset: Awaited<ReturnType<typeof loadTextDataset>>) => ({
      cell,
      base: model,
      target: model,
      dataset,
    });
    // The base's context is its 64 position rows.
    const fits = await loadTextDataset('fortunes:en:test', {
      sequenceLength: 64,
      limit: 2,
      tokenizer: BYTE_TOKENIZER,
    });
    const measured = await studyCellPackedThread(packed(fits));
    expect(measured.ok, measured.ok ? '' : measured.message).toBe(true);
    const short = await loadTextDataset('fortunes:en:test', {
      sequenceLength: 9,
      limit: 2,
      tokenizer: BYTE_TOKENIZER,
    });
    const refused = await studyCellPackedThread(packed(short));
    expect(refused).toMatchObject({ ok: false, permanent: true });
    expect(refused.ok ? '' : refused.message).toMatch(
      /are 10 tokens long, but the base reads 64 plus the one/,
    );
  });
});
