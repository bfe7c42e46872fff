import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { UsageError } from '../../src/errors.js';
import { type TemporalSettings, TemporalUnavailableError } from './temporal-settings.js';

/** A connected client, or a TemporalUnavailableError that says where it looked. */
export async function connectTemporalClient(
  settings: TemporalSettings,
): Promise<{ client: Client; close(): Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: '5 s' });
    await connection.ensureConnected();
  } catch (error) {
    throw new TemporalUnavailableError(settings, error);
  }
  return {
    client: new Client({ connection, namespace: settings.namespace }),
    close: () => connection.close(),
  };
}

/**
 * Starts a workflow run under the operator's run id on the settings' task queue; a run of that id already
 * running is a usage error that says what to do.
 */
export async function startWorkflowRun(
  client: Client,
  settings: TemporalSettings,
  workflow: string,
  runId: string,
  input: unknown,
): Promise<WorkflowHandle> {
  try {
    return await client.workflow.start(workflow, {
      taskQueue: settings.taskQueue,
      workflowId: runId,
      args: [input],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      throw new UsageError(
        `a run with id '${runId}' is already running; pick another --id or 'mal status ${runId}'`,
      );
    throw error;
  }
}
