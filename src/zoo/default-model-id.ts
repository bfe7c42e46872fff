import { basename } from 'node:path';

export interface ModelIdFacts {
  readonly architecture: string;
  readonly hidden: readonly number[];
  readonly dense?: readonly number[];
  readonly data: string;
  readonly classes?: readonly number[];
  readonly limit?: number;
  readonly seed: number;
  /** The content hash of the model training started from, if not the seeded initialization. */
  readonly initFromSha256?: string;
}

/** A short name for a data source: `fashion-mnist:train` → `fmnist`, `mnist:test` → `mnist`, `x/toy.arrow` → `toy`. */
export function dataShortName(source: string): string {
  const [name] = source.split(':');
  if (name === 'fashion-mnist') return 'fmnist';
  if (name === 'mnist') return 'mnist';
  const file = basename(source.replace(/^arrow:/, '')).replace(/\.(arrow|feather)$/i, '');
  return file.replace(/[^A-Za-z0-9]/g, '') || 'data';
}

/**
 * The id `mal zoo train` gives a model when `--id` is not set, built from what tells models apart in a zoo:
 * `mlp-h256-s1-fmnist`, `cnn-h16x32-d64-s2-mnist`, `mlp-h64-s1-fmnist-c0.1.2-n2000`, and for a model trained
 * from given weights the first 8 hex digits of their hash, `mlp-h256-s1-fmnist-i1f2e3d4c`. Epochs and learning rate
 * are left out, so two runs differing only there collide and the second must be named with `--id`.
 */
export function defaultModelId(facts: ModelIdFacts): string {
  const parts = [facts.architecture, `h${facts.hidden.join('x')}`];
  if (facts.dense !== undefined && facts.dense.length > 0) parts.push(`d${facts.dense.join('x')}`);
  parts.push(`s${facts.seed}`, dataShortName(facts.data));
  if (facts.classes !== undefined) parts.push(`c${facts.classes.join('.')}`);
  if (facts.limit !== undefined) parts.push(`n${facts.limit}`);
  if (facts.initFromSha256 !== undefined) parts.push(`i${facts.initFromSha256.slice(0, 8)}`);
  return parts.join('-');
}
