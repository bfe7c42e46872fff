/**
 * What the NATS data plane costs: tasks per second and per-task overhead for a no-op task and a 1024×1024
 * alignment, and object-store throughput, each against an in-process call of the same handler in the same run.
 * Starts its own nats-server (Debian's, on a free loopback port) and one in-process task worker.
 * Usage: npx tsx bench/nats-tasks.ts
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { alignCandidate } from '../src/assembly/candidate-alignment.js';
import { DEFAULT_ALIGNMENT } from '../src/assembly/plan-file.js';
import { transplantUnits } from '../src/assembly/transplant-units.js';
import { packTensors } from '../src/engine/packed-tensors.js';
import { runTask } from '../src/engine/task-thread.js';
import { makeMlp } from '../test/support/model-factory.js';
import { modelInMemory } from '../test/support/model-in-memory.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { natsConnectionOptions } from '../workers/nats/connection-options.js';
import { NatsTaskDispatcher } from '../workers/nats/task-dispatcher.js';
import type { TaskInput } from '../workers/nats/task-messages.js';
import { NatsTensorStore } from '../workers/nats/tensor-store.js';
import { startTaskWorker } from '../workers/task-worker.js';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function line(label: string, value: string): void {
  console.log(`${label.padEnd(52)} ${value}`);
}

export async function main(): Promise<void> {
  const server = await startNatsServer();
  const connection = natsConnectionOptions({ url: server.url }, {});
  const worker = await startTaskWorker({
    connection,
    pool: 'bench',
    concurrency: 1,
    backend: 'wasm',
    ackWaitMs: 30_000,
    maxDeliver: 5,
    cacheBytes: 1 << 30,
    log: () => {},
  });
  const dispatcher = await NatsTaskDispatcher.connect({ connection, pool: 'bench', backend: 'wasm' });
  try {
    console.log(`nats-server ${server.url}, one in-process task worker (1 thread), Node ${process.version}`);

    // No-op: what the queue, the result KV and the thread hop cost on their own.
    const tiny = await dispatcher.uploadTensors([['x', { shape: [4], data: new Float32Array(4) }]]);
    const noop = (n: number, tag: string): TaskInput[] =>
      Array.from({ length: n }, (_, i) => ({ kind: 'noop', tensors: tiny, nonce: `${tag}-${i}` }));
    await dispatcher.run(noop(20, 'warm'));
    const count = 500;
    let t0 = performance.now();
    await dispatcher.run(noop(count, 'run'));
    const natsNoop = (performance.now() - t0) / count;
    const packed = packTensors([['x', { shape: [4], data: new Float32Array(4) }]]);
    t0 = performance.now();
    for (let i = 0; i < count; i++) await runTask({ kind: 'noop', tensors: packed });
    const localNoop = (performance.now() - t0) / count;
    line(
      'no-op task through NATS (500 tasks, 1 thread)',
      `${(1000 / natsNoop).toFixed(0)} tasks/s, ${natsNoop.toFixed(3)} ms/task`,
    );
    line('no-op handler in process', `${localNoop.toFixed(4)} ms/task`);
    line('per-task overhead of NATS', `${(natsNoop - localNoop).toFixed(3)} ms`);

    // One 1024×1024 layer alignment: a hidden space of 1024 units against 1024. Cold: each NATS task brings a zoo
    // model the worker has not seen (the unit's two 4 MiB weights are uploaded and fetched). In process and through
    // NATS alternate, each on its own zoo model, and the medians are compared, so a machine whose load changes
    // during the run still gives a fair ratio.
    const base = modelInMemory(makeMlp({ widths: [1024, 1024, 1024], naming: 'layers', seed: 1 }).tensors);
    const rounds = 5;
    const seeds = Array.from({ length: 2 * rounds }, (_, i) => i + 2);
    const zoos = seeds.map((seed) =>
      modelInMemory(makeMlp({ widths: [1024, 1024, 1024], naming: 'layers', seed }).tensors),
    );
    const unit = transplantUnits(base.spec)[0].name;
    const candidates = seeds.map((seed) => ({ model: String(seed), layers: [unit], baseLayers: [unit] }));
    const settings = { ...DEFAULT_ALIGNMENT, init: 'identity' as const };
    // The base's tensors travel once per worker, like a step's state; both sides have warmed up once.
    await alignCandidate(base, zoos[0], candidates[0], settings, 1);
    await dispatcher.alignCandidates(base, () => zoos[1], [candidates[1]], settings, 1);
    const local: number[] = [];
    const remote: number[] = [];
    for (let r = 1; r < rounds; r++) {
      t0 = performance.now();
      await alignCandidate(base, zoos[2 * r], candidates[2 * r], settings, 1);
      local.push(performance.now() - t0);
      t0 = performance.now();
      await dispatcher.alignCandidates(base, () => zoos[2 * r + 1], [candidates[2 * r + 1]], settings, 1);
      remote.push(performance.now() - t0);
    }
    const localAlign = median(local);
    const natsAlign = median(remote);
    line('1024×1024 alignment in process (median)', `${localAlign.toFixed(1)} ms/task`);
    line(
      '1024×1024 alignment through NATS (cold, 8 MiB moved)',
      `${natsAlign.toFixed(1)} ms/task, ${(1000 / natsAlign).toFixed(2)} tasks/s`,
    );
    line('per-task overhead of NATS (alignment)', `${(natsAlign - localAlign).toFixed(1)} ms`);
    line('cold alignment, NATS / in process', `${(natsAlign / localAlign).toFixed(2)}× (target ≤ 1.3×)`);

    // Most of the overhead: the object store moving the cold task's zoo tensors (the unit's two 1024×1024
    // weights, 8 MiB) up from the dispatcher and down to the worker, with nothing else, each round fresh bytes.
    const reader = await connect(connection);
    const downloads = await NatsTensorStore.open(reader);
    const transfer: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const blobs = [randomBytes(4 << 20), randomBytes(4 << 20)];
      t0 = performance.now();
      const hashes = await Promise.all(blobs.map((b) => dispatcher.tensors.putBytes(b)));
      await Promise.all(hashes.map((h) => downloads.getBytes(h)));
      transfer.push(performance.now() - t0);
    }
    await reader.close();
    const floor = median(transfer);
    line(
      'object store alone, those 8 MiB up and down (median)',
      `${floor.toFixed(1)} ms, ${(floor / localAlign).toFixed(2)}× the in-process alignment`,
    );

    // Object store: one 64 MiB blob.
    const blob = randomBytes(64 * 1024 * 1024);
    t0 = performance.now();
    const hash = await dispatcher.tensors.putBytes(blob);
    const putSeconds = (performance.now() - t0) / 1000;
    const blobReader = await connect(connection);
    const fresh = await NatsTensorStore.open(blobReader);
    t0 = performance.now();
    const back = await fresh.getBytes(hash);
    const getSeconds = (performance.now() - t0) / 1000;
    await blobReader.close();
    if (back.length !== blob.length) throw new Error('object store gave back a different size');
    line('object store put, 64 MiB', `${(64 / putSeconds).toFixed(0)} MB/s`);
    line('object store get, 64 MiB', `${(64 / getSeconds).toFixed(0)} MB/s`);
  } finally {
    await dispatcher.close();
    await worker.stop();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
