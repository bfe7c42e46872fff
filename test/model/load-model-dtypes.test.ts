import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonFiniteWeightsError } from '../../src/errors.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { loadModel, readFiniteFloatTensor } from '../../src/model/load-model.js';
import { type ScratchFolder, scratchFolder } from '../io/safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

describe('loadModel with dtypes the merge does not compute in', () => {
  it('marks FP8 and C64 tensors merge: false and reads FP8 exactly, refusing its NaN', async () => {
    const path = scratch.file('fp8.safetensors');
    await writeSafetensorsTensors(path, [
      // fc1.weight: E4M3 1.0 (0x38) and -2.0 (0xc0), then 448 (0x7e) and 0.
      {
        name: 'fc1.weight',
        tensor: { dtype: 'F8_E4M3', shape: [2, 2], bytes: Uint8Array.of(0x38, 0xc0, 0x7e, 0) },
      },
      { name: 'fc1.bias', tensor: { dtype: 'F32', shape: [2], bytes: new Uint8Array(8) } },
      { name: 'fc2.weight', tensor: { dtype: 'C64', shape: [1, 2], bytes: new Uint8Array(16) } },
      { name: 'fc2.bias', tensor: { dtype: 'F8_E5M2', shape: [1], bytes: Uint8Array.of(0x7f) } },
    ]);
    const model = await loadModel(path);
    try {
      const merge = Object.fromEntries(model.spec.tensors.map((t) => [t.name, t.merge]));
      expect(merge).toEqual({
        'fc1.weight': false,
        'fc1.bias': true,
        'fc2.weight': false,
        'fc2.bias': false,
      });
      expect(Array.from((await readFiniteFloatTensor(model, 'fc1.weight')).data)).toEqual([1, -2, 448, 0]);
      await expect(readFiniteFloatTensor(model, 'fc2.bias')).rejects.toBeInstanceOf(NonFiniteWeightsError);
      await expect(readFiniteFloatTensor(model, 'fc2.weight')).rejects.toThrow(
        `${path}: tensor 'fc2.weight' is C64, which has no exact float32 reading`,
      );
    } finally {
      await model.source.close();
    }
  });
});
