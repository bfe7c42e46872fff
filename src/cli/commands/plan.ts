import type { CommandDefinition } from '../command.js';

export const planSchemaCommand: CommandDefinition = {
  name: 'plan schema',
  summary:
    'Print the JSON Schema of assembly plans (or, with --spec, of architecture spec files), for editors and other tools.',
  positionals: [],
  options: {
    spec: { type: 'boolean', description: 'print the schema of architecture spec files instead' },
  },
  notes:
    'Editors that read YAML language-server comments check a plan against it with a first line such as\n  # yaml-language-server: $schema=<path to>/plan.schema.json\nThe same schemas ship in docs/schema/.',
  run: async (args, io) => (await import('./plan-run.js')).runPlanSchema(args, io),
};

export const planCheckCommand: CommandDefinition = {
  name: 'plan check',
  summary:
    'Check a plan without running it: its fields, the base and zoo models readable, listed layers present, the data there, the memory estimate.',
  positionals: ['plan'],
  options: {
    json: { type: 'boolean', description: 'print the checked plan, with every default filled in, as JSON' },
  },
  run: async (args, io) => (await import('./plan-run.js')).runPlanCheck(args, io),
};
