import type { CommandDefinition } from '../command.js';

export const dataSplitCommand: CommandDefinition = {
  name: 'data split',
  summary:
    'Split a labelled data set into N class-biased parts and a class-stratified held-out set, written as Arrow ' +
    'files (usable as data sources everywhere) with a split.json that records the options and per-class counts.',
  positionals: ['source'],
  options: {
    out: {
      type: 'string',
      valueName: 'dir',
      description: 'output folder; must be new or empty',
      required: true,
    },
    parts: {
      type: 'number',
      integer: true,
      min: 2,
      max: 1_000_000,
      valueName: 'n',
      description: 'number of parts N (at most the number of classes)',
      default: 2,
    },
    bias: {
      type: 'number',
      min: 0,
      max: 1,
      valueName: 'b',
      description:
        'fraction of each class that goes to the part owning it (1: disjoint classes; 1/N: unbiased)',
      default: 0.8,
    },
    holdout: {
      type: 'number',
      integer: true,
      min: 0,
      valueName: 'n',
      description: 'examples held out first, class-stratified, as holdout.arrow (0: none)',
      default: 2000,
    },
    seed: {
      type: 'number',
      integer: true,
      min: 0,
      max: 2 ** 32 - 1,
      valueName: 'n',
      description: 'seed of the shuffles; the same options give the same bytes',
      required: true,
    },
    'data-dir': { type: 'string', valueName: 'dir', description: 'folder of the Fashion-MNIST IDX files' },
  },
  notes: [
    'The rule: first n examples are held out, each class contributing in proportion to its size. The classes',
    '0..C-1 are then cut into N contiguous groups, the first C mod N groups one class larger (10 classes: N=2 ->',
    '0-4, 5-9; N=3 -> 0-3, 4-6, 7-9); part i owns group i. Of every class, the part owning it receives the',
    'fraction b of the remaining examples and every other part (1-b)/(N-1), rounded by the largest remainder, so',
    'each example lands in exactly one file. Example: N=2, b=0.8 gives part 1 = 80 % of classes 0-4 and 20 % of',
    '5-9, part 2 the rest. Files keep the source order of their examples and all of its classes as outputs.',
    'Source: fashion-mnist:train, mnist:train (or any other known source), or an Arrow data file.',
  ].join('\n'),
  run: async (args, io) => (await import('./data-run.js')).runDataSplit(args, io),
};
