import type { RegistryEntry } from '../command.js';

/**
 * The core commands (no servers): names and one-line summaries for `mal --help`, and loaders. Nothing here may
 * import a command module statically: `mal --help` would then load TensorFlow.js, onnxruntime and the rest.
 * The cluster commands are in workers/commands/; workers/mal.ts puts the two lists together.
 */
export const coreCommands: readonly RegistryEntry[] = [
  {
    name: 'inspect',
    summary:
      'Print a model: its tensors, dtypes and shapes, the derived architecture spec and the width of every space',
    load: async () => (await import('./inspect.js')).inspectCommand,
  },
  {
    name: 'align',
    summary:
      "Map the target model into the base model's frame by weight matching (generalized permutations, zero-padding the narrower side)",
    load: async () => (await import('./align.js')).alignCommand,
  },
  {
    name: 'merge',
    summary:
      'Merge the target into the base: θ ← (1−λ)·θ + λ·T(θ_target), with T the alignment maps (computed unless --maps is given)',
    load: async () => (await import('./merge.js')).mergeCommand(),
  },
  {
    name: 'eval',
    summary: 'Evaluate a model on a data set: mean cross-entropy loss (natural log) and accuracy',
    load: async () => (await import('./eval.js')).evalCommand,
  },
  {
    name: 'calibrate',
    summary:
      "Re-fit a model's output biases (optionally a temperature) on labelled data and write the calibrated model",
    load: async () => (await import('./calibrate.js')).calibrateCommand,
  },
  {
    name: 'lmc',
    summary:
      'Linear mode connectivity: the loss along (1−λ)·θ + λ·T(θ_target), its mean, barrier and merge-factor threshold λ*',
    load: async () => (await import('./lmc.js')).lmcCommand,
  },
  {
    name: 'assemble',
    summary:
      'Assemble: the base absorbs, step by step, layers from the zoo that improve the objective (MAL §6)',
    load: async () => (await import('./assemble.js')).assembleCommand,
  },
  {
    name: 'study',
    summary:
      'A study of transplanted layers over a zoo: λ curves, mean LMC loss, barrier and λ* per pair and position, as a table and a report',
    load: async () => (await import('./study.js')).studyCommand,
  },
  {
    name: 'plan',
    summary: 'Assembly plans: check one without running it, or print the JSON Schema plans follow',
    subcommands: [
      {
        name: 'plan check',
        summary: 'Check a plan without running it: fields, models, layers, data and the memory estimate',
        load: async () => (await import('./plan.js')).planCheckCommand,
      },
      {
        name: 'plan schema',
        summary: 'Print the JSON Schema of assembly plans (--spec: of architecture spec files)',
        load: async () => (await import('./plan.js')).planSchemaCommand,
      },
    ],
  },
  {
    name: 'data',
    summary: 'Data sets: split one into class-biased parts and a held-out set, as Arrow files',
    subcommands: [
      {
        name: 'data split',
        summary:
          'Split a data set into N class-biased parts (fraction b of its own classes) and a stratified held-out set, as Arrow files',
        load: async () => (await import('./data.js')).dataSplitCommand,
      },
    ],
  },
  {
    name: 'zoo',
    summary: 'A zoo of models: train, add, list, show and verify its models',
    subcommands: [
      {
        name: 'zoo train',
        summary:
          'Train a model (MLP or small CNN) on a data set and add it to a zoo, with its architecture, data, seed and metrics',
        load: async () => (await import('./zoo.js')).zooTrainCommand,
      },
      {
        name: 'zoo add',
        summary:
          'Add an existing model (a .safetensors file, a shard index, or a model folder) to a zoo, copied or linked',
        load: async () => (await import('./zoo.js')).zooAddCommand,
      },
      {
        name: 'zoo ls',
        summary:
          'List the models of a zoo: id, family, widths, data set, accuracy, and whether it is readable',
        load: async () => (await import('./zoo.js')).zooLsCommand,
      },
      {
        name: 'zoo show',
        summary:
          'Show one zoo model: path, hash, family and widths (or why it is unreadable), data, metrics, provenance',
        load: async () => (await import('./zoo.js')).zooShowCommand,
      },
      {
        name: 'zoo verify',
        summary:
          'Re-hash every model of a zoo and compare with the manifest; exits 1 if any changed or is missing',
        load: async () => (await import('./zoo.js')).zooVerifyCommand,
      },
    ],
  },
];
