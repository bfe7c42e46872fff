/**
 * An alignment whose maps are larger than a NATS message may be: on a server whose max_payload is set low, the maps
 * of a wide layer go through the result object store (the KV entry holds their hash) and come back byte-identical
 * to an alignment in this process. The same holds for any layer wider than the 1 MB default allows.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spaceMapsToDocument } from '../../src/align/maps-file.js';
import { alignCandidate } from '../../src/assembly/candidate-alignment.js';
import { DEFAULT_ALIGNMENT } from '../../src/assembly/plan-file.js';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { natsConnectionOptions } from '../../workers/nats/connection-options.js';
import { NatsResultStore } from '../../workers/nats/result-store.js';
import { NatsTaskDispatcher } from '../../workers/nats/task-dispatcher.js';
import { makeMlp } from '../support/model-factory.js';
import { modelInMemory } from '../support/model-in-memory.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';
import { spawnTaskWorker, type TaskWorkerProcess } from '../support/task-worker-process.js';

/** Small enough that the maps of a 2 000-wide layer (about 13 kB of JSON) cannot be one message. */
const MAX_PAYLOAD = 8 * 1024;

describe('results larger than a NATS message', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let worker: TaskWorkerProcess | undefined;
  let dispatcher: NatsTaskDispatcher | undefined;

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
    nc = await connect({ servers: server.url });
  });
  afterEach(async () => {
    await worker?.stop();
    await dispatcher?.close();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('stores a wide alignment’s maps in the object store and gives them back as this process aligns them', async () => {
    expect(nc.info?.max_payload).toBe(MAX_PAYLOAD);
    worker = spawnTaskWorker(server.url, 'wide', ['--concurrency', '1']);
    dispatcher = await NatsTaskDispatcher.connect({
      connection: natsConnectionOptions({ url: server.url }, {}),
      pool: 'wide',
      backend: 'wasm',
      timeoutMs: 120_000,
    });
    const base = modelInMemory(makeMlp({ widths: [8, 2000, 4], naming: 'layers', seed: 1 }).tensors);
    const zoo = modelInMemory(makeMlp({ widths: [8, 2000, 4], naming: 'layers', seed: 2 }).tensors);
    const unit = transplantUnits(base.spec)[0].name;
    const candidate = { model: 'zoo', layers: [unit], baseLayers: [unit] };
    const reference = await alignCandidate(base, zoo, candidate, DEFAULT_ALIGNMENT, 3);
    const referenceJson = JSON.stringify(spaceMapsToDocument(reference.maps.values()));
    expect(referenceJson.length).toBeGreaterThan(MAX_PAYLOAD);

    const [remote] = await dispatcher.alignCandidates(base, () => zoo, [candidate], DEFAULT_ALIGNMENT, 3);
    expect(remote.error).toBeUndefined();
    expect(remote.aligned?.mapHashes).toEqual(reference.mapHashes);
    expect(remote.aligned?.preScore).toBe(reference.preScore);
    expect(JSON.stringify(spaceMapsToDocument(remote.aligned?.maps.values() ?? []))).toBe(referenceJson);

    // The KV entry is a pointer: the hash and size of the output, not the maps.
    const results = await NatsResultStore.open(nc);
    const keys = await results.kv.keys();
    const entries: string[] = [];
    for await (const key of keys) {
      const entry = await results.kv.get(key);
      entries.push(new TextDecoder().decode(entry?.value));
    }
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/"outputBlob":\{"sha256":"[0-9a-f]{64}","bytes":\d+\}/);
    expect(entries[0].length).toBeLessThan(1024);
  }, 120_000);
});
