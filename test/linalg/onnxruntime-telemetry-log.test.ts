/**
 * onnxruntime's Linux builds start a telemetry client with the first session, which leaves an empty
 * mat-debug-<pid>.log in the temporary folder of every process that aligns. Real `mal` child processes run with
 * their own temporary folder here, and neither that folder nor the system's may gain a file with their pid: one
 * that aligns on its main thread (`mal align`), and one where only the threads align (`mal worker`: a worker thread
 * cannot switch the telemetry off itself, so the pool must before it starts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALIGNMENT } from '../../src/assembly/plan-file.js';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import { natsConnectionOptions } from '../../workers/nats/connection-options.js';
import { NatsTaskDispatcher } from '../../workers/nats/task-dispatcher.js';
import { malArgv, root } from '../support/mal-cli.js';
import { makeMlp } from '../support/model-factory.js';
import { modelInMemory } from '../support/model-in-memory.js';
import { startNatsServer } from '../support/nats-server.js';
import { spawnTaskWorker } from '../support/task-worker-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-ort-log-'));
  for (const [name, seed] of [
    ['a', 1],
    ['b', 2],
  ] as const) {
    const { tensors } = makeMlp({ widths: [16, 24, 4], naming: 'layers', seed });
    await writeSafetensorsTensors(
      join(dir, `${name}.safetensors`),
      new Map([...tensors].map(([n, t]) => [n, fromFloat32(t.data, 'F32', t.shape)])),
    );
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('onnxruntime in a mal process', () => {
  it('leaves no mat-debug-<pid>.log behind', async () => {
    const childTmp = join(dir, 'tmp');
    await mkdir(childTmp);
    const { pid, code, stderr } = await new Promise<{ pid: number; code: number; stderr: string }>(
      (resolve) => {
        const child = execFile(
          process.execPath,
          [
            ...malArgv,
            'align',
            join(dir, 'a.safetensors'),
            join(dir, 'b.safetensors'),
            '--out',
            join(dir, 'out'),
          ],
          {
            cwd: root,
            env: { ...process.env, TMPDIR: childTmp },
          },
          (error, _stdout, err) => {
            resolve({ pid: child.pid ?? -1, code: error === null ? 0 : Number(error.code), stderr: err });
          },
        );
      },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'out', 'maps.json'))).toBe(true);
    expect((await readdir(childTmp)).filter((f) => f.includes(String(pid)))).toEqual([]);
    expect(existsSync(join(tmpdir(), `mat-debug-${pid}.log`))).toBe(false);
  });

  it('leaves none when only its threads align (mal worker)', async () => {
    const server = await startNatsServer();
    const childTmp = join(dir, 'worker-tmp');
    await mkdir(childTmp);
    // onnxruntime for every product, so the worker's thread surely loads it; its main thread never does.
    const worker = spawnTaskWorker(server.url, 'ort', [], 'SIGTERM', {
      TMPDIR: childTmp,
      MAL_MATMUL: 'onnxruntime',
    });
    const connection = natsConnectionOptions({ url: server.url }, {});
    const dispatcher = await NatsTaskDispatcher.connect({ connection, pool: 'ort', backend: 'wasm' });
    try {
      const model = (seed: number) =>
        modelInMemory(makeMlp({ widths: [16, 24, 4], naming: 'layers', seed }).tensors);
      const base = model(1);
      const unit = transplantUnits(base.spec)[0].name;
      const [aligned] = await dispatcher.alignCandidates(
        base,
        () => model(2),
        [{ model: 'b', layers: [unit], baseLayers: [unit] }],
        DEFAULT_ALIGNMENT,
        1,
      );
      // Aligned by the pool's one worker: nothing in this process aligns.
      expect(aligned.error).toBeUndefined();
      expect(aligned.aligned).toBeDefined();
    } finally {
      await dispatcher.close();
      await worker.stop();
      await server.stop();
    }
    const pid = worker.child.pid ?? -1;
    expect((await readdir(childTmp)).filter((f) => f.includes(String(pid)))).toEqual([]);
    expect(existsSync(join(tmpdir(), `mat-debug-${pid}.log`))).toBe(false);
  }, 120_000);
});
