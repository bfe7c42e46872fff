import { loadPlanFile } from '../../assembly/plan-file.js';
import { planJsonSchema } from '../../assembly/plan-schema.js';
import { validatePlan } from '../../assembly/validate-plan.js';
import { specJsonSchema } from '../../spec/spec-schema.js';
import type { CommandIO, ParsedArgs } from '../command.js';

export async function runPlanSchema(args: ParsedArgs, io: CommandIO): Promise<number> {
  io.out(JSON.stringify(args.flags.has('spec') ? specJsonSchema() : planJsonSchema(), null, 2));
  return 0;
}

export async function runPlanCheck(args: ParsedArgs, io: CommandIO): Promise<number> {
  const plan = await loadPlanFile(args.positionals[0]);
  const validation = await validatePlan(plan);
  if (args.flags.has('json')) {
    io.out(
      JSON.stringify(
        { plan, zoo: validation.zooModels.map((m) => m.id), skipped: validation.skipped },
        null,
        2,
      ),
    );
    return 0;
  }
  io.out(
    `plan ${plan.file} is valid: base ${plan.base}, ${validation.zooModels.length} donor model(s) from the zoo, ${validation.skipped.length} left out, ${plan.objective.tasks.length} task(s), up to ${plan.steps} step(s)`,
  );
  for (const s of validation.skipped) io.out(`  left out ${s.id}: ${s.reason}`);
  return 0;
}
