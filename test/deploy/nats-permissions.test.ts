// Starts Debian's nats-server with deploy/nats/nats-server.conf (port and store moved to a free port and a
// temporary folder) and walks one task through it with the per-role users: the dispatcher creates the queue and
// the buckets, stores a tensor and publishes a task; the worker pulls it, reads the tensor, writes a result and
// acknowledges. Then what each role must not do is refused. This checks the permissions against the JetStream
// object-store and KV subjects nats.js really uses, which `nats-server -t` alone cannot. A client without a right
// (a worker publishing a task or writing tensors, a dispatcher writing or deleting a result) is refused.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/store/content-store.js';
import { putBlob } from '../../workers/nats/blob-transfer.js';
import { NatsResultStore } from '../../workers/nats/result-store.js';
import {
  ensurePoolConsumer,
  ensureTaskStream,
  poolConsumerName,
  RESULT_BLOB_BUCKET,
  RESULT_BUCKET,
  TASK_STREAM,
  TENSOR_BUCKET,
  taskSubject,
} from '../../workers/nats/task-infrastructure.js';
import { NatsTensorStore } from '../../workers/nats/tensor-store.js';
import { DEPLOY } from './deploy-support.js';

const NATS_SERVER = process.env.MAL_NATS_SERVER ?? '/usr/sbin/nats-server';
const PASSWORDS = {
  MAL_NATS_ADMIN_PASSWORD: 'admin-secret',
  MAL_NATS_DISPATCHER_PASSWORD: 'dispatcher-secret',
  MAL_NATS_WORKER_PASSWORD: 'worker-secret',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let child: ChildProcess | undefined;
let store = '';
let url = '';
const open: NatsConnection[] = [];

async function login(user: string, pass: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, user, pass, reconnect: false, timeout: 5_000 });
  open.push(nc);
  return nc;
}

