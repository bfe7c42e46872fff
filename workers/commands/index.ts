import type { LazyCommand, RegistryEntry } from '../../src/cli/command.js';

/**
 * The cluster commands (Temporal, NATS): names and one-line summaries for `mal --help`, and loaders; nothing
 * here imports a command module statically. They live in workers/ because src/ never imports workers/ or
 * workflows/.
 */
export const clusterCommands: readonly RegistryEntry[] = [
  {
    name: 'submit',
    summary: 'Submit an assembly plan to the Temporal cluster as a durable run and print its run id',
    load: async () => (await import('./submit.js')).submitCommand,
  },
  {
    name: 'status',
    summary:
      "Show a submitted run's state: workflow status, step, budget, objective, last accepted candidate",
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    name: 'pause',
    summary: 'Pause a submitted run after its current step',
    load: async () => (await import('./run-control.js')).pauseCommand,
  },
  {
    name: 'resume',
    summary: 'Resume a paused run',
    load: async () => (await import('./run-control.js')).resumeCommand,
  },
  {
    name: 'stop',
    summary: 'Stop a submitted run after its current step and write its outputs',
    load: async () => (await import('./run-control.js')).stopCommand,
  },
  {
    name: 'temporal-worker',
    summary:
      'Run a Temporal worker that executes assembly workflows and their steps (prepare, step, finish) until SIGINT or SIGTERM',
    load: async () => (await import('./temporal-worker.js')).temporalWorkerCommand,
  },
  {
    name: 'schedule',
    summary: 'Temporal Schedules for the nightly zoo integration: create, list, trigger, delete',
    subcommands: [
      {
        name: 'schedule nightly',
        summary:
          'Create a Temporal Schedule that assembles new zoo models into the published model every night and publishes improvements',
        load: async () => (await import('./schedule.js')).nightlyCommand,
      },
      {
        name: 'schedule ls',
        summary: 'List the Temporal Schedules: id, workflow, next run',
        load: async () => (await import('./schedule.js')).listCommand,
      },
      {
        name: 'schedule trigger',
        summary: 'Run a schedule now, once',
        load: async () => (await import('./schedule.js')).triggerCommand,
      },
      {
        name: 'schedule delete',
        summary: 'Delete a schedule (runs already started go on)',
        load: async () => (await import('./schedule.js')).deleteCommand,
      },
    ],
  },
  {
    name: 'results',
    summary: 'The cluster result store (mal-results): recorded task failures',
    subcommands: [
      {
        name: 'results failures',
        summary:
          'List the task failures recorded in the result store; --forget removes them so their tasks run again',
        load: async () => (await import('./results.js')).resultsFailuresCommand,
      },
    ],
  },
  {
    name: 'worker',
    summary:
      'Run a task worker: pull alignment and evaluation tasks of one pool from NATS JetStream and run them on a thread pool',
    load: async () => (await import('./worker.js')).workerCommand,
  },
];

/** Core commands the full program replaces by a cluster-aware form of the same command (same name, more options). */
export const clusterCommandOverrides: readonly LazyCommand[] = [
  {
    name: 'align',
    summary:
      "Map the target model into the base model's frame by weight matching or activation matching (with --nats the cost-matrix products run on the NATS task workers)",
    load: async () => (await import('./align.js')).alignCommand,
  },
  {
    name: 'merge',
    summary:
      'Merge the target into the base: θ ← (1−λ)·θ + λ·T(θ_target), with T the alignment maps (computed unless --maps is given; with --nats their cost-matrix products run on the NATS task workers)',
    load: async () => (await import('./merge.js')).mergeCommand(),
  },
  {
    name: 'study',
    summary:
      'A study of transplanted layers over a zoo: λ curves, mean LMC loss, barrier and λ* per pair and position, as a table and a report (embedded, or on the cluster with --cluster)',
    load: async () => (await import('./study.js')).studyCommand,
  },
];
