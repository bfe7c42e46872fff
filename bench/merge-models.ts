/**
 * Merging two 1 GiB float32 models tensor by tensor: wall time and peak RSS of `mal merge --maps` in a child
 * process, against a reference that streams the same bytes through a plain file copy in the same run.
 * Target: peak RSS below 700 MiB (the models together are 2 GiB).
 *
 *   npx tsx bench/merge-models.ts [--mib 1024]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeSafetensors } from '../src/io/safetensors-writer.js';
import { SeededRandom } from '../src/random/seeded-random.js';

const WIDTH = 2048;
const root = join(import.meta.dirname, '..');

/** A deep MLP of WIDTH×WIDTH float32 layers (16 MiB each) adding up to about `mib` MiB. */
async function writeModel(path: string, layers: number, seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const entries = [];
  for (let l = 0; l < layers; l++) {
    entries.push({ name: `layers.${l}.weight`, dtype: 'F32' as const, shape: [WIDTH, WIDTH] });
    entries.push({ name: `layers.${l}.bias`, dtype: 'F32' as const, shape: [WIDTH] });
  }
  await writeSafetensors(path, entries, (name) => {
    const n = name.endsWith('weight') ? WIDTH * WIDTH : WIDTH;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = random.next() - 0.5;
    return new Uint8Array(data.buffer);
  });
}

/** Random permutations for every hidden space, so the merge really gathers. */
function mapsDocument(layers: number): string {
  const random = new SeededRandom(7);
  const spaces: Record<string, unknown> = {
    input: {
      targetSpace: 'input',
      kind: 'fixed',
      baseWidth: WIDTH,
      targetWidth: WIDTH,
      map: [...Array(WIDTH).keys()],
    },
    output: {
      targetSpace: 'output',
      kind: 'fixed',
      baseWidth: WIDTH,
      targetWidth: WIDTH,
      map: [...Array(WIDTH).keys()],
    },
  };
  for (let l = 0; l + 1 < layers; l++) {
    spaces[`layers.${l}`] = {
      targetSpace: `layers.${l}`,
      kind: 'free',
      baseWidth: WIDTH,
      targetWidth: WIDTH,
      map: Array.from(random.permutation(WIDTH)),
    };
  }
  return JSON.stringify({ version: 1, spaces });
}

function timed(command: string, args: string[]): { seconds: number; peakMiB: number } {
  // GNU time reports the child's peak resident set in KiB.
  const start = process.hrtime.bigint();
  const run = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { cwd: root, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  return { seconds, peakMiB: Number(lines[lines.length - 1]) / 1024 };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const mibArg = argv.indexOf('--mib');
  const mib = mibArg >= 0 ? Number(argv[mibArg + 1]) : 1024;
  const layers = Math.max(2, Math.round(mib / 16));
  if (spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status !== 0) {
    console.log('merge bench skipped: GNU time is needed for peak RSS (apt-get install time)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'mal-merge-bench-'));
  try {
    console.log(
      `merge bench: two MLPs of ${layers} layers ${WIDTH}×${WIDTH} float32 (${(layers * 16).toFixed(0)} MiB each)`,
    );
    await writeModel(join(dir, 'base.safetensors'), layers, 1);
    await writeModel(join(dir, 'target.safetensors'), layers, 2);
    await writeFile(join(dir, 'maps.json'), mapsDocument(layers));
    const copy = timed(process.execPath, [
      '-e',
      `require('node:fs').copyFileSync(${JSON.stringify(join(dir, 'base.safetensors'))}, ${JSON.stringify(join(dir, 'copy.safetensors'))})`,
    ]);
    const merge = timed(process.execPath, [
      join(root, 'bin', 'mal.js'),
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'target.safetensors'),
      '--maps',
      join(dir, 'maps.json'),
      '--lambda',
      '0.5',
      '--out',
      join(dir, 'merged.safetensors'),
      '--json',
    ]);
    const gb = (layers * 16 * 2 ** 20) / 1e9;
    console.log(
      `  file copy (reference):  ${copy.seconds.toFixed(2)} s, peak RSS ${copy.peakMiB.toFixed(0)} MiB`,
    );
    console.log(
      `  mal merge --maps:       ${merge.seconds.toFixed(2)} s (${(merge.seconds / copy.seconds).toFixed(1)}× the copy, ${((3 * gb) / merge.seconds).toFixed(2)} GB/s read+written), peak RSS ${merge.peakMiB.toFixed(0)} MiB (target < 700)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
