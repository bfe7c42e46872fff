/**
 * A real Temporal dev server for tests: builds the CLI once through deploy/temporal/build-temporal-cli.sh
 * (needs Go the first time), starts `temporal server start-dev` on free loopback ports with a temporary
 * database, and stops it afterwards.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { runningTemporalServers } from './temporal-server-registry.js';

const root = join(import.meta.dirname, '..', '..');

export interface TemporalTestServer {
  readonly address: string;
  readonly namespace: string;
  stop(): Promise<void>;
}

/** The cached Temporal CLI, built on first use. */
export function temporalCliPath(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [join(root, 'deploy', 'temporal', 'build-temporal-cli.sh')],
      { maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(
            new Error(
              `could not build the Temporal CLI (deploy/temporal/build-temporal-cli.sh exited ${String(error.code)}); Go 1.23+ is needed the first time:\n${stderr}`,
            ),
          );
          return;
        }
        resolve(stdout.trim().split('\n').at(-1) ?? '');
      },
    );
  });
}

export function freePort(): Promise<number> {
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

export async function startTemporalServer(): Promise<TemporalTestServer> {
  const binary = await temporalCliPath();
  const dir = await mkdtemp(join(tmpdir(), 'mal-temporal-'));
  const port = await freePort();
  const ports = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    binary,
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(ports[0]),
      '--http-port',
      String(ports[1]),
      '--metrics-port',
      String(ports[2]),
      '--db-filename',
      join(dir, 'temporal.db'),
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    runningTemporalServers.delete(stop);
    await rm(dir, { recursive: true, force: true });
  };
  runningTemporalServers.add(stop);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the Temporal dev server exited with ${child.exitCode}:\n${stderr}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 s' });
      // The frontend answers before the default namespace exists; wait until it can be described.
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `the Temporal dev server did not start within 30 s: ${(error as Error).message}\n${stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { address, namespace: 'default', stop };
}
