/**
 * The NATS data plane with real processes: a nats-server on a free port, `mal worker` processes spawned from
 * the sources (test/support/task-worker-process.ts), a dispatcher in this process. Numbers are checked against the same
 * handlers run here on the same backend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alignCandidate } from '../../src/assembly/candidate-alignment.js';
import { DEFAULT_ALIGNMENT } from '../../src/assembly/plan-file.js';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { writeDatasetArrow } from '../../src/data/dataset-arrow-writer.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { InterpolationPath } from '../../src/eval/interpolation-path.js';
import { evaluateTensors } from '../../src/eval/model-evaluation.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { sha256 } from '../../src/store/content-store.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { natsConnectionOptions } from '../../workers/nats/connection-options.js';
import { type DispatchTask, NatsTaskDispatcher, outputOf } from '../../workers/nats/task-dispatcher.js';
import { poolConsumerName, RESULT_BUCKET, TASK_STREAM } from '../../workers/nats/task-infrastructure.js';
import { encodeEnvelope, type TaskInput } from '../../workers/nats/task-messages.js';
import { makeMlp } from '../support/model-factory.js';
import { modelInMemory, specOfTensors } from '../support/model-in-memory.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';
import { spawnTaskWorker, type TaskWorkerProcess } from '../support/task-worker-process.js';

const started: TaskWorkerProcess[] = [];

function spawnWorker(url: string, pool: string, extra: string[] = []): TaskWorkerProcess {
  const worker = spawnTaskWorker(url, pool, extra);
  started.push(worker);
  return worker;
}

async function writeData(
  dir: string,
  name: string,
  count: number,
  size: number,
  seed: number,
): Promise<string> {
  const random = new SeededRandom(seed);
  const dataset: Dataset = {
    name,
    count,
    exampleShape: [size],
    features: Float32Array.from({ length: count * size }, () => random.next()),
    labels: Int32Array.from({ length: count }, () => random.int(4)),
    classes: 4,
  };
  const path = join(dir, `${name}.arrow`);
  await writeDatasetArrow(path, dataset, { encoding: 'float32' });
  return path;
}

/** What the embedded engine computes for one model: evaluateTensors per task, the objective summed in order. */
async function inProcess(
  model: ReadonlyMap<string, FloatTensor>,
  tasks: readonly DispatchTask[],
): Promise<{ objective: number; tasks: { name: string; loss: number; accuracy: number }[] }> {
  const spec = specOfTensors(model);
  const results = [];
  let objective = 0;
  for (const t of tasks) {
    const data = await loadDataset(t.data, { layout: 'flat', limit: t.limit });
    const e = await evaluateTensors(model, spec, data, {});
    results.push({ name: t.name, loss: e.loss, accuracy: e.accuracy });
    objective += t.weight * (t.metric === 'loss' ? e.loss : -e.accuracy);
  }
  return { objective, tasks: results };
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NATS task workers', () => {
  let server: TestNatsServer;
  let dataDir: string;
  let small: string;
  let large: string;
  let nc: NatsConnection;
  const dispatchers: NatsTaskDispatcher[] = [];
  const dispatcher = async (pool: string, timeoutMs = 30_000) => {
    const d = await NatsTaskDispatcher.connect({
      connection: natsConnectionOptions({ url: server.url }, {}),
      pool,
      backend: 'wasm',
      timeoutMs,
    });
    dispatchers.push(d);
    return d;
  };

  beforeAll(async () => {
    await initBackend('wasm');
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    dataDir = await mkdtemp(join(tmpdir(), 'mal-nats-data-'));
    small = await writeData(dataDir, 'small', 300, 12, 1);
    large = await writeData(dataDir, 'large', 6000, 64, 2);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.stop()));
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('evaluates and aligns on a worker process with the numbers this process gets', async () => {
    const worker = spawnWorker(server.url, 'equal', ['--concurrency', '2']);
    const d = await dispatcher('equal');
    const models = [1, 2, 3].map((seed) => makeMlp({ widths: [12, 16, 4], naming: 'layers', seed }).tensors);
    const tasks: DispatchTask[] = [
      { name: 'a', data: small, metric: 'loss', weight: 1 },
      { name: 'b', data: small, limit: 120, metric: 'accuracy', weight: 0.5 },
    ];
    const remote = await d.evaluateMany(models, specOfTensors(models[0]), {}, tasks);
    for (let m = 0; m < models.length; m++) expect(remote[m]).toEqual(await inProcess(models[m], tasks));
    expect(new Set(remote.map((r) => r.objective)).size).toBe(3);

    const base = modelInMemory(models[0]);
    const zoo = modelInMemory(makeMlp({ widths: [12, 24, 4], naming: 'layers', seed: 9 }).tensors);
    const unit = transplantUnits(base.spec)[0].name;
    const candidates = [
      { model: 'zoo', layers: [unit], baseLayers: [unit] },
      { model: 'zoo', layers: ['no-such-layer'], baseLayers: [unit] },
    ];
    const aligned = await d.alignCandidates(base, () => zoo, candidates, DEFAULT_ALIGNMENT, 7);
    const reference = await alignCandidate(base, zoo, candidates[0], DEFAULT_ALIGNMENT, 7);
    expect(aligned[0].aligned?.preScore).toBe(reference.preScore);
    expect(aligned[0].aligned?.mapHashes).toEqual(reference.mapHashes);
    expect(aligned[0].aligned?.problem.pairs.length).toBe(reference.problem.pairs.length);
    expect(aligned[1].error).toMatch(/no-such-layer/);
    expect(worker.log()).toMatch(/backend wasm: evaluate [0-9a-f]{12} done/);
  });

  it('aligns by activations on a worker with the examples sent by hash, the maps byte-identical to this process', async () => {
    const worker = spawnWorker(server.url, 'activations', ['--concurrency', '2']);
    const d = await dispatcher('activations');
    const base = modelInMemory(makeMlp({ widths: [12, 16, 10, 4], naming: 'layers', seed: 31 }).tensors);
    const zoos = [
      modelInMemory(makeMlp({ widths: [12, 24, 8, 4], naming: 'layers', seed: 32 }).tensors),
      modelInMemory(makeMlp({ widths: [12, 16, 10, 4], naming: 'layers', seed: 33 }).tensors),
    ];
    const units = transplantUnits(base.spec).map((u) => u.name);
    const candidates = [
      { model: 'narrow', layers: [units[0]], baseLayers: [units[0]] },
      { model: 'narrow', layers: units.slice(0, 2), baseLayers: units.slice(0, 2) },
      { model: 'same', layers: units, baseLayers: units },
    ];
    const zooOf = (id: string) => (id === 'narrow' ? zoos[0] : zoos[1]);
    const settings = { ...DEFAULT_ALIGNMENT, match: 'activations' as const };
    // The first 200 of 300 examples, as a step cuts the plan's statistics examples: a view into a larger buffer.
    const all = await loadDataset(small, { layout: 'flat' });
    const examples: Dataset = { ...all, count: 200, features: all.features.subarray(0, 200 * 12) };
    const remote = await d.alignCandidates(base, zooOf, candidates, settings, 7, examples);
    let differsFromWeights = false;
    for (const [i, candidate] of candidates.entries()) {
      const zoo = zooOf(candidate.model);
      const reference = await alignCandidate(base, zoo, candidate, settings, 7, { data: examples });
      const got = remote[i].aligned;
      expect(got, remote[i].error).toBeDefined();
      expect(got?.preScore).toBe(reference.preScore);
      expect(got?.mapHashes).toEqual(reference.mapHashes);
      for (const [space, m] of reference.maps) expect(got?.maps.get(space)?.map).toEqual(m.map);
      const byWeights = await alignCandidate(base, zoo, candidate, DEFAULT_ALIGNMENT, 7);
      if (JSON.stringify(byWeights.mapHashes) !== JSON.stringify(reference.mapHashes))
        differsFromWeights = true;
    }
    // The maps are activation matching's own, not what weight matching would have sent back.
    expect(differsFromWeights).toBe(true);
    // Every alignment ran on the worker (it logs after storing the result, so the line may come a little later).
    await waitFor(
      'the worker to log every alignment',
      async () => (worker.log().match(/align [0-9a-f]{12} done/g)?.length ?? 0) === candidates.length,
    );

    // Without examples the tasks fail as alignment in this process does, each with the reason.
    const without = await d.alignCandidates(base, zooOf, candidates.slice(0, 1), settings, 8);
    expect(without[0].error).toMatch(/no examples were given to measure activations on/);
  });

  it('builds and evaluates candidates’ merges along λ on a worker with the numbers this process gets', async () => {
    const worker = spawnWorker(server.url, 'curves', ['--concurrency', '2']);
    const d = await dispatcher('curves');
    const base = modelInMemory(makeMlp({ widths: [12, 16, 10, 4], naming: 'layers', seed: 41 }).tensors);
    const zoos = new Map([
      ['wide', modelInMemory(makeMlp({ widths: [12, 24, 10, 4], naming: 'layers', seed: 42 }).tensors)],
      ['same', modelInMemory(makeMlp({ widths: [12, 16, 10, 4], naming: 'layers', seed: 43 }).tensors)],
    ]);
    const units = transplantUnits(base.spec).map((u) => u.name);
    const candidates = [
      { model: 'wide', layers: [units[0]], baseLayers: [units[0]] },
      { model: 'same', layers: units.slice(0, 2), baseLayers: units.slice(0, 2) },
    ];
    const merge = {
      kernel: 'incompatible' as const,
      method: { method: 'mal' as const, unmatched: 'zero' as const },
      seed: 5,
    };
    const requests = await Promise.all(
      candidates.map(async (candidate, i) => ({
        candidate,
        aligned: await alignCandidate(base, zoos.get(candidate.model)!, candidate, DEFAULT_ALIGNMENT, 7),
        // Five points: more than one curve task holds, so the grid is split and put back in order.
        lambdas: i === 0 ? [0, 0.25, 0.5, 0.75, 1] : [0.4, 1],
      })),
    );
    const tasks: DispatchTask[] = [
      { name: 'a', data: small, metric: 'loss', weight: 1 },
      { name: 'b', data: small, limit: 120, metric: 'accuracy', weight: 0.5 },
    ];
    const reference = async (examples?: number) =>
      Promise.all(
        requests.map(async ({ aligned, lambdas }) => {
          const path = new InterpolationPath(base.tensors, aligned.problem, aligned.maps, merge.kernel, {
            choice: merge.method,
            seed: merge.seed,
          });
          const limited = tasks.map((t) =>
            examples === undefined ? t : { ...t, limit: Math.min(t.limit ?? examples, examples) },
          );
          return Promise.all(lambdas.map((lambda) => inProcess(path.at(lambda), limited)));
        }),
      );
    const zooModel = (id: string) => zoos.get(id)!;
    expect(await d.evaluateCurves(base, zooModel, requests, merge, tasks)).toEqual(await reference());
    // The ranking's probes: the first 50 examples of each task.
    expect(await d.evaluateCurves(base, zooModel, requests, merge, tasks, 50)).toEqual(await reference(50));
    await waitFor(
      'the worker to log the curve tasks',
      async () => (worker.log().match(/curve [0-9a-f]{12} done/g)?.length ?? 0) >= 4,
    );
  });

  it('redelivers the task of a worker killed mid-task to another worker, same numbers', async () => {
    const first = spawnWorker(server.url, 'kill', ['--concurrency', '1', '--ack-wait-ms', '1500']);
    const d = await dispatcher('kill');
    // Long enough (seconds) to be killed in the middle: workers ready their threads before the first task, so the
    // task's own work is all that keeps it running.
    const model = makeMlp({ widths: [64, 2048, 2048, 4], naming: 'layers', seed: 5 }).tensors;
    const tasks: DispatchTask[] = [{ name: 'large', data: large, metric: 'loss', weight: 1 }];
    const run = d.evaluateMany([model], specOfTensors(model), {}, tasks);
    const jsm = await nc.jetstreamManager();
    await waitFor('the first worker to take the task', async () => {
      const info = await jsm.consumers.info(TASK_STREAM, poolConsumerName('kill'));
      return info.num_ack_pending === 1;
    });
    first.child.kill('SIGKILL');
    await first.stop();
    expect(first.log()).not.toMatch(/evaluate [0-9a-f]{12} done/);
    const second = spawnWorker(server.url, 'kill', ['--concurrency', '1', '--ack-wait-ms', '1500']);
    const [remote] = await run;
    expect(remote).toEqual(await inProcess(model, tasks));
    // The task came back to the queue when its first delivery's ack wait ran out. Which delivery the second
    // worker finishes depends on how soon its first progress ack beats the next ack wait, so only "not the first"
    // is certain. The worker logs after it stores the result, so the line may come a moment after the result.
    const done = /evaluate [0-9a-f]{12} done in \d+ ms \(delivery (\d+)\)/;
    await waitFor('the second worker to log the task done', async () => done.test(second.log()));
    const delivery = done.exec(second.log());
    expect(delivery, second.log()).not.toBeNull();
    expect(Number(delivery?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('runs a task again when its result was purged while the queue still remembers its id', async () => {
    const worker = spawnWorker(server.url, 'purged', ['--concurrency', '1']);
    const d = await dispatcher('purged');
    const model = makeMlp({ widths: [12, 16, 4], naming: 'layers', seed: 21 }).tensors;
    const tasks: DispatchTask[] = [{ name: 'a', data: small, metric: 'loss', weight: 1 }];
    const first = await d.evaluateMany([model], specOfTensors(model), {}, tasks);
    expect(first[0]).toEqual(await inProcess(model, tasks));
    // An operator starts over: the results go, while JetStream drops a publish of the same task id as a duplicate
    // for two minutes. The dispatcher must not wait on the consumed copy the duplicate names.
    const jsm = await nc.jetstreamManager();
    await jsm.streams.purge(`KV_${RESULT_BUCKET}`);
    const again = await d.evaluateMany([model], specOfTensors(model), {}, tasks);
    expect(again).toEqual(first);
    const runs = () => worker.log().match(/evaluate [0-9a-f]{12} done in/g)?.length ?? 0;
    await waitFor('the worker to log the task done twice', async () => runs() === 2);
  });

  it('terminates a task whose tensor is corrupt, records the error, and the dispatcher reports it', async () => {
    const worker = spawnWorker(server.url, 'corrupt', ['--concurrency', '1']);
    const d = await dispatcher('corrupt');
    const model = makeMlp({ widths: [12, 16, 4], naming: 'layers', seed: 11 }).tensors;
    const refs = await d.uploadTensors(model);
    const badHash = sha256('bytes that claim to be a tensor');
    await d.tensors.objects.putBlob({ name: badHash }, new TextEncoder().encode('not an Arrow stream'));
    const task: TaskInput = {
      kind: 'evaluate',
      backend: 'wasm',
      spec: specOfTensors(model),
      config: {},
      batchSize: null,
      scoring: 'raw',
      tensors: refs.map((r, i) => (i === 0 ? { name: r.name, hash: badHash } : r)),
      data: { source: small, layout: 'flat', start: 0, end: null },
    };
    const [record] = await d.run([task]);
    expect(() => outputOf(record, encodeEnvelope(task).key)).toThrow(
      /CorruptTensorError: tensor [0-9a-f]+ .*corrupt/,
    );
    // The worker records the error, then terminates the message, then logs: wait for the last of the three.
    await waitFor('the worker to log the failure', async () => /failed for good/.test(worker.log()));
    expect(worker.log()).toMatch(/failed for good: CorruptTensorError.*\(delivery 1\)/);
    const jsm = await nc.jetstreamManager();
    // Terminated, not left for redelivery: within 5 s, far inside its 30 s ack wait, nothing is outstanding.
    await waitFor(
      'the task to leave the queue',
      async () => {
        const info = await jsm.consumers.info(TASK_STREAM, poolConsumerName('corrupt'));
        return info.num_pending + info.num_ack_pending === 0;
      },
      5_000,
    );
  });

  it('finishes a run across a restart of NATS with its store kept', async () => {
    const worker = spawnWorker(server.url, 'restart', ['--concurrency', '1']);
    const d = await dispatcher('restart', 45_000);
    const models = [21, 22, 23, 24, 25, 26].map(
      (seed) => makeMlp({ widths: [64, 256, 256, 4], naming: 'layers', seed }).tensors,
    );
    const tasks: DispatchTask[] = [{ name: 'large', data: large, limit: 3000, metric: 'loss', weight: 1 }];
    const run = d.evaluateMany(models, specOfTensors(models[0]), {}, tasks);
    await waitFor('a first result', async () => /evaluate [0-9a-f]{12} done/.test(worker.log()));
    const doneBefore = worker.log().match(/evaluate [0-9a-f]{12} done/g)?.length ?? 0;
    await server.restart();
    const remote = await run;
    // The restart fell inside the run: some tasks were still to do.
    expect(doneBefore).toBeLessThan(models.length);
    for (let m = 0; m < models.length; m++) expect(remote[m]).toEqual(await inProcess(models[m], tasks));
  }, 60_000);
});
