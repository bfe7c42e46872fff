import { describe, expect, it } from 'vitest';
import { KNOWN_DATA_SOURCES, parseDataSource } from '../../src/data/data-source.js';
import { DataSourceError } from '../../src/data/data-source-error.js';
import { loadDataset } from '../../src/data/load-dataset.js';

describe('parseDataSource', () => {
  it('parses every known name', () => {
    expect(KNOWN_DATA_SOURCES.map(parseDataSource)).toEqual([
      { kind: 'fashion-mnist', split: 'train' },
      { kind: 'fashion-mnist', split: 'test' },
      { kind: 'fashion-mnist-val' },
      { kind: 'mnist', split: 'train' },
      { kind: 'mnist', split: 'test' },
    ]);
  });

  it('takes Arrow files by extension or prefix', () => {
    expect(parseDataSource('data/x.arrow')).toEqual({ kind: 'arrow', path: 'data/x.arrow' });
    expect(parseDataSource('/d/X.FEATHER')).toEqual({ kind: 'arrow', path: '/d/X.FEATHER' });
    expect(parseDataSource('arrow:/d/table.ipc')).toEqual({ kind: 'arrow', path: '/d/table.ipc' });
    expect(() => parseDataSource('arrow:')).toThrow(/no path after 'arrow:'/);
  });

  it('rejects an unknown source, listing the valid ones', () => {
    for (const source of ['cifar10', 'fashion-mnist', 'mnist:val', 'data.csv']) {
      const error = (() => {
        try {
          parseDataSource(source);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(DataSourceError);
      const message = (error as Error).message;
      expect(message).toContain(`unknown data source '${source}'`);
      for (const known of KNOWN_DATA_SOURCES) expect(message).toContain(known);
      expect(message).toContain('arrow:<path>');
    }
  });

  it('makes loadDataset reject unknown sources the same way', async () => {
    await expect(loadDataset('imagenet:train', { layout: 'flat' })).rejects.toThrow(
      /known sources: fashion-mnist:train/,
    );
  });
});
