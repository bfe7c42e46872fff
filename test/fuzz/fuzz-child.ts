/**
 * The process that runs fuzz cases, so that a hang or a heap exhaustion ends this process and not the runner:
 * it reads a job from its parent, then reports every case's outcome as it finishes it.
 */
import { MalError } from '../../src/errors.js';
import { removeScratch, TARGETS } from './fuzz-targets.js';
import { caseSeed, mutate, random } from './mutate.js';
import type { CaseReport, FuzzJob } from './run-fuzz.js';

function send(report: CaseReport | { readonly ready: true }): Promise<void> {
  return new Promise((resolve) => process.send?.(report, () => resolve()));
}

async function runJob(job: FuzzJob): Promise<void> {
  const target = TARGETS.find((t) => t.name === job.target);
  if (target === undefined) throw new Error(`no fuzz target '${job.target}'`);
  const seeds = target.seeds();
  await send({ ready: true });
  for (let index = job.from; index < job.to; index += 1) {
    const rng = random(caseSeed(job.seed, target.name, index));
    const seed = seeds[Math.floor(rng() * seeds.length)];
    let bytes = mutate(seed, rng, target.mutate);
    if (target.prepare !== undefined) bytes = target.prepare(bytes, rng);
    let report: CaseReport;
    try {
      await target.run(bytes);
      report = { index, outcome: 'accepted' };
    } catch (error) {
      report =
        error instanceof MalError
          ? { index, outcome: 'clean' }
          : {
              index,
              outcome: 'crash',
              detail:
                error instanceof Error
                  ? (error.stack ?? String(error)).split('\n').slice(0, 3).join(' | ')
                  : String(error),
            };
    }
    await send(report);
  }
}

process.once('message', (job: FuzzJob) => {
  runJob(job).then(
    () => {
      removeScratch();
      process.disconnect();
    },
    (error: unknown) => {
      removeScratch();
      console.error(error);
      process.exit(3);
    },
  );
});
