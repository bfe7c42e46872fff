import type { Evaluated, Lineage } from '../assembly/lineage.js';

/** The best single zoo model as the report sets it beside the written model. */
export interface ComparableBestZoo {
  readonly id: string;
  /** Whether its output biases were re-fitted on the objective data, as the written model's were. */
  readonly calibrated: boolean;
  readonly evaluated: Evaluated;
  /** "best single zoo model" or "best single zoo model, calibrated". */
  readonly label: string;
}

/**
 * The best single zoo model measured as the written model's objective is: calibrated when the written model was
 * calibrated or the loop scored every model calibrated, raw otherwise. Setting a calibrated result beside the raw
 * zoo model would credit the assembly with what re-fitting ten biases gives any model.
 */
export function comparableBestZoo(lineage: Lineage): ComparableBestZoo | undefined {
  const calibrated = lineage.calibration !== undefined || scoredCalibrated(lineage);
  const entry = calibrated
    ? lineage.baselines?.entries.find((e) => e.name === 'best-zoo-calibrated')
    : undefined;
  if (entry !== undefined && entry.models.length > 0) {
    return {
      id: entry.models[0],
      calibrated: true,
      evaluated: entry.objective,
      label: 'best single zoo model, calibrated',
    };
  }
  const raw = lineage.bestZooModel;
  // A calibrated result with only the raw zoo model known (a lineage from before the baselines) is compared with
  // nothing rather than with the wrong thing.
  if (raw === undefined || calibrated) return undefined;
  return { id: raw.id, calibrated: false, evaluated: raw, label: 'best single zoo model' };
}

/** Whether the loop scored any objective task calibrated (plan field scoring; lineages before it: raw). */
export function scoredCalibrated(lineage: Lineage): boolean {
  return lineage.tasks.some((t) => t.scoring === 'calibrated');
}
