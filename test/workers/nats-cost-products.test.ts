/**
 * Alignment with its cost-matrix products on real task workers: a nats-server on a free port, `mal worker`
 * processes (test/support/mal-cli.ts), a sharded LLaMA-shaped pair on disk. The maps must be the in-process
 * alignment's, bit for bit, however the products were spread over the workers.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alignModels } from '../../src/align/align-models.js';
import { planAlignment } from '../../src/align/alignment-problem.js';
import { spaceMapsToDocument } from '../../src/align/maps-file.js';
import { StreamedPairedTensors } from '../../src/align/paired-tensors.js';
import { type LoadedModel, loadModel } from '../../src/model/load-model.js';
import { writeLlamaShapedPair } from '../../src/zoo/llama-shaped-pair.js';
import { natsConnectionOptions } from '../../workers/nats/connection-options.js';
import { NatsCostProducts } from '../../workers/nats/nats-cost-products.js';
import { NatsTaskDispatcher } from '../../workers/nats/task-dispatcher.js';
import { poolConsumerName, TASK_STREAM, taskSubject } from '../../workers/nats/task-infrastructure.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';
import { runMal } from '../support/run-mal.js';
import { spawnTaskWorker, type TaskWorkerProcess } from '../support/task-worker-process.js';

const started: TaskWorkerProcess[] = [];

function spawnWorker(url: string, pool: string, extra: string[] = []): TaskWorkerProcess {
  const worker = spawnTaskWorker(url, pool, extra);
  started.push(worker);
  return worker;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('alignment cost products on NATS task workers', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;
  let base: LoadedModel;
  let target: LoadedModel;
  /** The in-process alignment: its maps document and objective. */
  let expected: { maps: string; objective: number };
  const dispatchers: NatsTaskDispatcher[] = [];

  const dispatcher = async (pool: string) => {
    const d = await NatsTaskDispatcher.connect({
      connection: natsConnectionOptions({ url: server.url }, {}),
      pool,
      timeoutMs: 60_000,
    });
    dispatchers.push(d);
    return d;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    dir = await mkdtemp(join(tmpdir(), 'mal-nats-products-'));
    await writeLlamaShapedPair(dir, {
      blocks: 2,
      hidden: 64,
      intermediate: 96,
      heads: 4,
      kvHeads: 2,
      vocab: 32,
      seed: 1,
      noise: 0.01,
      maxShardBytes: 50_000,
    });
    base = await loadModel(join(dir, 'base'));
    target = await loadModel(join(dir, 'target'));
    const local = await alignModels(base, target);
    expected = {
      maps: JSON.stringify(spaceMapsToDocument(local.result.maps.values())),
      objective: local.result.objective,
    };
  }, 60_000);
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.stop()));
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await base?.source.close();
    await target?.source.close();
    await nc?.close();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('gives the in-process maps and objective, each tensor read and uploaded once', async () => {
    spawnWorker(server.url, 'two', ['--concurrency', '1']);
    spawnWorker(server.url, 'two', ['--concurrency', '1']);
    const tensors = new StreamedPairedTensors(base, target, 0);
    const runner = new NatsCostProducts(await dispatcher('two'), tensors);
    const remote = await alignModels(base, target, { products: runner });
    expect(JSON.stringify(spaceMapsToDocument(remote.result.maps.values()))).toBe(expected.maps);
    expect(remote.result.objective).toBe(expected.objective);
    // Every paired tensor of both models takes part in some product, and each went up once.
    const pairs = planAlignment(base, target).pairs.length;
    expect(runner.uploads.size).toBe(2 * pairs);
    expect([...runner.uploads.values()].every((n) => n === 1)).toBe(true);
    expect(tensors.reads).toBe(2 * pairs);
    expect(runner.completed).toBeGreaterThan(2 * pairs);
    // Products are removed from the result store once read.
    const results = await nc.jetstream().views.kv('mal-results');
    const left: string[] = [];
    for await (const key of await results.keys()) left.push(key);
    expect(left).toEqual([]);
  }, 120_000);

  it('keeps the maps when a worker dies mid-alignment: its task goes to another worker', async () => {
    const flags = ['--concurrency', '1', '--ack-wait-ms', '1500'];
    const first = spawnWorker(server.url, 'kill', flags);
    const runner = new NatsCostProducts(await dispatcher('kill'), new StreamedPairedTensors(base, target, 0));
    const alignment = alignModels(base, target, { products: runner });
    let settled = false;
    // If the test fails before awaiting it, the alignment's later timeout must not surface as an unhandled rejection.
    alignment.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await waitFor('the first products', () => runner.completed >= 10);
    // Frozen, then killed, while it holds a task: only a second worker can finish the alignment. A worker frozen
    // between a result and its next pull holds nothing, so it is thawed and frozen again until it does.
    const jsm = await nc.jetstreamManager();
    const holdsTask = async () =>
      (await jsm.consumers.info(TASK_STREAM, poolConsumerName('kill'))).num_ack_pending >= 1;
    let held = false;
    for (let attempt = 0; attempt < 20 && !held; attempt++) {
      first.child.kill('SIGSTOP');
      held = await waitFor('the frozen worker to hold a task', holdsTask, 1_000).then(
        () => true,
        () => false,
      );
      if (!held) {
        const before = runner.completed;
        first.child.kill('SIGCONT');
        await waitFor('the thawed worker to finish a product', () => runner.completed > before || settled);
      }
    }
    expect(held, 'the worker never held a task while frozen').toBe(true);
    const heldAt = runner.completed;
    first.child.kill('SIGKILL');
    await first.stop();
    const second = spawnWorker(server.url, 'kill', flags);
    const remote = await alignment;
    expect(runner.completed).toBeGreaterThan(heldAt);
    expect(JSON.stringify(spaceMapsToDocument(remote.result.maps.values()))).toBe(expected.maps);
    expect(remote.result.objective).toBe(expected.objective);
    // A worker frozen after it stored a result but before its ack leaves the second one nothing to do again.
    const redelivered = /cost-product [0-9a-f]{12} (?:already )?done in \d+ ms \(delivery ([2-9])\)/;
    await waitFor('the second worker to log a redelivered task', () => redelivered.test(second.log()));
  }, 120_000);

  it('mal align --nats with one mal worker writes the maps.json of the embedded mal align', async () => {
    spawnWorker(server.url, 'cli', ['--concurrency', '1']);
    const embedded = await runMal([
      'align',
      join(dir, 'base'),
      join(dir, 'target'),
      '--out',
      join(dir, 'here'),
    ]);
    expect(embedded.code, embedded.stderr).toBe(0);
    const viaNats = await runMal([
      'align',
      join(dir, 'base'),
      join(dir, 'target'),
      '--out',
      join(dir, 'there'),
      '--nats',
      server.url,
      '--pool',
      'cli',
    ]);
    expect(viaNats.code, viaNats.stderr).toBe(0);
    expect(viaNats.stderr).toContain(
      `cost products: task workers of pool 'cli' through NATS at ${server.url}`,
    );
    // The recorded paths are the same, so the whole file must be: maps, objective, sweeps, options.
    const here = await readFile(join(dir, 'here', 'maps.json'), 'utf8');
    expect(await readFile(join(dir, 'there', 'maps.json'), 'utf8')).toBe(here);
    expect(JSON.parse(here).objective).toBe(expected.objective);
  }, 120_000);

  it('refuses --nats where nothing is multiplied, and --pool without --nats, before any work', async () => {
    const activations = await runMal([
      'merge',
      join(dir, 'base'),
      join(dir, 'target'),
      '--lambda',
      '0.5',
      '--out',
      join(dir, 'merged'),
      '--maps',
      join(dir, 'here', 'maps.json'),
      '--nats',
      server.url,
    ]);
    expect(activations.code).not.toBe(0);
    expect(activations.stderr).toMatch(/--nats sends weight matching's cost-matrix products/);
    const pool = await runMal([
      'align',
      join(dir, 'base'),
      join(dir, 'target'),
      '--out',
      join(dir, 'p'),
      '--pool',
      'x',
    ]);
    expect(pool.code).not.toBe(0);
    expect(pool.stderr).toMatch(/--pool needs --nats/);
    await expect(readFile(join(dir, 'p', 'maps.json'))).rejects.toThrow();
  }, 60_000);

  it('says so when no worker serves the pool, and finishes once one starts', async () => {
    // The worker starts only when the first task is on the bus: the check ran before any, with nobody serving.
    const firstTask = nc.subscribe(taskSubject('late'), { max: 1 });
    const workerStarted = (async () => {
      for await (const _ of firstTask) spawnWorker(server.url, 'late', ['--concurrency', '1']);
    })();
    const run = await runMal([
      'align',
      join(dir, 'base'),
      join(dir, 'target'),
      '--out',
      join(dir, 'late'),
      '--nats',
      server.url,
      '--pool',
      'late',
    ]);
    await workerStarted;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`warning: no 'mal worker --pool late' is serving NATS at ${server.url} now`);
    expect(JSON.parse(await readFile(join(dir, 'late', 'maps.json'), 'utf8')).objective).toBe(
      expected.objective,
    );
    // A served pool gets no warning (the 'cli' test above ran with its worker up).
    spawnWorker(server.url, 'served', ['--concurrency', '1']);
    await waitFor('the worker to pull', async () => {
      const jsm = await nc.jetstreamManager();
      // The consumer appears when the worker has started.
      const info = await jsm.consumers.info(TASK_STREAM, poolConsumerName('served')).catch(() => undefined);
      return (info?.num_waiting ?? 0) > 0;
    });
    const served = await runMal([
      'align',
      join(dir, 'base'),
      join(dir, 'target'),
      '--out',
      join(dir, 'served'),
      '--nats',
      server.url,
      '--pool',
      'served',
    ]);
    expect(served.code, served.stderr).toBe(0);
    expect(served.stderr).not.toContain('warning:');
  }, 120_000);
});
