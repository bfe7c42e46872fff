import { describe, expect, it } from 'vitest';
import { sortNatural } from '../../src/spec/natural-sort.js';

describe('sortNatural', () => {
  it('orders numeric components numerically and the rest as text', () => {
    expect(sortNatural(['layers.10', 'layers.9', 'layers.1', 'fc', 'layers.2.b', 'layers.2.a'])).toEqual([
      'fc',
      'layers.1',
      'layers.2.a',
      'layers.2.b',
      'layers.9',
      'layers.10',
    ]);
    expect(sortNatural(['layer2.0', 'layer10.0', 'layer1.11', 'layer1.3'])).toEqual([
      'layer1.3',
      'layer1.11',
      'layer2.0',
      'layer10.0',
    ]);
  });
});
