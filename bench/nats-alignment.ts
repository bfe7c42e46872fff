/**
 * What sending an alignment's cost-matrix products through NATS costs: the wall time of `mal align` on a
 * mid-size LLaMA-shaped pair (2 blocks, hidden 1024, intermediate 2752) in process, and with `--nats` against one
 * and two `mal worker` processes (one thread each), each on a fresh nats-server so that every run uploads its
 * tensors. The figure is the ratio to the in-process run; the maps must be the same bytes in every run. On a
 * machine with two cores the workers share the cores with the caller, so expect overhead, not speed-up.
 * Usage: npx tsx bench/nats-alignment.ts
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaShapedPair } from '../src/zoo/llama-shaped-pair.js';
import { spawnMal } from '../test/support/mal-cli.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { spawnTaskWorker } from '../test/support/task-worker-process.js';

const SHAPE = { blocks: 2, hidden: 1024, intermediate: 2752, heads: 8, kvHeads: 2, vocab: 256 };

function line(label: string, value: string): void {
  console.log(`${label.padEnd(44)} ${value}`);
}

async function timeAlign(
  dir: string,
  out: string,
  extra: readonly string[],
): Promise<{ s: number; maps: string }> {
  const t0 = performance.now();
  const run = await spawnMal([
    'align',
    join(dir, 'base'),
    join(dir, 'target'),
    '--out',
    join(dir, out),
    ...extra,
  ]);
  const s = (performance.now() - t0) / 1000;
  if (run.code !== 0) throw new Error(`mal align ${extra.join(' ')} failed (${run.code}):\n${run.stderr}`);
  return { s, maps: await readFile(join(dir, out, 'maps.json'), 'utf8') };
}

/** `mal align --nats` against `workers` fresh worker processes on a fresh server. */
async function timeOverNats(dir: string, out: string, workers: number): Promise<{ s: number; maps: string }> {
  const server = await startNatsServer();
  const started = Array.from({ length: workers }, () =>
    spawnTaskWorker(server.url, 'bench', ['--concurrency', '1']),
  );
  try {
    // Ready when each has said so: the first products then find a worker waiting.
    const deadline = Date.now() + 60_000;
    while (!started.every((w) => /worker .*: pool 'bench'/.test(w.log()))) {
      if (Date.now() > deadline) throw new Error('the task workers did not start within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return await timeAlign(dir, out, ['--nats', server.url, '--pool', 'bench']);
  } finally {
    await Promise.all(started.map((w) => w.stop()));
    await server.stop();
  }
}

export async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mal-bench-nats-align-'));
  try {
    await writeLlamaShapedPair(dir, { ...SHAPE, seed: 1, noise: 0.01, maxShardBytes: 50_000_000 });
    console.log(
      `LLaMA-shaped pair: ${SHAPE.blocks} blocks, hidden ${SHAPE.hidden}, intermediate ${SHAPE.intermediate}; ${availableParallelism()} cores; workers one thread each`,
    );
    const local = await timeAlign(dir, 'local', []);
    const one = await timeOverNats(dir, 'one', 1);
    const two = await timeOverNats(dir, 'two', 2);
    line('mal align, products in process', `${local.s.toFixed(1)} s`);
    line(
      'mal align --nats, one mal worker',
      `${one.s.toFixed(1)} s (${(one.s / local.s).toFixed(2)}× in process)`,
    );
    line(
      'mal align --nats, two mal workers',
      `${two.s.toFixed(1)} s (${(two.s / local.s).toFixed(2)}× in process)`,
    );
    line('maps.json the same bytes in all three', String(one.maps === local.maps && two.maps === local.maps));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
