import type { z } from 'zod';
import type { DeepReadonly } from '../schema/schema-kit.js';
import type {
  alignmentSettingsSchema,
  candidatePolicySchema,
  listedCandidateSchema,
  planFileSchema,
} from './plan-schema.js';

/*
 * The types of an assembly plan (`mal assemble <plan.yaml>`) after parsing: every path absolute, every option
 * with its value (defaults filled in), so the plan alone determines the run. They are what the schema in
 * plan-schema.ts gives; the fields are documented there (and in docs/plan-format.md).
 */

export type AssemblyPlan = DeepReadonly<z.output<ReturnType<typeof planFileSchema>>>;

export type ZooSelection = AssemblyPlan['zoo'];

/** Weighted tasks; the objective is `Σ weight · value` where value is the loss, or −accuracy. Lower is better. */
export type Objective = AssemblyPlan['objective'];

export type ObjectiveTask = Objective['tasks'][number];

export type CandidatePolicy = DeepReadonly<z.output<typeof candidatePolicySchema>>;

export type ListedCandidate = DeepReadonly<z.output<typeof listedCandidateSchema>>;

export type AlignmentSettings = DeepReadonly<z.output<typeof alignmentSettingsSchema>>;

export type MergeSettings = AssemblyPlan['merge'];

export type DataSettings = AssemblyPlan['data'];

/** The plan's heal settings when heal is on (plan field `heal`). */
export type HealSettings = Exclude<AssemblyPlan['heal'], false>;
