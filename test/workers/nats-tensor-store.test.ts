import { Field, Float32, makeData, RecordBatch, Schema, Struct, Table, tableToIPC } from 'apache-arrow';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import { tensorContentAddress } from '../../src/io/tensor-content-address.js';
import { sha256 } from '../../src/store/content-store.js';
import { BlobTooLargeError, CorruptTensorError, MissingTensorError } from '../../workers/nats/nats-errors.js';
import { decodeTensor, encodeTensor, NatsTensorStore } from '../../workers/nats/tensor-store.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';

describe('NATS object store of Arrow tensors', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('stores a tensor under its content address and gives it back bit for bit', async () => {
    const store = await NatsTensorStore.open(nc);
    // Larger than one object-store chunk (128 KiB), so the blob is reassembled from several messages.
    const data = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i) * 1e-3);
    const tensor = { shape: [250, 400], data };
    const hash = await store.putTensor(tensor);
    expect(hash).toBe(tensorContentAddress('F32', [250, 400], new Uint8Array(data.buffer)));
    expect(hash).not.toBe(sha256(encodeTensor(tensor)));
    expect(await store.putTensor(tensor)).toBe(hash);
    const fresh = await NatsTensorStore.open(nc);
    const back = await fresh.getTensor(hash);
    expect(back.shape).toEqual([250, 400]);
    expect(Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength)).toEqual(
      Buffer.from(data.buffer),
    );
  });

  it('uploads equal tensors asked for at once a single time', async () => {
    const store = await NatsTensorStore.open(nc);
    const jsm = await nc.jetstreamManager();
    const stream = `OBJ_${store.bucket.bucket}`;
    const before = (await jsm.streams.info(stream)).state.messages;
    // Two copies of the same values (two tasks that tokenized one text each): one blob, one upload.
    const data = Float32Array.from({ length: 300_000 }, (_, i) => Math.cos(i));
    const [a, b] = await Promise.all([
      store.putTensor({ shape: [300_000], data }),
      store.putTensor({ shape: [300_000], data: data.slice() }),
    ]);
    expect(b).toBe(a);
    // 1.2 MB in chunks of at most 1 MiB: two chunk messages and one metadata message.
    expect((await jsm.streams.info(stream)).state.messages - before).toBe(3);
  });

  it('decodes a message at any byte offset, in place when it has a buffer of its own', () => {
    const tensor = { shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i - 7.25) };
    const hash = tensorContentAddress('F32', [3, 5], new Uint8Array(tensor.data.buffer));
    const message = encodeTensor(tensor);
    for (const offset of [0, 1, 2, 4]) {
      const holder = new Uint8Array(message.length + offset);
      holder.set(message, offset);
      const back = decodeTensor(hash, holder.subarray(offset));
      expect(back.shape).toEqual([3, 5]);
      expect([...back.data]).toEqual([...tensor.data]);
      expect(back.data.byteOffset % 4).toBe(0);
      // A message in a buffer of its own (as the object store gives it back) is read in place, with no copy.
      if (offset === 0) expect(back.data.buffer).toBe(holder.buffer);
    }
    // In a buffer far larger than the message (padding a peer could add), the data is copied out, so a cache that
    // counts the data's bytes does not keep the rest alive.
    const padded = new Uint8Array(message.length + 2 ** 20);
    padded.set(message);
    const copied = decodeTensor(hash, padded.subarray(0, message.length));
    expect([...copied.data]).toEqual([...tensor.data]);
    expect(copied.data.buffer).not.toBe(padded.buffer);
    expect(copied.data.buffer.byteLength).toBe(tensor.data.byteLength);
  });

  it('writes blobs nats.js reads back with its own digest check, and reads what nats.js wrote', async () => {
    const store = await NatsTensorStore.open(nc);
    // Several 1 MiB chunks and a partial one.
    const bytes = new Uint8Array(3 * 1024 * 1024 + 12_345);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 255;
    const hash = await store.putBytes(bytes);
    // equals, not toEqual: a deep comparison of megabytes takes tens of seconds.
    expect(Buffer.from((await store.objects.getBlob(hash)) ?? []).equals(bytes)).toBe(true);
    const other = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) other[i] = bytes[i] ^ 0x5a;
    const name = sha256(other);
    await store.objects.putBlob({ name }, other);
    expect(Buffer.from(await (await NatsTensorStore.open(nc)).getBytes(name)).equals(other)).toBe(true);
  });

  it('refuses a tensor larger than the reader may hold from its size, and reads it under a larger bound', async () => {
    const store = await NatsTensorStore.open(nc);
    const tensor = { shape: [100_000], data: Float32Array.from({ length: 100_000 }, (_, i) => i) };
    const hash = await store.putTensor(tensor);
    const reader = await NatsTensorStore.open(nc);
    const refused = reader.getTensor(hash, 100_000);
    await expect(refused).rejects.toBeInstanceOf(BlobTooLargeError);
    await expect(refused).rejects.toThrow(/more than this worker may hold .*--cache-mb/);
    // The bound is the data's: a tensor of exactly that many bytes is read despite its Arrow metadata.
    expect((await reader.getTensor(hash, 400_000)).shape).toEqual([100_000]);
  });

  it('refuses bytes that are not what their name says, and names a missing tensor', async () => {
    const store = await NatsTensorStore.open(nc);
    const name = sha256('a tensor that was never stored');
    await store.objects.putBlob({ name }, new TextEncoder().encode('not arrow'));
    await expect(store.getTensor(name)).rejects.toBeInstanceOf(CorruptTensorError);
    await expect(store.getTensor(sha256('missing'))).rejects.toBeInstanceOf(MissingTensorError);
    // A valid message of another tensor under this name.
    const other = tensorToArrowIPC('tensor', { dtype: 'F32', shape: [1], bytes: new Uint8Array(4) });
    const misnamed = sha256('another name');
    await store.objects.putBlob({ name: misnamed }, other);
    await expect(store.getTensor(misnamed)).rejects.toThrow(/content does not hash to its name/);
  });

  it('names the same tensor alike in the layout an earlier producer wrote (flat, metadata reordered)', async () => {
    const store = await NatsTensorStore.open(nc);
    const data = Float32Array.of(1, 2, 3, 4, 5, 6);
    const hash = await store.putTensor({ shape: [3, 2], data });
    const metadata = new Map([
      ['mal.tensor.shape', '[3, 2]'],
      ['mal.tensor.dtype', 'F32'],
      ['mal.tensor.name', 'tensor'],
    ]);
    const schema = new Schema([new Field('values', new Float32(), false)], metadata);
    const column = makeData({ type: new Float32(), length: 6, nullCount: 0, data });
    const rows = makeData({ type: new Struct(schema.fields), length: 6, nullCount: 0, children: [column] });
    const flat = tableToIPC(new Table([new RecordBatch(schema, rows)]), 'stream');
    expect(Buffer.from(flat).equals(Buffer.from(encodeTensor({ shape: [3, 2], data })))).toBe(false);
    expect(Array.from(decodeTensor(hash, flat).data)).toEqual([1, 2, 3, 4, 5, 6]);
    // Stored under that address, it is the blob already there: nothing new is written.
    expect(await store.putBytes(flat, hash)).toBe(hash);
    expect((await store.objects.info(hash))?.size).toBe(encodeTensor({ shape: [3, 2], data }).length);
  });
});
