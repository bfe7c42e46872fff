import type { NatsConnection } from 'nats';
import { poolConsumerName, TASK_STREAM } from './task-infrastructure.js';

/**
 * Whether any worker serves `pool` right now: one waiting in a pull on the pool's consumer, or one holding a task
 * unacknowledged. A pool nobody serves keeps its tasks queued until a worker starts, so a dispatcher that waits on
 * them would otherwise say nothing until its timeout. A worker between two pulls counts as none: this is a hint
 * for a message, never a reason to refuse.
 */
export async function poolIsServed(nc: NatsConnection, pool: string): Promise<boolean> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.info(TASK_STREAM, poolConsumerName(pool));
  return info.num_waiting > 0 || info.num_ack_pending > 0;
}
