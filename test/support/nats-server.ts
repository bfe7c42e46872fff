import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's nats-server 2.9 (the `nats-server` package); MAL_NATS_SERVER points elsewhere. */
export const NATS_SERVER_BINARY = process.env.MAL_NATS_SERVER ?? '/usr/sbin/nats-server';

/** A missing server fails the tests that need one, with what to do: CI installs it, so it must be there. */
function requireNatsServer(): void {
  if (!existsSync(NATS_SERVER_BINARY))
    throw new Error(
      `no nats-server at ${NATS_SERVER_BINARY}: install Debian's nats-server (npm test does, through scripts/install-debian-packages.sh) or point MAL_NATS_SERVER at one`,
    );
}

export interface TestNatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stops the server and starts it again on the same port with the same JetStream store. */
  restart(downMs?: number): Promise<void>;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
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

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function launch(port: number, storeDir: string, config: string | undefined): ChildProcess {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  return spawn(NATS_SERVER_BINARY, config === undefined ? args : [...args, '-c', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export interface NatsServerOptions {
  /** The largest message the server takes (its max_payload; default 1 MB). */
  readonly maxPayload?: number;
}

async function waitReady(child: ChildProcess, port: number): Promise<void> {
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}:\n${log}`);
    // The log line says JetStream is up too, which the TCP port alone does not.
    if (log.includes('Server is ready') && (await canConnect(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not become ready on port ${port} within 15 s:\n${log}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Servers started and not stopped yet, by store folder. */
const running = new Map<string, () => ChildProcess>();

/**
 * Ends the servers this test file left running (test/support/leftover-servers.ts calls it after each file): a
 * test that fails or times out before its clean-up, such as a hook past its limit that never got the server's
 * handle, would otherwise leave a nats-server behind.
 */
export async function stopLeftoverNatsServers(): Promise<void> {
  const left = [...running];
  running.clear();
  await Promise.all(
    left.map(async ([storeDir, child]) => {
      await stopChild(child());
      await rm(storeDir, { recursive: true, force: true });
    }),
  );
}

/** Starts a JetStream-enabled nats-server on a free loopback port with a temporary store. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<TestNatsServer> {
  requireNatsServer();
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), 'mal-nats-'));
  let config: string | undefined;
  if (options.maxPayload !== undefined) {
    config = join(storeDir, 'nats-server.conf');
    await writeFile(config, `max_payload: ${options.maxPayload}\n`);
  }
  let child = launch(port, storeDir, config);
  running.set(storeDir, () => child);
  await waitReady(child, port);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async restart(downMs = 500) {
      await stopChild(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = launch(port, storeDir, config);
      await waitReady(child, port);
    },
    async stop() {
      await stopChild(child);
      running.delete(storeDir);
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
