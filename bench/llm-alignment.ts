/**
 * Alignment at LLM scale: LLaMA-7B-shaped pairs (hidden 4096, intermediate 11 008) of 1, 2, 4 and 8 blocks,
 * generated on the fly (seeded, the target a permuted base plus 1 % noise, bf16, sharded), then `mal align` and
 * `mal merge --maps` each run as a child process for wall time and peak RSS, and the maps checked against the
 * permutation that was applied. It drives the CLI, so it measures whatever dist/ holds (build first).
 * Targets: the 8-block pair's align peak RSS ≤ 1.25× the 1-block pair's and < 8 GB; ≤ 61 s of align per block;
 * every unit recovered.
 *
 *   npx tsx bench/llm-alignment.ts [--blocks 1,2,4,8] [--shape 7b|small] [--keep <dir>] [--memory <size>]
 *     [--init anchored|identity]
 *
 * The full 32-block model (--blocks 32) needs about 35 GB of disk while it runs (the 23 GB pair, the aligned
 * target, the merge); free space is checked first.
 */
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MalError, UsageError } from '../src/errors.js';
import {
  LLAMA_7B_BLOCK,
  type LlamaShape,
  llamaTensorInfos,
  writeLlamaShapedPair,
} from '../src/zoo/llama-shaped-pair.js';
import { endRunningChildren, gnuTimeAvailable, runMeasured } from './child-peak.js';

const root = join(import.meta.dirname, '..');
const GB = 1e9;
const MiB = 2 ** 20;
const SEED = 1;
const NOISE = 0.01;

const TARGET_RSS_RATIO = 1.25;
const TARGET_RSS_BYTES = 8 * GB;
const TARGET_SECONDS_PER_BLOCK = 61;

type ShapeName = '7b' | 'small';

const SHAPES: Record<
  ShapeName,
  { readonly block: Omit<LlamaShape, 'blocks'>; readonly maxShardBytes: number }
> = {
  '7b': { block: LLAMA_7B_BLOCK, maxShardBytes: 2 * 2 ** 30 },
  // Tiny, for a smoke run in seconds; shards small enough that even one block is split.
  small: {
    block: { hidden: 64, intermediate: 172, heads: 4, kvHeads: 2, vocab: 32 },
    maxShardBytes: 64 * 1024,
  },
};

/** The disk cannot hold the pair and what align and merge write. */
export class NotEnoughDiskError extends MalError {
  override readonly name = 'NotEnoughDiskError';
}

interface BenchOptions {
  readonly blocks: readonly number[];
  readonly shape: ShapeName;
  readonly keep?: string;
  readonly memory?: string;
  readonly init: string;
}

interface BlockResult {
  readonly blocks: number;
  readonly generateSeconds: number;
  readonly alignSeconds: number;
  readonly alignPeakBytes: number;
  readonly mergeSeconds: number;
  readonly mergePeakBytes: number;
  readonly recovered: string;
  readonly exact: boolean;
}

function parseOptions(argv: readonly string[]): BenchOptions {
  let values: { blocks?: string; shape?: string; keep?: string; memory?: string; init?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        blocks: { type: 'string' },
        shape: { type: 'string' },
        keep: { type: 'string' },
        memory: { type: 'string' },
        init: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`llm-alignment bench: ${(e as Error).message}`);
  }
  const blocks = (values.blocks ?? '1,2,4,8').split(',').map((s) => Number(s.trim()));
  if (blocks.length === 0 || blocks.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new UsageError(`--blocks: expected positive integers separated by commas, got '${values.blocks}'`);
  }
  const shape = values.shape ?? '7b';
  if (shape !== '7b' && shape !== 'small')
    throw new UsageError(`--shape: expected 7b or small, got '${shape}'`);
  const init = values.init ?? 'anchored';
  if (init !== 'anchored' && init !== 'identity')
    throw new UsageError(`--init: expected anchored or identity, got '${init}'`);
  return { blocks, shape, keep: values.keep, memory: values.memory, init };
}

