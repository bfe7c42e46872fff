/** The demo zoo shipped in zoo/demo (scripts/make-demo-zoo.sh): intact, readable, and holding what the demos need. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeModel } from '../../src/zoo/describe-model.js';
import { openZoo, verifyZoo, zooModelPath } from '../../src/zoo/zoo-folder.js';

const demo = join(import.meta.dirname, '..', '..', 'zoo', 'demo');

describe('shipped demo zoo', () => {
  it('matches its manifest: every hash, family and width', async () => {
    const zoo = await openZoo(demo);
    expect((await verifyZoo(zoo)).filter((r) => r.status !== 'ok')).toEqual([]);
    for (const entry of zoo.manifest.models) {
      expect(entry.readable).toBe(true);
      if (!entry.readable) continue;
      expect(await describeModel(zooModelPath(zoo, entry))).toMatchObject({
        readable: true,
        family: entry.family,
        widths: entry.widths,
      });
    }
  });

  it('holds a weak base, donors of other widths and families, and a same-width pair of seeds', async () => {
    const { manifest } = await openZoo(demo);
    const accuracy = (id: string): number => {
      const entry = manifest.models.find((m) => m.id === id);
      return entry === undefined ? Number.NaN : Object.values(entry.metrics)[0].accuracy;
    };
    const base = accuracy('base-mlp-h128x128-fmnist-weak');
    for (const donor of ['mlp-h64x64-s1-fmnist', 'mlp-h128x128-s1-fmnist', 'mlp-h256x256-s1-fmnist']) {
      expect(accuracy(donor)).toBeGreaterThan(base + 0.1);
    }
    const pair = manifest.models.filter(
      (m) => m.readable && m.id.startsWith('mlp-h256x256-') && m.id.endsWith('-fmnist'),
    );
    expect(pair.map((m) => m.seed)).toEqual([1, 2]);
    expect(new Set(manifest.models.map((m) => (m.readable ? m.family : '?')))).toEqual(
      new Set(['mlp', 'cnn']),
    );
    expect(new Set(manifest.models.map((m) => m.dataset))).toEqual(
      new Set(['fashion-mnist:train', 'mnist:train']),
    );
  });
});