beforeAll(async () => {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} is missing: apt-get install nats-server`);
  const port = await freePort();
  const httpPort = await freePort();
  store = mkdtempSync(join(tmpdir(), 'mal-nats-perm-'));
  url = `nats://127.0.0.1:${port}`;
  // nats-server has no flag that overrides a configured store_dir: run a copy that points at the temp folder.
  const original = readFileSync(join(DEPLOY, 'nats/nats-server.conf'), 'utf8');
  const config = original.replace('store_dir: "/data/jetstream"', `store_dir: "${join(store, 'js')}"`);
  if (config === original) throw new Error('nats-server.conf: store_dir "/data/jetstream" not found');
  writeFileSync(join(store, 'nats-server.conf'), config);
  const proc = spawn(
    NATS_SERVER,
    ['-c', join(store, 'nats-server.conf'), '-a', '127.0.0.1', '-p', String(port), '-m', String(httpPort)],
    { env: { ...process.env, ...PASSWORDS }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child = proc;
  let log = '';
  proc.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const deadline = Date.now() + 15_000;
  while (!log.includes('Server is ready')) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`nats-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  for (const nc of open) if (!nc.isClosed()) await nc.close();
  const proc = child;
  if (proc !== undefined && proc.exitCode === null) {
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

describe('deploy/nats/nats-server.conf permissions, on a running nats-server', () => {
  it('refuses a wrong password', async () => {
    await expect(connect({ servers: url, user: 'worker', pass: 'wrong', reconnect: false })).rejects.toThrow(
      /Authorization/i,
    );
  });

  it('lets a task go dispatcher → worker → result, and refuses what each role must not do', async () => {
    const tensor = new Uint8Array(300_000).map((_, i) => i % 251);
    const task = new TextEncoder().encode(JSON.stringify({ tensor: 't1', result: 'r1' }));
    const encode = (text: string) => new TextEncoder().encode(text);
    const decode = (bytes: Uint8Array | null | undefined) =>
      new TextDecoder().decode(bytes ?? new Uint8Array());

    // Dispatcher: queue, pool consumer, buckets (as NatsTaskDispatcher.connect opens them), a tensor, a task.
    const dispatcher = await login('dispatcher', PASSWORDS.MAL_NATS_DISPATCHER_PASSWORD);
    const djsm = await dispatcher.jetstreamManager();
    await ensureTaskStream(djsm);
    await ensurePoolConsumer(djsm, 'cpu', { ackWaitMs: 30_000, maxDeliver: 5 }, false);
    const djs = dispatcher.jetstream();
    const dTensors = await djs.views.os(TENSOR_BUCKET);
    const dResults = await NatsResultStore.open(dispatcher);
    const watch = await dResults.kv.watch({ key: '>' });
    await dTensors.putBlob({ name: 't1' }, tensor);
    const published = await djs.publish(taskSubject('cpu'), task);
    // A dispatcher may look a queued task up by sequence (whether the copy JetStream calls a duplicate still waits).
    expect((await djsm.streams.getMessage(TASK_STREAM, { seq: published.seq })).data).toEqual(task);

    // Worker: its pool's consumer, the task, the tensor, a result (write-once), the ack.
    const worker = await login('worker', PASSWORDS.MAL_NATS_WORKER_PASSWORD);
    const wjsm = await worker.jetstreamManager();
    await ensureTaskStream(wjsm);
    await ensurePoolConsumer(wjsm, 'cpu', { ackWaitMs: 30_000, maxDeliver: 5 });
    const wjs = worker.jetstream();
    // It reads tasks only through its pool's consumer, and may not remove one.
    await expect(wjsm.streams.getMessage(TASK_STREAM, { seq: published.seq })).rejects.toThrow();
    const stray = await djs.publish(taskSubject('gone'), task);
    await expect(wjsm.streams.deleteMessage(TASK_STREAM, stray.seq)).rejects.toThrow();
    // A dispatcher may remove a task (one whose deliveries are exhausted stays in the queue otherwise).
    expect(await djsm.streams.deleteMessage(TASK_STREAM, stray.seq, false)).toBe(true);
    const consumer = await wjs.consumers.get(TASK_STREAM, poolConsumerName('cpu'));
    const message = await consumer.next({ expires: 5_000 });
    expect(message).not.toBeNull();
    expect(decode(message?.data)).toContain('"tensor":"t1"');
    const wTensors = await wjs.views.os(TENSOR_BUCKET);
    expect(await wTensors.getBlob('t1')).toEqual(tensor);
    const wResults = await NatsResultStore.open(worker);
    const result = { ok: true, kind: 'noop', output: { elements: 1 }, worker: 'w1' } as const;
    expect(await wResults.record('r1', result)).toBe('stored');
    const failure = { ok: false, kind: 'noop', error: { name: 'E', message: 'late' }, worker: 'w2' } as const;
    expect(await wResults.record('r1', failure)).toBe('kept');
    // An output too large for a KV value goes to the result object store, which the dispatcher reads.
    const wide = { ok: true, kind: 'noop', output: { elements: 1 }, worker: 'w'.repeat(200_000) } as const;
    expect(await wResults.record('r-wide', { ...wide, output: { elements: 2 } })).toBe('stored');
    expect(await message?.ackAck()).toBe(true);
    // The blob-transfer code the task path uses (not only nats.js's) passes the permissions both ways.
    const dStore = await NatsTensorStore.open(dispatcher);
    const wStore = await NatsTensorStore.open(worker);
    const hash = await dStore.putBytes(tensor);
    expect(Buffer.from(await wStore.getBytes(hash)).equals(tensor)).toBe(true);
    await expect(wStore.putBytes(tensor.subarray(0, 10))).rejects.toThrow();

    // The dispatcher reads the result (directly and through its watch); the queue is empty.
    expect(await dResults.get('r1')).toEqual(result);
    expect(await dResults.get('r-wide')).toEqual({ ...wide, output: { elements: 2 } });
    for await (const entry of watch) {
      expect(entry.key).toBe('r1');
      break;
    }
    expect((await djsm.streams.info(TASK_STREAM)).state.messages).toBe(0);

    // A worker may not publish tasks (directly or through JetStream), write or purge tensors, nor delete or
    // purge the queue or the buckets.
    await expect(wjs.publish(taskSubject('cpu'), task)).rejects.toThrow();
    await expect(wTensors.putBlob({ name: 't3' }, tensor.subarray(0, 10))).rejects.toThrow();
    await expect(wjsm.streams.purge(`OBJ_${TENSOR_BUCKET}`)).rejects.toThrow();
    await expect(wjsm.streams.purge(TASK_STREAM)).rejects.toThrow();
    await expect(wjsm.streams.delete(TASK_STREAM)).rejects.toThrow();
    await expect(wjsm.streams.delete(`OBJ_${TENSOR_BUCKET}`)).rejects.toThrow();
    await expect(wjsm.streams.purge(`KV_${RESULT_BUCKET}`)).rejects.toThrow();
    await expect(wjsm.streams.deleteMessage(`KV_${RESULT_BUCKET}`, 1)).rejects.toThrow();
    worker.publish(taskSubject('cpu'), task);
    await worker.flush().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect((await djsm.streams.info(TASK_STREAM)).state.messages).toBe(0);

    // A dispatcher may not write a result, overwrite or delete a stored one, purge the bucket or remove its
    // messages, nor delete the queue or the buckets.
    await expect(dResults.kv.put('r2', encode('{"ok":true}'))).rejects.toThrow();
    await expect(dResults.kv.put('r1', encode('{"ok":false}'))).rejects.toThrow();
    await expect(dResults.kv.delete('r1')).rejects.toThrow();
    await expect(dResults.kv.purge('r1')).rejects.toThrow();
    await expect(djsm.streams.purge(`KV_${RESULT_BUCKET}`)).rejects.toThrow();
    await expect(djsm.streams.deleteMessage(`KV_${RESULT_BUCKET}`, 1)).rejects.toThrow();
    await expect(djsm.streams.update(`KV_${RESULT_BUCKET}`, { max_msgs_per_subject: 5 })).rejects.toThrow();
    await expect(djsm.streams.delete(TASK_STREAM)).rejects.toThrow();
    await expect(djsm.streams.delete(`KV_${RESULT_BUCKET}`)).rejects.toThrow();
    expect(await dResults.get('r1')).toEqual(result);

    // A dispatcher hears of tasks whose last delivery ended unacknowledged; a worker may not listen for them.
    const advisories = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${TASK_STREAM}.${poolConsumerName('cpu')}`;
    const heard = dispatcher.subscribe(advisories);
    const refused = worker.subscribe(advisories);
    const refusal = (async () => {
      for await (const _ of refused) break;
    })();
    // The refusal may arrive while the flush is under way: the expectation handles it from the start.
    const refusalChecked = expect(refusal).rejects.toThrow(/permissions violation/i);
    await dispatcher.flush();
    await refusalChecked;
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.isClosed()).toBe(false);
    heard.unsubscribe();
    // Nor may a dispatcher write a result's output blob.
    const dBlobs = {
      js: djs,
      jsm: djsm,
      objects: await djs.views.os(RESULT_BLOB_BUCKET),
      bucket: RESULT_BLOB_BUCKET,
      maxPayload: 1 << 20,
    };
    await expect(putBlob(dBlobs, sha256(encode('{}')), encode('{}'))).rejects.toThrow();

    // Without a user there is no bus at all: no tensors to read, no tasks, no results.
    await expect(connect({ servers: url, reconnect: false, timeout: 5_000 })).rejects.toThrow(
      /Authorization/i,
    );

    // Admin may do what an operator does.
    const admin = await login('admin', PASSWORDS.MAL_NATS_ADMIN_PASSWORD);
    const ajsm = await admin.jetstreamManager();
    expect(await ajsm.streams.delete(`KV_${RESULT_BUCKET}`)).toBe(true);
  });

  it('uses the same password variables as compose passes to the server', () => {
    const conf = readFileSync(join(DEPLOY, 'nats/nats-server.conf'), 'utf8');
    for (const name of Object.keys(PASSWORDS)) expect(conf).toContain(`$${name}`);
  });
});
