import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  zooAddCommand,
  zooCommands,
  zooLsCommand,
  zooShowCommand,
  zooVerifyCommand,
} from '../../src/cli/commands/zoo.js';
import { runCommand } from './run-command.js';
import { scratch, writeMlpFile, writeUnplaceableFile } from './zoo-fixtures.js';

describe('mal zoo add / ls / show / verify', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let zoo: string;
  beforeEach(async () => {
    dir = await scratch();
    zoo = join(dir.path, 'zoo');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('names every subcommand zoo <verb> and has help for each', async () => {
    expect(zooCommands.map((c) => c.name)).toEqual([
      'zoo train',
      'zoo add',
      'zoo ls',
      'zoo show',
      'zoo verify',
    ]);
    for (const command of zooCommands) {
      const run = await runCommand(command, ['--help']);
      expect(run.code).toBe(0);
      expect(run.out[0]).toContain(`Usage: mal ${command.name}`);
      expect(run.out.join('\n')).toContain('--zoo <dir>');
    }
  });

  it('requires --zoo', async () => {
    const run = await runCommand(zooLsCommand, []);
    expect(run.code).toBe(2);
    expect(run.err.join('\n')).toContain('--zoo is required');
  });

  it('adds a good and an unreadable model, warns for the unreadable one, and lists both', async () => {
    const good = await writeMlpFile(join(dir.path, 'good.safetensors'), [12, 7, 3], 1);
    const bad = await writeUnplaceableFile(join(dir.path, 'bad.safetensors'));
    const added = await runCommand(zooAddCommand, [
      '--zoo',
      zoo,
      good,
      '--dataset',
      'toy:train',
      '--seed',
      '1',
    ]);
    expect(added).toMatchObject({ code: 0, err: [] });
    expect(added.out).toEqual(['added good (mlp, widths 12-7-3) as models/good.safetensors']);
    const addedBad = await runCommand(zooAddCommand, ['--zoo', zoo, bad, '--id', 'odd-one']);
    expect(addedBad.code).toBe(0);
    expect(addedBad.err.join('\n')).toMatch(
      /^warning: odd-one cannot be read by this project .*blob\.weight/,
    );

    const ls = await runCommand(zooLsCommand, ['--zoo', zoo]);
    expect(ls.code).toBe(0);
    expect(ls.out[0].split(/\s+/)).toEqual(['ID', 'FAMILY', 'WIDTHS', 'DATASET', 'ACCURACY', 'ON', 'STATUS']);
    expect(ls.out[1].split(/\s{2,}/)).toEqual(['good', 'mlp', '12-7-3', 'toy:train', '-', '-', 'readable']);
    expect(ls.out[2]).toMatch(
      /^odd-one\s+\?\s+-\s+-\s+-\s+-\s+unreadable: cannot tell the architecture family/,
    );
    expect(ls.out).toHaveLength(3);

    const json = await runCommand(zooLsCommand, ['--zoo', zoo, '--json']);
    const entries = JSON.parse(json.out.join('\n'));
    expect(entries.map((e: { id: string; readable: boolean }) => [e.id, e.readable])).toEqual([
      ['good', true],
      ['odd-one', false],
    ]);
  });

  it('shows one model, as text and as JSON, and names the known ids for an unknown one', async () => {
    const good = await writeMlpFile(join(dir.path, 'good.safetensors'), [12, 7, 3], 1);
    await runCommand(zooAddCommand, ['--zoo', zoo, good, '--classes', '0,1,2']);
    const show = await runCommand(zooShowCommand, ['--zoo', zoo, 'good']);
    expect(show.code).toBe(0);
    const text = show.out.join('\n');
    expect(text).toContain('family:    mlp');
    expect(text).toContain('widths:    input=12, layers.0=7, output=3');
    expect(text).toContain('classes:   0, 1, 2');
    expect(text).toContain(`provenance: added from ${good}`);
    expect(text).toMatch(/size:\s+\d/);
    const json = JSON.parse(
      (await runCommand(zooShowCommand, ['--zoo', zoo, 'good', '--json'])).out.join('\n'),
    );
    expect(json).toMatchObject({ id: 'good', family: 'mlp', classes: [0, 1, 2] });
    const missing = await runCommand(zooShowCommand, ['--zoo', zoo, 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.err.join('\n')).toContain("no model with id 'nope' (ids: good)");
  });

  it('reports an empty zoo and a zoo that does not exist', async () => {
    const good = await writeMlpFile(join(dir.path, 'good.safetensors'), [4, 3, 2], 1);
    const absent = await runCommand(zooLsCommand, ['--zoo', zoo]);
    expect(absent.code).toBe(1);
    expect(absent.err.join('\n')).toContain('zoo.json: no such file');
    await runCommand(zooAddCommand, ['--zoo', zoo, good]);
    const manifest = JSON.parse(await readFile(join(zoo, 'zoo.json'), 'utf8'));
    manifest.models = [];
    await writeFile(join(zoo, 'zoo.json'), JSON.stringify(manifest));
    expect((await runCommand(zooLsCommand, ['--zoo', zoo])).out).toEqual([`${zoo}: the zoo is empty`]);
  });

  it('exits 1 from add when the path does not exist', async () => {
    const run = await runCommand(zooAddCommand, ['--zoo', zoo, join(dir.path, 'absent.safetensors')]);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toContain('no such file or folder');
  });

  it('verify passes on an intact zoo and fails on a changed file', async () => {
    const good = await writeMlpFile(join(dir.path, 'good.safetensors'), [4, 3, 2], 1);
    await runCommand(zooAddCommand, ['--zoo', zoo, good]);
    const ok = await runCommand(zooVerifyCommand, ['--zoo', zoo]);
    expect(ok.code).toBe(0);
    expect(ok.out).toEqual(['good  ok', '1 of 1 models match their hashes']);
    const file = join(zoo, 'models', 'good.safetensors');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0x40;
    await writeFile(file, bytes);
    const changed = await runCommand(zooVerifyCommand, ['--zoo', zoo]);
    expect(changed.code).toBe(1);
    expect(changed.err[0]).toMatch(/^good {2}changed: expected [0-9a-f]{64}, found [0-9a-f]{64}$/);
  });
});
