import { loadDatasetAsStored } from '../../data/load-dataset.js';
import {
  checkSplitFolder,
  prepareSplitFolder,
  type SplitFileSummary,
  type SplitSummary,
  splitFileNames,
  writeSplitFolder,
} from '../../data/split-folder.js';
import { withOutputFolderLock } from '../../io/output-folder-lock.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { numberOption, requiredNumber, requiredString } from '../command.js';

export async function runDataSplit(args: ParsedArgs, io: CommandIO): Promise<number> {
  const source = args.positionals[0];
  const out = requiredString(args, 'out');
  const options = {
    parts: numberOption(args, 'parts') ?? 2,
    bias: numberOption(args, 'bias') ?? 0.8,
    holdout: numberOption(args, 'holdout') ?? 2000,
    seed: requiredNumber(args, 'seed'),
  };
  const names = splitFileNames(options.parts, options.holdout);
  // Before the data is read: a folder that cannot take the split, or that another run is writing to, fails in
  // milliseconds. The lock is held until the split is published.
  await checkSplitFolder(out, source, names);
  return withOutputFolderLock(out, async () => {
    await prepareSplitFolder(out);
    io.progress(`loading ${source}`);
    const dataset = await loadDatasetAsStored(source, args.strings.get('data-dir'));
    const summary = await writeSplitFolder(out, dataset, source, options, {
      onStage: (line) => io.progress(line),
    });
    for (const line of splitTable(summary)) io.out(line);
    io.out(
      `wrote ${summary.parts.length + (summary.holdout === undefined ? 0 : 1)} data files and split.json to ${out}`,
    );
    return 0;
  });
}

/** One row per file: its examples, the classes it owns, and its per-class counts. */
function splitTable(summary: SplitSummary): string[] {
  const row = (file: SplitFileSummary, own: string): string[] => [
    file.file,
    String(file.examples),
    own,
    file.perClass.join(' '),
  ];
  const rows: string[][] = [];
  if (summary.holdout !== undefined) rows.push(row(summary.holdout, 'stratified'));
  for (const part of summary.parts) rows.push(row(part, classRange(part.ownClasses)));
  const header = ['FILE', 'EXAMPLES', 'OWNS', 'PER CLASS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)];
}

/** `[0, 1, 2, 3, 4]` → `0-4`; contiguous by construction. */
function classRange(classes: readonly number[]): string {
  if (classes.length === 1) return `${classes[0]}`;
  return `${classes[0]}-${classes[classes.length - 1]}`;
}
