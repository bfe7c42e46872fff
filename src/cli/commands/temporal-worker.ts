import { temporalOptionSpecs, temporalSettings } from '../../../workers/temporal/temporal-settings.js';
import { createTemporalWorker } from '../../../workers/temporal/temporal-worker.js';
import type { Command } from '../command.js';

export const temporalWorkerCommand: Command = {
  name: 'temporal-worker',
  summary:
    'Run a Temporal worker that executes assembly workflows and their steps (prepare, step, finish) until SIGINT or SIGTERM. Steps evaluate in this process ($MAL_TASKS=local).',
  positionals: [],
  options: { ...temporalOptionSpecs },
  async run(args, io) {
    const settings = temporalSettings(args.strings);
    const handle = await createTemporalWorker(settings);
    io.err(
      `temporal worker: polling task queue '${settings.taskQueue}' on ${settings.address} (namespace '${settings.namespace}')`,
    );
    await handle.run();
    io.err('temporal worker: stopped');
    return 0;
  },
};
