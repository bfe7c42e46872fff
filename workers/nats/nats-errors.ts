import { MalError } from '../../src/errors.js';

/** A tensor named in a task is not in the object store: the dispatcher did not upload it, or it was purged. */
export class MissingTensorError extends MalError {
  override readonly name = 'MissingTensorError';
  constructor(readonly hash: string) {
    super(
      `tensor ${hash} is not in the object store; the dispatcher uploads every tensor before it publishes a task, so run the step again (it re-uploads) or check that the bucket was not purged`,
    );
  }
}

/** The bytes stored under a tensor's hash are not the bytes that hash names, or not a tensor at all. */
export class CorruptTensorError extends MalError {
  override readonly name = 'CorruptTensorError';
  constructor(
    readonly hash: string,
    detail: string,
  ) {
    super(`tensor ${hash} in the object store is corrupt: ${detail}; delete it and upload the tensor again`);
  }
}

/** A task message that no worker can run: not JSON, an unknown kind, fields missing. */
export class BadTaskError extends MalError {
  override readonly name = 'BadTaskError';
  constructor(
    message: string,
    /** The key the message claimed, where it had one, so the error can be recorded there. */
    readonly key?: string,
  ) {
    super(message);
  }
}

/** A task ran past its deadline: its thread was ended and the task failed for good. */
export class TaskDeadlineError extends MalError {
  override readonly name = 'TaskDeadlineError';
}

/** The NATS server cannot be reached (exit 69, as the Temporal commands use for their server). */
export class NatsUnavailableError extends MalError {
  override readonly name = 'NatsUnavailableError';
  override readonly exitCode = 69;
}

/** No result arrived in time. */
export class DispatchTimeoutError extends MalError {
  override readonly name = 'DispatchTimeoutError';
}

/** A worker ran the task and recorded an error as its result. */
export class TaskFailedError extends MalError {
  override readonly name = 'TaskFailedError';
  constructor(
    readonly key: string,
    readonly errorName: string,
    readonly errorMessage: string,
  ) {
    super(`task ${key.slice(0, 12)} failed on its worker: ${errorName}: ${errorMessage}`);
  }
}

/** A cost product's result is not the product its task asked for: another shape, missing or corrupt bytes. */
export class CostProductResultError extends MalError {
  override readonly name = 'CostProductResultError';
}

/** An object larger than its reader may hold: refused from its metadata, before its bytes are fetched. */
export class BlobTooLargeError extends MalError {
  override readonly name = 'BlobTooLargeError';
  constructor(
    readonly blob: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(
      `object ${blob} holds ${size} bytes, more than this worker may hold (${maxBytes} bytes; see mal worker --cache-mb)`,
    );
  }
}
