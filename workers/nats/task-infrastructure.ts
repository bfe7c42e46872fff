import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import { UsageError } from '../../src/errors.js';

/** The work-queue stream every pool's tasks go through: a message is removed once a worker acknowledges it. */
export const TASK_STREAM = 'MAL_TASKS';
/** Tensors as Arrow IPC blobs, named by the sha256 of their bytes. */
export const TENSOR_BUCKET = 'mal-tensors';
/** Task results (JSON), keyed by the hash of the task's input. */
export const RESULT_BUCKET = 'mal-results';
/** Task outputs too large for a KV value (an alignment's maps of a wide layer), as JSON named by its sha256. */
export const RESULT_BLOB_BUCKET = 'mal-result-blobs';

export { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER } from './nats-defaults.js';

export function taskSubject(pool: string): string {
  return `mal.tasks.${pool}`;
}

export function poolConsumerName(pool: string): string {
  return `mal-pool-${pool}`;
}

/** Pool names become subject tokens and consumer names, so they keep to what both allow. */
export function checkPoolName(pool: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(pool)) {
    throw new UsageError(
      `pool name '${pool}': use 1 to 64 letters, digits, '-' or '_' (it becomes a NATS subject token)`,
    );
  }
  return pool;
}

export interface PoolConsumerSettings {
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
}

/** Creates the task stream if it is missing; only settings NATS 2.9 honours. */
export async function ensureTaskStream(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(TASK_STREAM);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await jsm.streams.add({
        name: TASK_STREAM,
        subjects: ['mal.tasks.>'],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
      });
    } catch (raced) {
      // Another process created it between our look and our add.
      if (!String((raced as Error).message).includes('already in use')) throw raced;
    }
  }
}

/**
 * Creates the pool's durable pull consumer, or brings its ack wait and delivery bound to the asked settings, so
 * the operator's latest worker flags win. Each pool filters its own subject: a work queue allows one consumer
 * per subject.
 */
export async function ensurePoolConsumer(
  jsm: JetStreamManager,
  pool: string,
  settings: PoolConsumerSettings,
  /** False: leave an existing consumer as its workers configured it (dispatchers only make sure one exists). */
  updateExisting = true,
): Promise<void> {
  const durable = poolConsumerName(pool);
  const wanted: Partial<ConsumerConfig> = {
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver,
  };
  try {
    const info = await jsm.consumers.info(TASK_STREAM, durable);
    if (!updateExisting) return;
    if (info.config.ack_wait !== wanted.ack_wait || info.config.max_deliver !== wanted.max_deliver) {
      await jsm.consumers.update(TASK_STREAM, durable, wanted);
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(TASK_STREAM, {
      durable_name: durable,
      filter_subject: taskSubject(pool),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: -1,
      ...wanted,
    });
  }
}

function isNotFound(error: unknown): boolean {
  const message = String((error as Error)?.message ?? error);
  return message.includes('not found') || message.includes('404');
}
