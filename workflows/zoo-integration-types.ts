/** What the nightly zoo integration workflow and its activities exchange (paths, versions, hashes). */

export interface ZooModelRef {
  readonly id: string;
  readonly sha256: string;
}

export interface ZooIntegrationInput {
  /** The plan whose objective, candidate policy and merge settings every nightly run uses. */
  readonly plan: string;
  /** The zoo folder whose manifest is watched for new models. */
  readonly zoo: string;
  /** The publication folder: one sub-folder per version and a `latest` pointer file. */
  readonly publish: string;
  readonly backend?: string;
  readonly stepsPerExecution?: number;
  readonly heartbeatTimeoutSeconds?: number;
}

export interface ZooChanges {
  /** Zoo models (id and hash) not seen by the last published version. */
  readonly added: readonly ZooModelRef[];
  /** Every model of the zoo manifest now, recorded with the next version. */
  readonly zooSeen: readonly ZooModelRef[];
  readonly lastVersion: string | null;
  /** Where the next run starts: the last published model, or the plan's base when nothing was published. */
  readonly base: string;
  readonly nextVersion: string;
}

export interface PublishInput {
  readonly publish: string;
  readonly version: string;
  /** The assembly output folder to publish. */
  readonly output: string;
  /** The model the run started from; its config travels with the published model. */
  readonly base: string;
  readonly parent: string | null;
  readonly added: readonly ZooModelRef[];
  readonly zooSeen: readonly ZooModelRef[];
  readonly runId: string;
}

export interface PublishedVersion {
  readonly version: string;
  readonly folder: string;
  readonly modelSha256: string;
}

export interface ZooIntegrationResult {
  readonly published: PublishedVersion | null;
  /** Why nothing was published, or what was. */
  readonly reason: string;
  readonly added: readonly ZooModelRef[];
}

export interface ZooIntegrationActivities {
  findZooChanges(input: ZooIntegrationInput): Promise<ZooChanges>;
  publishAssembly(input: PublishInput): Promise<PublishedVersion>;
}
