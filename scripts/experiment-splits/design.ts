/**
 * What the split experiment runs (issue 10): the settings, the replicate seeds, the widths, the epochs and where
 * every file goes. Everything the experiment trains or assembles is named here, so a rerun finds it again.
 */
import { join } from 'node:path';

export interface SplitSetting {
  /** '2-way' or '3-way': the label in the tables. */
  readonly name: string;
  /** Folder-safe form of the name. */
  readonly slug: string;
  readonly parts: number;
}

export const SETTINGS: readonly SplitSetting[] = [
  { name: '2-way', slug: '2way', parts: 2 },
  { name: '3-way', slug: '3way', parts: 3 },
];

/** Replicates: each gets its own split, base and zoo. */
export const REPLICATE_SEEDS: readonly number[] = [1, 2];

/** Fraction of each class the part owning it receives (the rest is shared evenly by the other parts). */
export const SPLIT_BIAS = 0.8;
/** Images held out of the training file (class-stratified) as the objective data. */
export const HOLDOUT = 2000;
export const BASE_WIDTH = 128;
export const ZOO_WIDTHS: readonly number[] = [64, 128, 256, 512];
/** Training epochs of every model; EXPERIMENT_EPOCHS overrides it (the tables say which was used). */
export const DEFAULT_EPOCHS = 3;
/** Where every (setting, seed) folder and the results go, relative to the repository root. */
export const EXPERIMENT_FOLDER = join('out', 'experiment-splits');
/** The full test set: only evaluated, never used to choose anything. */
export const REPORT_DATA = 'fashion-mnist:test';

/**
 * Seeds of one replicate, derived from its seed so that no two models or splits share one: the split's seed,
 * and per (part, width) the training seed. Stable, so a cached model is the one the seed names.
 */
export function splitSeed(setting: SplitSetting, seed: number): number {
  return 1000 * seed + setting.parts;
}

export function trainingSeed(setting: SplitSetting, seed: number, part: number, width: number): number {
  // Part 1 holds only the base, so (part, width) is unique within a replicate.
  return 1000 * seed + 100 * setting.parts + 10 * part + Math.max(0, ZOO_WIDTHS.indexOf(width));
}

/** One model to train: the base on part 1, or a zoo model on another part. */
export interface ModelToTrain {
  readonly id: string;
  /** The zoo folder it goes into. */
  readonly zoo: string;
  readonly part: number;
  readonly width: number;
  readonly seed: number;
}

/** Every file of one (setting, seed), under the experiment folder. */
export class ReplicateLayout {
  readonly folder: string;

  constructor(
    readonly root: string,
    readonly setting: SplitSetting,
    readonly seed: number,
  ) {
    this.folder = join(root, EXPERIMENT_FOLDER, `${setting.slug}-s${seed}`);
  }

  get label(): string {
    return `${this.setting.name}, seed ${this.seed}`;
  }

  get splitFolder(): string {
    return join(this.folder, 'split');
  }

  get holdout(): string {
    return join(this.splitFolder, 'holdout.arrow');
  }

  part(index: number): string {
    return join(this.splitFolder, `part-${index}.arrow`);
  }

  /** The base has a zoo of its own, so that the assembly's zoo (and its ensemble) holds only donors. */
  get baseZoo(): string {
    return join(this.folder, 'base');
  }

  get zoo(): string {
    return join(this.folder, 'zoo');
  }

  get baseId(): string {
    return `base-mlp-h${BASE_WIDTH}x${BASE_WIDTH}-part1`;
  }

  get baseModel(): string {
    return join(this.baseZoo, 'models', `${this.baseId}.safetensors`);
  }

  plan(variant: string): string {
    return join(this.folder, 'plans', `${variant}.yaml`);
  }

  run(variant: string): string {
    return join(this.folder, 'runs', variant);
  }

  /** The base first, then the zoo part by part, narrow to wide. */
  models(): ModelToTrain[] {
    const { setting, seed } = this;
    const out: ModelToTrain[] = [
      {
        id: this.baseId,
        zoo: this.baseZoo,
        part: 1,
        width: BASE_WIDTH,
        seed: trainingSeed(setting, seed, 1, BASE_WIDTH),
      },
    ];
    for (let part = 2; part <= setting.parts; part++) {
      for (const width of ZOO_WIDTHS) {
        out.push({
          id: `mlp-h${width}x${width}-part${part}`,
          zoo: this.zoo,
          part,
          width,
          seed: trainingSeed(setting, seed, part, width),
        });
      }
    }
    return out;
  }
}

/** An assembly of one replicate: the plan the issue asks for, or it with one more field. */
export interface AssemblyVariant {
  /** Folder-safe name: the plan file and output folder are named after it. */
  readonly name: string;
  readonly label: string;
  /** Plan fields added to the default plan (base, zoo, objective, candidate policy, report), or made from the replicate. */
  readonly fields: Readonly<Record<string, unknown>> | ((layout: ReplicateLayout) => Record<string, unknown>);
}

export const DEFAULT_ASSEMBLY: AssemblyVariant = { name: 'assemble', label: 'assembled', fields: {} };
export const HEAL_ASSEMBLY: AssemblyVariant = {
  name: 'assemble-heal',
  label: 'assembled + heal',
  // The teacher is the whole zoo's ensemble (the reference the gap is measured to), distilled on the base's own
  // training part read without labels: what a base's owner has, whatever the loop accepted.
  fields: (layout) => ({ heal: { teacher: 'zoo', data: layout.part(1) } }),
};

/** Run with EXPERIMENT_VARIANTS=1: each of issue 10's options alone on top of the defaults. */
export const OPTIONAL_VARIANTS: readonly AssemblyVariant[] = [
  {
    name: 'match-activations',
    label: 'alignment.match: activations',
    fields: { alignment: { match: 'activations' } },
  },
  { name: 'repair', label: 'merge.repair: repair', fields: { merge: { repair: 'repair' } } },
  { name: 'donors-3', label: 'merge.donors: 3', fields: { merge: { donors: 3 } } },
  {
    name: 'per-layer-lambda',
    label: 'merge.perLayerLambda: true',
    fields: { merge: { perLayerLambda: true } },
  },
  { name: 'regmean', label: 'merge.regmean: true', fields: { merge: { regmean: true } } },
  {
    name: 'regmean-repair',
    label: 'merge.regmean + repair',
    fields: { merge: { regmean: true, repair: 'repair' } },
  },
  {
    name: 'regmean-donors-3',
    label: 'merge.regmean + donors: 3',
    fields: { merge: { regmean: true, donors: 3 } },
  },
];
