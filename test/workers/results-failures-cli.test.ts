/**
 * `mal results failures` against a real nats-server: lists the failures recorded in the result store, and with
 * --forget removes them (only them), so their tasks run again.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsResultStore } from '../../workers/nats/result-store.js';
import { RESULT_BUCKET } from '../../workers/nats/task-infrastructure.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';
import { runMal } from '../support/run-mal.js';

const KEYS = { ok: 'a'.repeat(64), failed: 'b'.repeat(64), garbage: 'c'.repeat(64) };

describe('mal results failures', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let store: NatsResultStore;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    store = await NatsResultStore.open(nc);
    await store.record(KEYS.ok, { ok: true, kind: 'noop', output: { elements: 1 }, worker: 'w1' });
    await store.record(KEYS.failed, {
      ok: false,
      kind: 'evaluate',
      error: { name: 'SpecError', message: "rope_scaling 'llama3' is not implemented" },
      worker: 'w2',
    });
    // A value no worker wrote: a run would read it as a failure, so it is listed as one.
    const kv = await nc.jetstream().views.kv(RESULT_BUCKET);
    await kv.put(KEYS.garbage, new TextEncoder().encode('not a record'));
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('lists the recorded failures, then forgets only them', async () => {
    const listed = await runMal(['results', 'failures', '--nats-url', server.url]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(
      `${KEYS.failed}  evaluate  SpecError: rope_scaling 'llama3' is not implemented (worker w2)`,
    );
    expect(listed.stdout).toContain(
      `${KEYS.garbage}  unknown  InvalidResultError: the stored result is not a task result record`,
    );
    expect(listed.stdout).not.toContain(KEYS.ok);
    expect(listed.stdout).toContain('2 failed of 3 recorded result(s)');
    // Listing changes nothing.
    expect(await store.has(KEYS.failed)).toBe(true);

    const forgot = await runMal(['results', 'failures', '--forget', '--json', '--nats-url', server.url]);
    expect(forgot.code, forgot.stderr).toBe(0);
    const report = JSON.parse(forgot.stdout);
    expect(report.results).toBe(3);
    expect(report.forgotten).toBe(2);
    expect(report.failures.map((f: { key: string }) => f.key).sort()).toEqual([KEYS.failed, KEYS.garbage]);
    expect(await store.has(KEYS.failed)).toBe(false);
    expect(await store.has(KEYS.garbage)).toBe(false);
    expect(await store.get(KEYS.ok)).toEqual({
      ok: true,
      kind: 'noop',
      output: { elements: 1 },
      worker: 'w1',
    });
    // A forgotten task's result can be recorded again, as a rerun does.
    expect(
      await store.record(KEYS.failed, {
        ok: true,
        kind: 'evaluate',
        output: { loss: 1, accuracy: 0.5, count: 2 },
        worker: 'w3',
      }),
    ).toBe('stored');

    const after = await runMal(['results', 'failures', '--nats-url', server.url]);
    expect(after.stdout).toContain('0 failed of 2 recorded result(s)');
  });

  it('filters by kind and error name, and prints each failure on one line', async () => {
    const many = { a: 'd'.repeat(64), b: 'e'.repeat(64) };
    await store.record(many.a, {
      ok: false,
      kind: 'align',
      error: { name: 'BadTaskError', message: 'first line\n  second line' },
      worker: 'w4',
    });
    await store.record(many.b, {
      ok: false,
      kind: 'evaluate',
      error: { name: 'TaskDeadlineError', message: 'ran past its deadline' },
      worker: 'w5',
    });
    const aligns = await runMal(['results', 'failures', '--kind', 'align', '--nats-url', server.url]);
    expect(aligns.stdout).toContain(`${many.a}  align  BadTaskError: first line second line (worker w4)`);
    expect(aligns.stdout).not.toContain(many.b);
    expect(aligns.stdout).toMatch(/1 align failed of \d+ recorded result\(s\)/);
    const forgot = await runMal([
      'results',
      'failures',
      '--error',
      'TaskDeadlineError',
      '--forget',
      '--nats-url',
      server.url,
    ]);
    expect(forgot.code, forgot.stderr).toBe(0);
    expect(await store.has(many.b)).toBe(false);
    expect(await store.has(many.a)).toBe(true);
  });

  it('creates nothing on a server with no result store', async () => {
    const empty = await startNatsServer();
    try {
      const run = await runMal(['results', 'failures', '--nats-url', empty.url]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('no result store (bucket mal-results)');
      const other = await connect({ servers: empty.url });
      const names: string[] = [];
      for await (const name of (await other.jetstreamManager()).streams.names()) names.push(name);
      await other.close();
      expect(names).toEqual([]);
    } finally {
      await empty.stop();
    }
  });

  it('says when NATS cannot be reached, exit non-zero', async () => {
    const down = await runMal(['results', 'failures', '--nats-url', 'nats://127.0.0.1:1']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/NATS at nats:\/\/127\.0\.0\.1:1 cannot be reached/);
  });
});