function modelBytes(shape: LlamaShape): number {
  return llamaTensorInfos(shape).reduce((sum, t) => sum + 2 * t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The pair, align's aligned copy of the target and the merged model are each one model's size; without --keep the
 * aligned copy is removed before the merge, so three are on disk at once. Plus 1 GB for maps and slack.
 */
async function checkFreeSpace(folder: string, shape: LlamaShape, keep: boolean): Promise<void> {
  const fs = await statfs(folder);
  const free = fs.bavail * fs.bsize;
  const need = (keep ? 4 : 3) * modelBytes(shape) + GB;
  if (free < need) {
    throw new NotEnoughDiskError(
      `${folder}: ${shape.blocks} LLaMA-shaped blocks need ${(need / GB).toFixed(1)} GB free (the pair, the aligned target, the merge), only ${(free / GB).toFixed(1)} GB are`,
    );
  }
}

/** Exactly recovered units per free space, against the maps the permutation implies. */
function compareMaps(
  mapsFile: string,
  document: unknown,
  expected: ReadonlyMap<string, Int32Array>,
): { text: string; exact: boolean } {
  const spaces = (document as { spaces?: Record<string, { map?: unknown }> }).spaces;
  if (spaces === undefined) throw new MalError(`${mapsFile}: no 'spaces'`);
  const misses: string[] = [];
  let units = 0;
  let right = 0;
  for (const [name, want] of expected) {
    const got = spaces[name]?.map;
    if (!Array.isArray(got) || got.length !== want.length) {
      throw new MalError(`${mapsFile}: space '${name}' has no map of ${want.length} units`);
    }
    let same = 0;
    for (let i = 0; i < want.length; i++) if (got[i] === want[i]) same++;
    units += want.length;
    right += same;
    if (same !== want.length) misses.push(`${name} ${same}/${want.length}`);
  }
  if (misses.length === 0) return { text: `exact (${units} units)`, exact: true };
  const shown = misses.slice(0, 4).join(', ') + (misses.length > 4 ? `, … ${misses.length - 4} more` : '');
  return { text: `${right}/${units} units; misses: ${shown}`, exact: false };
}

function progress(
  label: string,
): (model: 'base' | 'target', name: string, done: number, total: number) => void {
  let lastShown = 0;
  return (model, _name, done, total) => {
    const now = Date.now();
    if (done !== total && now - lastShown < 2000) return;
    lastShown = now;
    process.stderr.write(`  ${label}: generating ${model} ${done}/${total} tensors\n`);
  };
}

async function runOne(folder: string, shape: LlamaShape, options: BenchOptions): Promise<BlockResult> {
  const label = `${options.shape}, ${shape.blocks} block${shape.blocks === 1 ? '' : 's'}`;
  const started = process.hrtime.bigint();
  const pair = await writeLlamaShapedPair(folder, {
    ...shape,
    seed: SEED,
    noise: NOISE,
    maxShardBytes: SHAPES[options.shape].maxShardBytes,
    onTensor: progress(label),
  });
  const generateSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const alignDir = join(folder, 'aligned');
  process.stderr.write(`  ${label}: mal align\n`);
  const memory = options.memory === undefined ? [] : ['--memory', options.memory];
  const mal = join(root, 'bin', 'mal.js');
  const align = await runMeasured(
    process.execPath,
    [mal, 'align', pair.base, pair.target, '--out', alignDir, '--json', '--init', options.init, ...memory],
    root,
  );
  const mapsFile = join(folder, 'maps.json');
  await copyFile(join(alignDir, 'maps.json'), mapsFile);
  const recovered = compareMaps(mapsFile, JSON.parse(await readFile(mapsFile, 'utf8')), pair.expectedMaps);
  // The aligned shards are links into a hidden staging folder: only removing the folder frees the disk.
  if (options.keep === undefined) await rm(alignDir, { recursive: true, force: true });

  process.stderr.write(`  ${label}: mal merge --maps\n`);
  const merge = await runMeasured(
    process.execPath,
    [
      mal,
      'merge',
      pair.base,
      pair.target,
      '--maps',
      mapsFile,
      '--lambda',
      '0.5',
      '--out',
      join(folder, 'merged'),
      '--json',
    ],
    root,
  );
  return {
    blocks: shape.blocks,
    generateSeconds,
    alignSeconds: align.seconds,
    alignPeakBytes: align.peakBytes,
    mergeSeconds: merge.seconds,
    mergePeakBytes: merge.peakBytes,
    recovered: recovered.text,
    exact: recovered.exact,
  };
}

function printTable(results: readonly BlockResult[]): void {
  const reference = results.find((r) => r.blocks === 1) ?? results[0];
  const rows = [
    [
      'blocks',
      'generate s',
      'align s',
      'align s/block',
      'align peak RSS',
      'RSS vs 1 block',
      'merge s',
      'merge RSS',
      'recovered',
    ],
    ...results.map((r) => [
      String(r.blocks),
      r.generateSeconds.toFixed(1),
      r.alignSeconds.toFixed(1),
      (r.alignSeconds / r.blocks).toFixed(1),
      `${(r.alignPeakBytes / MiB).toFixed(0)} MiB`,
      `${(r.alignPeakBytes / reference.alignPeakBytes).toFixed(2)}×`,
      r.mergeSeconds.toFixed(1),
      `${(r.mergePeakBytes / MiB).toFixed(0)} MiB`,
      r.recovered,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c])).join('  ')}`);

  const largest = results.reduce((a, b) => (b.blocks > a.blocks ? b : a));
  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');
  const blocks = (n: number) => `${n} block${n === 1 ? '' : 's'}`;
  if (largest !== reference) {
    const ratio = largest.alignPeakBytes / reference.alignPeakBytes;
    console.log(
      `  align peak RSS, ${blocks(largest.blocks)} / ${blocks(reference.blocks)}: ${ratio.toFixed(2)}× (target ≤ ${TARGET_RSS_RATIO}) ${ok(ratio <= TARGET_RSS_RATIO)}`,
    );
  }
  console.log(
    `  align peak RSS at ${blocks(largest.blocks)}: ${(largest.alignPeakBytes / GB).toFixed(2)} GB (target < ${TARGET_RSS_BYTES / GB}) ${ok(largest.alignPeakBytes < TARGET_RSS_BYTES)}`,
  );
  const slowest = Math.max(...results.map((r) => r.alignSeconds / r.blocks));
  console.log(
    `  align time per block, slowest: ${slowest.toFixed(1)} s (target ≤ ${TARGET_SECONDS_PER_BLOCK}) ${ok(slowest <= TARGET_SECONDS_PER_BLOCK)}`,
  );
  console.log(`  recovery: ${ok(results.every((r) => r.exact))}`);
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const options = parseOptions(argv);
  if (!gnuTimeAvailable()) {
    console.log('LLM alignment bench skipped: GNU time is needed for peak RSS (apt-get install time)');
    return;
  }
  if (!existsSync(join(root, 'dist', 'src'))) {
    throw new UsageError(
      `${join(root, 'dist')}: build first (npx tsc -p tsconfig.json); the bench runs bin/mal.js`,
    );
  }
  const { block } = SHAPES[options.shape];
  console.log(
    `LLM alignment bench: ${options.shape === '7b' ? 'LLaMA-7B' : 'tiny LLaMA'}-shaped pairs (hidden ${block.hidden}, intermediate ${block.intermediate}), bf16, seed ${SEED}, noise ${NOISE * 100} %, align --init ${options.init}${options.memory === undefined ? '' : `, align --memory ${options.memory}`}`,
  );
  const top = options.keep ?? (await mkdtemp(join(tmpdir(), 'mal-llm-bench-')));
  if (options.keep !== undefined) await mkdir(top, { recursive: true });
  // A ctrl-c (or kill) ends the children too; the pairs are gigabytes, so remove them before going.
  const onSignal = (signal: NodeJS.Signals): void => {
    endRunningChildren();
    if (options.keep === undefined) rmSync(top, { recursive: true, force: true });
    process.stderr.write(
      `\nLLM alignment bench: ${signal}, ${options.keep === undefined ? 'removed' : 'kept'} ${top}\n`,
    );
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const results: BlockResult[] = [];
    for (const blocks of options.blocks) {
      const shape = { ...block, blocks };
      const folder = join(top, `${options.shape}-${blocks}-blocks`);
      if (existsSync(folder))
        throw new UsageError(`${folder} exists already; --keep needs a folder without it`);
      await checkFreeSpace(top, shape, options.keep !== undefined);
      await mkdir(folder, { recursive: true });
      results.push(await runOne(folder, shape, options));
      if (options.keep === undefined) await rm(folder, { recursive: true, force: true });
    }
    printTable(results);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (options.keep === undefined) await rm(top, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main();
  } catch (e) {
    if (!(e instanceof MalError)) throw e;
    console.error(e.message);
    process.exitCode = e.exitCode;
  }
}
