/**
 * What the assembly workflow and its activities exchange. Only small values travel through Temporal (they land
 * in the workflow history): hashes, indices and numbers. Tensors stay in the step store.
 */

/** The run a workflow drives: the plan file and output folder as the workers see them (a shared path). */
export interface AssemblyRunRef {
  readonly plan: string;
  readonly output: string;
  /** Backend preference; default: the plan's. */
  readonly backend?: string;
  /** Starts from this model instead of the plan's base (the nightly integration continues a published model). */
  readonly base?: string;
  /** Takes candidates from this zoo folder instead of the plan's (its include/exclude lists still apply). */
  readonly zoo?: string;
}

export interface PreparedRun {
  readonly budget: number;
  readonly initialStateHash: string;
  readonly initialObjective: number;
  readonly backend: string;
  readonly zoo: readonly { readonly id: string; readonly sha256: string }[];
}

export interface StepActivityInput extends AssemblyRunRef {
  readonly index: number;
  readonly stateHash: string;
  readonly objective: number;
}

export interface AcceptedCandidateSummary {
  readonly model: string;
  readonly layers: readonly string[];
  readonly baseLayers: readonly string[];
  readonly lambda: number;
}

export interface StepActivityResult {
  readonly index: number;
  readonly accepted: AcceptedCandidateSummary | null;
  readonly stateAfter: string;
  readonly objectiveAfter: number;
  /** The key of the step's record in the store. */
  readonly stepKey: string;
  /** True when the record was already in the store (a retried or replayed step). */
  readonly resumed: boolean;
}

export interface FinishActivityInput extends AssemblyRunRef {
  readonly stepsDone: number;
  readonly stopReason: string;
}

export interface FinishedRun {
  readonly model: string;
  readonly report: string;
  readonly modelSha256: string;
  /** The healed model (training, plan field `heal`) beside the model, or null when the plan does not heal or heal was skipped. */
  readonly healedModel: string | null;
  readonly initialObjective: number;
  readonly finalObjective: number;
  readonly steps: number;
  readonly accepted: number;
  readonly stopReason: string;
}

/** Where a run stands, carried across continue-as-new so a long run keeps a small history. */
export interface AssemblyCursor {
  readonly prepared: PreparedRun;
  readonly index: number;
  readonly stateHash: string;
  readonly objective: number;
  readonly lastAccepted: AcceptedCandidateSummary | null;
  readonly paused: boolean;
  readonly stopping: boolean;
  /** How many workflow executions (continue-as-new generations) came before this one. */
  readonly generation: number;
}

export interface AssemblyWorkflowInput extends AssemblyRunRef {
  /** Steps per workflow execution before continue-as-new (default 20). */
  readonly stepsPerExecution?: number;
  /** Heartbeat timeout of the step activity, in seconds (default 120): how soon a dead worker's step is retried. */
  readonly heartbeatTimeoutSeconds?: number;
  /** Set by continue-as-new; absent on a fresh run. */
  readonly cursor?: AssemblyCursor;
}

export type AssemblyPhase = 'preparing' | 'running' | 'paused' | 'finishing' | 'done';

/** The answer to the `progress` query. */
export interface AssemblyProgress {
  readonly phase: AssemblyPhase;
  /** Steps finished. */
  readonly step: number;
  readonly budget: number | null;
  readonly objective: number | null;
  readonly initialObjective: number | null;
  readonly stateHash: string | null;
  readonly lastAccepted: AcceptedCandidateSummary | null;
  readonly paused: boolean;
  readonly stopping: boolean;
  readonly generation: number;
}

/** The activities the assembly workflow calls; implemented by workers/temporal/activities.ts. */
export interface AssemblyActivities {
  prepareAssembly(ref: AssemblyRunRef): Promise<PreparedRun>;
  runAssemblyStep(input: StepActivityInput): Promise<StepActivityResult>;
  finishAssembly(input: FinishActivityInput): Promise<FinishedRun>;
}
