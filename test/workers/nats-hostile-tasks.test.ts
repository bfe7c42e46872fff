/**
 * Hostile and long tasks against real `mal worker` processes and a real nats-server: a bad message is failed for
 * good under its own key only, a stored result is never overwritten by another message, a task past its deadline
 * has its thread ended and is not handed to the next worker, a SIGTERM stops the worker in bounded time with its
 * task left for redelivery, and a worker that cannot reach its server says so in one line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { writeDatasetArrow } from '../../src/data/dataset-arrow-writer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { canonicalJson, hashOf } from '../../src/store/content-store.js';
import { natsConnectionOptions } from '../../workers/nats/connection-options.js';
import { NatsResultStore } from '../../workers/nats/result-store.js';
import { NatsTaskDispatcher, outputOf } from '../../workers/nats/task-dispatcher.js';
import { poolConsumerName, TASK_STREAM, taskSubject } from '../../workers/nats/task-infrastructure.js';
import { encodeEnvelope, type TaskInput } from '../../workers/nats/task-messages.js';
import { spawnMal } from '../support/mal-cli.js';
import { makeMlp } from '../support/model-factory.js';
import { specOfTensors } from '../support/model-in-memory.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';
import { spawnTaskWorker, type TaskWorkerProcess } from '../support/task-worker-process.js';

const started: TaskWorkerProcess[] = [];

/** One task at a time, and stopped with SIGKILL: these tests decide themselves when a worker gets SIGTERM. */
function spawnWorker(url: string, pool: string, extra: string[] = []): TaskWorkerProcess {
  const worker = spawnTaskWorker(url, pool, ['--concurrency', '1', ...extra], 'SIGKILL');
  started.push(worker);
  return worker;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('NATS workers against hostile and long tasks', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dataDir: string;
  let data: string;
  const dispatchers: NatsTaskDispatcher[] = [];
  const dispatcher = async (pool: string) => {
    const d = await NatsTaskDispatcher.connect({
      connection: natsConnectionOptions({ url: server.url }, {}),
      pool,
      backend: 'wasm',
      timeoutMs: 120_000,
    });
    dispatchers.push(d);
    return d;
  };
  /** An evaluation long enough to still be running when a 1 s deadline or a 1 s stop grace passes. */
  const longTask = async (d: NatsTaskDispatcher, seed: number): Promise<TaskInput> => {
    const model = makeMlp({ widths: [64, 2048, 2048, 4], naming: 'layers', seed }).tensors;
    return {
      kind: 'evaluate',
      backend: 'wasm',
      spec: specOfTensors(model),
      config: {},
      batchSize: null,
      scoring: 'raw',
      tensors: await d.uploadTensors(model),
      data: { source: data, layout: 'flat', start: 0, end: null },
    };
  };
  const pending = async (pool: string) => {
    const info = await (await nc.jetstreamManager()).consumers.info(TASK_STREAM, poolConsumerName(pool));
    return info.num_pending + info.num_ack_pending;
  };

  beforeAll(async () => {
    await initBackend('wasm');
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    dataDir = await mkdtemp(join(tmpdir(), 'mal-nats-hostile-'));
    const random = new SeededRandom(3);
    const dataset: Dataset = {
      name: 'long',
      count: 8000,
      exampleShape: [64],
      features: Float32Array.from({ length: 8000 * 64 }, () => random.next()),
      labels: Int32Array.from({ length: 8000 }, () => random.int(4)),
      classes: 4,
    };
    data = join(dataDir, 'long.arrow');
    await writeDatasetArrow(data, dataset, { encoding: 'float32' });
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

  it('fails a hostile task for good under its own key, and never overwrites a stored result', async () => {
    const worker = spawnWorker(server.url, 'hostile', ['--cache-mb', '1']);
    const d = await dispatcher('hostile');
    const small = makeMlp({ widths: [12, 16, 4], naming: 'layers', seed: 1 }).tensors;
    const refs = await d.uploadTensors(small);
    const good: TaskInput = { kind: 'noop', tensors: refs, nonce: 'legit' };
    const [ok] = await d.run([good]);
    expect(ok.ok).toBe(true);
    const goodKey = encodeEnvelope(good).key;
    const publish = (bytes: Uint8Array) => nc.jetstream().publish(taskSubject('hostile'), bytes);

    // A message that names the stored result's key but carries another task (or none) cannot touch it.
    await publish(new TextEncoder().encode(JSON.stringify({ key: goodKey, task: { kind: 'evaluate' } })));
    await publish(new TextEncoder().encode(JSON.stringify({ key: goodKey, task: { ...good, nonce: 'x' } })));
    await publish(new TextEncoder().encode(JSON.stringify({ key: goodKey, task: { kind: 'bogus' } })));
    // Negative start, hostile settings: refused by the schemas, recorded under their own (verified) keys.
    const negative = {
      kind: 'evaluate',
      backend: 'wasm',
      spec: specOfTensors(small),
      config: {},
      batchSize: null,
      scoring: 'raw',
      tensors: refs,
      data: { source: data, layout: 'flat', start: -5, end: null },
    };
    await publish(new TextEncoder().encode(canonicalJson({ key: hashOf(negative), task: negative })));
    // Token sequences for an MLP, and tensors that are not there: refused before anything is fetched (a fetch
    // started beside the refusal would fail later unobserved, and an unhandled rejection ends the worker).
    const text = { tokens: refs[0].hash, tokenizer: 'bytes', vocabulary: 256 };
    const mismatched = {
      ...negative,
      tensors: [{ name: 'gone', hash: 'f'.repeat(64) }],
      data: { text, name: 'fortunes:en:test', start: 0, end: null },
    };
    await publish(new TextEncoder().encode(canonicalJson({ key: hashOf(mismatched), task: mismatched })));
    // Thousands of names for one large blob: each would be packed again (the 226 KB message that took 2.1 GB).
    const big = await d.uploadTensor({ shape: [512, 512], data: new Float32Array(512 * 512) });
    const amplified = {
      kind: 'noop',
      tensors: Array.from({ length: 2000 }, (_, i) => ({ name: `t${i}`, hash: big })),
      nonce: 'amplified',
    };
    await publish(new TextEncoder().encode(canonicalJson({ key: hashOf(amplified), task: amplified })));
    // One tensor larger than the worker's whole tensor memory: refused from its size, not downloaded first.
    const huge = await d.uploadTensor({ shape: [1024, 512], data: new Float32Array(1024 * 512) });
    const oversized = { kind: 'noop', tensors: [{ name: 'huge', hash: huge }], nonce: 'oversized' };
    await publish(new TextEncoder().encode(canonicalJson({ key: hashOf(oversized), task: oversized })));

    const results = await NatsResultStore.open(nc);
    await waitFor('the hostile tasks to be recorded', async () => {
      return (
        (await results.get(hashOf(negative))) !== undefined &&
        (await results.get(hashOf(mismatched))) !== undefined &&
        (await results.get(hashOf(amplified))) !== undefined &&
        (await results.get(hashOf(oversized))) !== undefined
      );
    });
    const negativeRecord = await results.get(hashOf(negative));
    expect(negativeRecord?.ok).toBe(false);
    expect(!negativeRecord?.ok && negativeRecord?.error.message).toMatch(
      /task [0-9a-f]{64} \(evaluate\): task\.data\.start/,
    );
    const mismatchedRecord = await results.get(hashOf(mismatched));
    expect(!mismatchedRecord?.ok && mismatchedRecord?.error.message).toMatch(
      /task [0-9a-f]{64}: a mlp model reads labelled examples, not token sequences/,
    );
    const amplifiedRecord = await results.get(hashOf(amplified));
    expect(!amplifiedRecord?.ok && amplifiedRecord?.error.message).toMatch(
      /more than this worker's tensor memory/,
    );
    const oversizedRecord = await results.get(hashOf(oversized));
    expect(!oversizedRecord?.ok && oversizedRecord?.error.name).toBe('BlobTooLargeError');
    expect(!oversizedRecord?.ok && oversizedRecord?.error.message).toMatch(
      new RegExp(`object ${huge} holds \\d+ bytes, more than this worker may hold \\(1048576 bytes`),
    );
    await waitFor('the queue to empty', async () => (await pending('hostile')) === 0, 10_000);
    expect(await results.get(goodKey)).toEqual(ok);
    expect(worker.log()).toMatch(/key is not the hash of the task/);

    // Write-once at the store: an error never replaces a result, and the legitimate run still reads its result.
    expect(
      await results.record(goodKey, {
        ok: false,
        kind: 'noop',
        error: { name: 'E', message: 'x' },
        worker: 'w',
      }),
    ).toBe('kept');
    const [again] = await d.run([good]);
    expect(outputOf(again, goodKey)).toEqual(outputOf(ok, goodKey));
  }, 90_000);

  it('ends a task past its deadline, fails it for good, and the next worker does not pick it up', async () => {
    const first = spawnWorker(server.url, 'deadline', ['--task-deadline-s', '1']);
    const d = await dispatcher('deadline');
    const task = await longTask(d, 5);
    const [record] = await d.run([task]);
    expect(() => outputOf(record, encodeEnvelope(task).key)).toThrow(
      /TaskDeadlineError: task [0-9a-f]{64} \(evaluate\) ran past its deadline of 1 s/,
    );
    await waitFor('the failure to be logged', () => /failed for good: TaskDeadlineError/.test(first.log()));
    expect(await pending('deadline')).toBe(0);
    // A second worker with no deadline finds nothing: the task was terminated, not left to be redelivered.
    const second = spawnWorker(server.url, 'deadline');
    await waitFor('the second worker to start', () => /worker .*: pool 'deadline'/.test(second.log()));
    expect(await pending('deadline')).toBe(0);
    expect(second.log()).not.toMatch(/evaluate [0-9a-f]{12}/);
  }, 120_000);

  it('stops on SIGTERM while a task runs, exit 0, and the task is finished by another worker', async () => {
    const first = spawnWorker(server.url, 'sigterm', ['--stop-grace-s', '1']);
    const d = await dispatcher('sigterm');
    const task = await longTask(d, 6);
    const run = d.run([task]);
    await waitFor('the worker to take the task', async () => {
      const info = await (await nc.jetstreamManager()).consumers.info(
        TASK_STREAM,
        poolConsumerName('sigterm'),
      );
      return info.num_ack_pending === 1;
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.log()).toMatch(/abandoned as the worker stops; left for redelivery/);
    expect(first.log()).not.toMatch(/at .*\.ts:\d+/);
    spawnWorker(server.url, 'sigterm');
    const [record] = await run;
    expect(record.ok).toBe(true);
  }, 180_000);

  it('fails a task, naming it, when its worker is killed on its last allowed delivery', async () => {
    // max deliver 1: the first delivery is the last. The pool's consumer takes the first worker's settings.
    const first = spawnWorker(server.url, 'killed', ['--max-deliver', '1', '--ack-wait-ms', '1000']);
    await waitFor('the worker to start', () => /worker .*: pool 'killed'/.test(first.log()));
    const d = await dispatcher('killed');
    const task = await longTask(d, 7);
    const run = d.run([task]);
    await waitFor('the worker to take the task', async () => {
      const info = await (await nc.jetstreamManager()).consumers.info(
        TASK_STREAM,
        poolConsumerName('killed'),
      );
      return info.num_ack_pending === 1;
    });
    first.child.kill('SIGKILL');
    await first.exited;
    // Another worker of the pool keeps pulling; the task must not reach it.
    const second = spawnWorker(server.url, 'killed', ['--max-deliver', '1', '--ack-wait-ms', '1000']);
    const [record] = await run;
    const key = encodeEnvelope(task).key;
    expect(() => outputOf(record, key)).toThrow(
      new RegExp(
        `DeliveriesExhaustedError: task ${key} \\(evaluate\\) was delivered 1 time\\(s\\), its pool's limit`,
      ),
    );
    expect(second.log()).not.toMatch(/evaluate [0-9a-f]{12}/);
    // The exhausted copy left the queue, so running the task again at once (within JetStream's two-minute
    // duplicate window) queues it for the second worker instead of waiting on the copy no one is given.
    const jsm = await nc.jetstreamManager();
    await waitFor('the exhausted copy to leave the queue', async () => {
      const info = await jsm.streams.info(TASK_STREAM, { subjects_filter: taskSubject('killed') });
      return (info.state.subjects?.[taskSubject('killed')] ?? 0) === 0;
    });
    const [again] = await d.run([task]);
    expect(again.ok, JSON.stringify(again)).toBe(true);
    // The worker logs the task once its result is stored, so the line may come a moment after the result.
    const done = new RegExp(`evaluate ${key.slice(0, 12)} done`);
    await waitFor('the second worker to log the task done', () => done.test(second.log()));
  }, 120_000);

  it('says in one line that the server cannot be reached (69) or the URL is malformed (2)', async () => {
    const down = await spawnMal([
      'worker',
      '--pool',
      'x',
      '--backend',
      'wasm',
      '--nats-url',
      'nats://127.0.0.1:1',
    ]);
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(/NATS at nats:\/\/127\.0\.0\.1:1 cannot be reached/);
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const malformed = await spawnMal([
      'worker',
      '--pool',
      'x',
      '--backend',
      'wasm',
      '--nats-url',
      'nats://[::1',
    ]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/NATS server URL 'nats:\/\/\[::1' is not valid/);
    expect(malformed.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
