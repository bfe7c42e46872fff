import type { CommandDefinition } from '../../src/cli/command.js';
import { temporalOptionSpecs } from '../temporal/temporal-settings.js';

/** `mal pause|resume|stop <run>`: one signal each to a submitted run. */
function runControlCommand(signal: 'pause' | 'resume' | 'stop', summary: string): CommandDefinition {
  return {
    name: signal,
    summary,
    positionals: ['run'],
    options: { ...temporalOptionSpecs },
    run: async (args, io) => (await import('./run-control-run.js')).signalRun(signal, args, io),
  };
}

export const pauseCommand = runControlCommand('pause', 'Pause a submitted run after its current step.');
export const resumeCommand = runControlCommand('resume', 'Resume a paused run.');
export const stopCommand = runControlCommand(
  'stop',
  'Stop a submitted run after its current step and write its outputs.',
);
