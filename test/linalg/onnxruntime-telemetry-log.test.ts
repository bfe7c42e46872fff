/**
 * onnxruntime's Linux builds start a telemetry client with the first session, which leaves an empty
 * mat-debug-<pid>.log in the temporary folder of every process that aligns. A real `mal align` child process runs
 * with its own temporary folder here, and neither that folder nor the system's may gain a file with its pid.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import { malArgv, root } from '../support/mal-cli.js';
import { makeMlp } from '../support/model-factory.js';

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
});
