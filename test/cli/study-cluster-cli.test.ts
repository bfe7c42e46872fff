// `mal study`'s cluster options: refused without --cluster, and a Temporal server that is not there is named.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMal } from '../support/run-mal.js';
import { freePort } from '../support/temporal-server.js';
import { writeTinyStudy } from '../workflows/study-cluster-fixture.js';

let dir: string;
let study: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-study-cli-'));
  study = await writeTinyStudy(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal study --cluster', () => {
  it('refuses the cluster options without --cluster, before doing anything', async () => {
    for (const args of [['--wait'], ['--id', 'x'], ['--chunk-cells', '4']]) {
      const run = await runMal(['study', study, ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${args[0]} needs --cluster`);
    }
    expect(await readdir(dir)).not.toContain('zoo');
  });

  it('refuses --threads with --cluster', async () => {
    const run = await runMal(['study', study, '--cluster', '--threads', '2']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--threads is for the embedded run');
  });

  it('names the Temporal server it cannot reach', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const run = await runMal(['study', study, '--cluster', '--address', address]);
    expect(run.code).toBe(69);
    expect(run.stderr).toContain(`cannot reach the Temporal server at ${address}`);
  }, 30_000);
});
