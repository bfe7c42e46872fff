import { MalError, UsageError } from '../../src/errors.js';

/** Where the Temporal server is and which queue the workers poll; flags override the environment. */
export interface TemporalSettings {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
}

export const TEMPORAL_ADDRESS_ENV = 'MAL_TEMPORAL_ADDRESS';
export const TEMPORAL_NAMESPACE_ENV = 'MAL_TEMPORAL_NAMESPACE';
export const TASK_QUEUE_ENV = 'MAL_TASK_QUEUE';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';
export const DEFAULT_TASK_QUEUE = 'mal-assembly';

/** The flags every Temporal command takes, with the environment variable and default each falls back to. */
export const temporalOptionSpecs = {
  address: {
    type: 'string',
    valueName: 'host:port',
    description: `Temporal frontend (default: $${TEMPORAL_ADDRESS_ENV}, else ${DEFAULT_TEMPORAL_ADDRESS})`,
  },
  namespace: {
    type: 'string',
    valueName: 'name',
    description: `Temporal namespace (default: $${TEMPORAL_NAMESPACE_ENV}, else ${DEFAULT_TEMPORAL_NAMESPACE})`,
  },
  'task-queue': {
    type: 'string',
    valueName: 'name',
    description: `task queue of the assembly workers (default: $${TASK_QUEUE_ENV}, else ${DEFAULT_TASK_QUEUE})`,
  },
} as const;

export function temporalSettings(
  flags: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): TemporalSettings {
  const pick = (flag: string, envName: string, fallback: string): string => {
    const value = flags.get(flag) ?? env[envName] ?? fallback;
    if (value.trim() === '') throw new UsageError(`--${flag} (or $${envName}) must not be empty`);
    return value;
  };
  return {
    address: pick('address', TEMPORAL_ADDRESS_ENV, DEFAULT_TEMPORAL_ADDRESS),
    namespace: pick('namespace', TEMPORAL_NAMESPACE_ENV, DEFAULT_TEMPORAL_NAMESPACE),
    taskQueue: pick('task-queue', TASK_QUEUE_ENV, DEFAULT_TASK_QUEUE),
  };
}

/** The Temporal server could not be reached or refused the request. */
export class TemporalUnavailableError extends MalError {
  override readonly name = 'TemporalUnavailableError';
  override readonly exitCode = 69;
  constructor(settings: TemporalSettings, cause: unknown) {
    super(
      `cannot reach the Temporal server at ${settings.address} (namespace '${settings.namespace}'): ${(cause as Error).message ?? String(cause)}. Start one (deploy/temporal/start-dev-server.sh) or point --address / $${TEMPORAL_ADDRESS_ENV} at it`,
    );
  }
}

/** The nightly zoo integration's schedule id unless `--id` names another. */
export const DEFAULT_SCHEDULE_ID = 'mal-nightly';
