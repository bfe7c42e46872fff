import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { type BackendPreference, isBackendPreference } from '../../compute/backend-preference.js';
import { withOutputFolderLock } from '../../io/output-folder-lock.js';
import { runStudy } from '../../study/run-study.js';
import { loadStudyFile } from '../../study/study-file.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { numberOption } from '../command.js';
import { formatSeconds } from '../progress-bar.js';

export async function runStudyCommand(args: ParsedArgs, io: CommandIO): Promise<number> {
  const study = await loadStudyFile(args.positionals[0]);
  const given = args.strings.get('backend');
  const backend: BackendPreference =
    given !== undefined && isBackendPreference(given) ? given : study.backend;
  const out = resolve(args.strings.get('out') ?? study.out);
  const threads = numberOption(args, 'threads') ?? availableParallelism();
  const json = args.flags.has('json');
  const started = performance.now();
  // One writer per output folder: a second study could otherwise prune the cells this one measures.
  const outcome = await withOutputFolderLock(out, () =>
    runStudy(study, {
      out,
      threads,
      backend,
      prune: args.flags.has('prune'),
      onStage: (line) => io.progress(line),
      onProgress: (p) =>
        io.progress(
          `cells ${p.done}/${p.total}` +
            (p.etaSeconds === undefined
              ? ''
              : `, ${p.rate.toFixed(1)}/s, about ${formatSeconds(p.etaSeconds)} left`),
        ),
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (json) {
    io.out(
      JSON.stringify({
        study: study.file,
        out,
        cells: outcome.cells,
        measured: outcome.measured,
        reused: outcome.reused,
        rejected: outcome.rejected,
        failed: outcome.failed,
        pairs: outcome.pairs,
        excludedPairs: outcome.excludedPairs,
        pruned: outcome.pruned,
        files: outcome.files,
        seconds,
      }),
    );
  } else {
    io.out(`study ${study.title}: ${outcome.cells} cells over ${outcome.pairs} ordered pairs`);
    io.out(
      `  measured ${outcome.measured}, from earlier runs ${outcome.reused}` +
        (outcome.rejected > 0 ? `, ${outcome.rejected} damaged cell file(s) measured again` : '') +
        `, ${seconds.toFixed(1)} s`,
    );
    if (outcome.excludedPairs > 0)
      io.out(
        `  ${outcome.excludedPairs} ordered pair(s) left out: no layer of one can take the other's place`,
      );
    if (outcome.pruned > 0)
      io.out(`  removed ${outcome.pruned} cell file(s) of cells this study no longer has`);
    for (const f of outcome.failed) {
      io.out(`  failed ${f.base} ← ${f.target} at ${f.position}${f.aligned ? '' : ' (naive)'}: ${f.reason}`);
    }
    io.out(`wrote ${outcome.files.arrow}`);
    io.out(`wrote ${outcome.files.csv}`);
    io.out(`wrote ${outcome.files.summary}`);
    io.out(`wrote ${outcome.files.report}`);
  }
  return outcome.failed.length > 0 ? 1 : 0;
}
