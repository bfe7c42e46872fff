/**
 * File-system errors and output safety, through the real program: every case a user can cause (a symlink loop, a
 * path below a file, a folder where a file is expected, a full disk, a device or an input as the output) exits 1
 * with one line naming the path, never an internal error; and nothing that is not the run's own is replaced.
 */
import { execFileSync } from 'node:child_process';
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { writeDemoPlan } from '../support/demo-plan.js';
import { root } from '../support/mal-cli.js';
import { makeMlp } from '../support/model-factory.js';
import { runMal } from '../support/run-mal.js';

const mal = (...args: string[]) => runMal(args);

async function save(path: string, tensors: Map<string, FloatTensor>): Promise<void> {
  await writeSafetensorsTensors(
    path,
    new Map([...tensors].map(([name, t]) => [name, fromFloat32(t.data, 'F32', t.shape)])),
  );
}

let dir: string;
const at = (name: string) => join(dir, name);
let baseBytes: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-output-safety-'));
  await save(at('base.safetensors'), makeMlp({ widths: [60, 120, 80, 10], naming: 'fc', seed: 3 }).tensors);
  await save(at('target.safetensors'), makeMlp({ widths: [60, 100, 90, 10], naming: 'fc', seed: 4 }).tensors);
  baseBytes = await readFile(at('base.safetensors'));
  await symlink(at('loop-b'), at('loop-a'));
  await symlink(at('loop-a'), at('loop-b'));
  await writeFile(at('plain'), 'a file, not a folder');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Exit 1, one line on stderr that names `path`, no internal error and no stack. */
function expectCleanError(run: { code: number; stderr: string }, path: string, detail?: RegExp): void {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(run.stderr).toContain(path);
  if (detail !== undefined) expect(run.stderr).toMatch(detail);
}

const merge = (out: string, ...more: string[]) =>
  mal('merge', at('base.safetensors'), at('target.safetensors'), '--lambda', '0.5', '--out', out, ...more);

describe('file-system errors exit 1 naming the path', () => {
  it('a symlink loop as the model of inspect, eval, align, merge and lmc', async () => {
    expectCleanError(await mal('inspect', at('loop-a')), at('loop-a'), /\(ELOOP\)/);
    expectCleanError(await mal('eval', at('loop-a'), '--data', 'fashion-mnist:val'), at('loop-a'), /ELOOP/);
    expectCleanError(
      await mal('align', at('loop-a'), at('base.safetensors'), '--out', at('a1')),
      at('loop-a'),
    );
    expectCleanError(
      await mal('merge', at('base.safetensors'), at('loop-b'), '--lambda', '0.5', '--out', at('m.st')),
      at('loop-b'),
      /ELOOP/,
    );
    expectCleanError(
      await mal('lmc', at('loop-a'), at('base.safetensors'), '--data', 'fashion-mnist:val'),
      at('loop-a'),
    );
  });

  it('a path below an existing file, as a model and as every kind of output', async () => {
    expectCleanError(await mal('inspect', at('plain/x.safetensors')), at('plain/x.safetensors'), /ENOTDIR/);
    expectCleanError(await merge(at('plain/x.safetensors')), at('plain/x.safetensors'), /plain is a file/);
    const align = await mal(
      'align',
      at('base.safetensors'),
      at('target.safetensors'),
      '--out',
      at('plain/d'),
    );
    expectCleanError(align, at('plain/d'), /plain is a file, not a folder/);
    const lmc = await mal(
      'lmc',
      at('base.safetensors'),
      at('target.safetensors'),
      '--data',
      'fashion-mnist:val',
      '--plot',
      at('plain/p.svg'),
    );
    expectCleanError(lmc, at('plain/p.svg'), /plain is a file/);
  });

  it('a symlink loop as an output file or folder', async () => {
    expectCleanError(await merge(at('loop-a')), at('loop-a'), /ELOOP/);
    const align = await mal('align', at('base.safetensors'), at('target.safetensors'), '--out', at('loop-b'));
    expectCleanError(align, at('loop-b'), /ELOOP/);
    expect((await lstat(at('loop-a'))).isSymbolicLink()).toBe(true);
  });

  it('a folder where a file is expected: the model file, its config.json, its shard index', async () => {
    await mkdir(at('dir-model/model.safetensors'), { recursive: true });
    expectCleanError(await mal('inspect', at('dir-model')), at('dir-model/model.safetensors'), /folder/);
    await mkdir(at('dir-config/config.json'), { recursive: true });
    await writeFile(at('dir-config/model.safetensors'), baseBytes);
    expectCleanError(await mal('inspect', at('dir-config')), at('dir-config/config.json'), /folder/);
    await mkdir(at('dir-index/model.safetensors.index.json'), { recursive: true });
    expectCleanError(await mal('inspect', at('dir-index')), at('dir-index/model.safetensors.index.json'));
    expectCleanError(await merge(at('dir-model')), at('dir-model'), /is a folder/);
  });

  it('a pipe where a file is expected is refused, not read forever: data, maps, zoo manifest, config, shard index', async () => {
    execFileSync('mkfifo', [at('pipe.arrow'), at('pipe.json')]);
    expectCleanError(
      await mal('eval', at('base.safetensors'), '--data', at('pipe.arrow')),
      at('pipe.arrow'),
      /not a regular file/,
    );
    expectCleanError(
      await mal(
        'merge',
        at('base.safetensors'),
        at('target.safetensors'),
        '--lambda',
        '0.5',
        '--out',
        at('m.safetensors'),
        '--maps',
        at('pipe.json'),
      ),
      at('pipe.json'),
      /not a regular file/,
    );
    await mkdir(at('pipe-zoo'), { recursive: true });
    execFileSync('mkfifo', [at('pipe-zoo/zoo.json')]);
    expectCleanError(
      await mal('zoo', 'ls', '--zoo', at('pipe-zoo')),
      at('pipe-zoo/zoo.json'),
      /not a regular file/,
    );
    await mkdir(at('pipe-config'), { recursive: true });
    await writeFile(at('pipe-config/model.safetensors'), baseBytes);
    execFileSync('mkfifo', [at('pipe-config/config.json')]);
    expectCleanError(
      await mal('inspect', at('pipe-config')),
      at('pipe-config/config.json'),
      /not a regular file/,
    );
    await mkdir(at('pipe-index'), { recursive: true });
    execFileSync('mkfifo', [at('pipe-index/model.safetensors.index.json')]);
    expectCleanError(await mal('inspect', at('pipe-index')), at('pipe-index/model.safetensors.index.json'));
  });

  it('a full disk during merge, align and assemble (a 64 KiB tmpfs), leaving nothing behind', async () => {
    const small = at('small');
    await mkdir(small);
    // Root is needed to mount; the tests run as root (npm test installs packages), so this is not skipped.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
    try {
      expectCleanError(await merge(join(small, 'm.safetensors')), join(small, 'm.safetensors'), /ENOSPC/);
      expect(await readdir(small)).toEqual([]);
      const align = await mal('align', at('base.safetensors'), at('target.safetensors'), '--out', small);
      expectCleanError(align, join(small, '.mal-set-'), /no space left on the device/);
      expect(await readdir(small)).toEqual([]);
      const plan = await writeDemoPlan(dir);
      const assemble = await mal('assemble', plan, '--out', join(small, 'run'));
      expectCleanError(assemble, join(small, 'run'), /ENOSPC/);
    } finally {
      execFileSync('umount', [small]);
    }
  });
});

describe('an output replaces only a regular file, never an input of the same run', () => {
  it('refuses /dev/null and leaves it a device', async () => {
    expectCleanError(await merge('/dev/null'), '/dev/null', /is a character device/);
    expect((await lstat('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('refuses the base, the target, a hard link or a symlink to one, the ancestor and the maps', async () => {
    await link(at('base.safetensors'), at('hard-link.safetensors'));
    await symlink(at('target.safetensors'), at('soft-link.safetensors'));
    for (const [out, role] of [
      [at('base.safetensors'), 'the base model'],
      [at('target.safetensors'), 'the target model'],
      [at('hard-link.safetensors'), 'the base model'],
      [at('soft-link.safetensors'), 'the target model'],
    ]) {
      expectCleanError(await merge(out), out, new RegExp(`is ${role} of this run`));
    }
    const ancestor = await merge(
      at('hard-link.safetensors'),
      '--method',
      'task-arithmetic',
      '--ancestor',
      at('hard-link.safetensors'),
    );
    expectCleanError(ancestor, at('hard-link.safetensors'), /is the (base model|ancestor) of this run/);
    // A maps file named like a model, so that --out takes it for one file; any other name is a folder output.
    await writeFile(at('maps.safetensors'), '{}');
    const maps = at('maps.safetensors');
    expectCleanError(await merge(maps, '--maps', maps), maps, /is --maps/);
    await mkdir(at('maps-folder'));
    await writeFile(at('maps-folder/maps.json'), '{}');
    const mapsFolder = await merge(at('maps-folder'), '--maps', at('maps-folder/maps.json'));
    expectCleanError(mapsFolder, at('maps-folder'), /is the folder of --maps/);
    expectCleanError(
      await merge(at('maps-folder/maps.json')),
      at('maps-folder/maps.json'),
      /must be a folder/,
    );
    expect(Buffer.compare(await readFile(at('base.safetensors')), baseBytes)).toBe(0);
    expect(await readFile(maps, 'utf8')).toBe('{}');
    expect(await readdir(at('maps-folder'))).toEqual(['maps.json']);
  });

  it('refuses an lmc plot onto the base and an align folder whose outputs would replace an input', async () => {
    const lmc = await mal(
      'lmc',
      at('base.safetensors'),
      at('target.safetensors'),
      '--data',
      'fashion-mnist:val',
      '--plot',
      at('hard-link.safetensors'),
    );
    expectCleanError(lmc, at('hard-link.safetensors'), /is the base model of this run/);
    await mkdir(at('holds-base'));
    await writeFile(at('holds-base/aligned.safetensors'), baseBytes);
    const align = await mal(
      'align',
      at('holds-base/aligned.safetensors'),
      at('target.safetensors'),
      '--out',
      at('holds-base'),
    );
    expectCleanError(align, at('holds-base'), /is the folder of the base model/);
  });

  it("refuses an assembly output that is the base's folder, the zoo, or would replace the base", async () => {
    const plan = await writeDemoPlan(dir);
    const zoo = join(root, 'zoo/demo');
    expectCleanError(
      await mal('assemble', plan, '--out', join(zoo, 'models')),
      join(zoo, 'models'),
      /folder of/,
    );
    expectCleanError(await mal('assemble', plan, '--out', zoo), zoo, /is the zoo folder/);
    // A base outside the zoo, and an output folder whose model.safetensors is a hard link to it.
    const baseDir = at('assembly-base');
    await mkdir(baseDir);
    await writeFile(
      join(baseDir, 'base.safetensors'),
      await readFile(join(zoo, 'models/base-mlp-h128x128-fmnist-weak.safetensors')),
    );
    const ownPlan = at('own-base-plan.yaml');
    await writeFile(
      ownPlan,
      (await readFile(plan, 'utf8')).replace(/^base: .*$/m, `base: ${join(baseDir, 'base.safetensors')}`),
    );
    expectCleanError(await mal('assemble', ownPlan, '--out', baseDir), baseDir, /folder of the base model/);
    await mkdir(at('linked-out'));
    await link(join(baseDir, 'base.safetensors'), at('linked-out/model.safetensors'));
    const linked = await mal('assemble', ownPlan, '--out', at('linked-out'));
    expectCleanError(linked, at('linked-out/model.safetensors'), /is the base model of this run/);
    expect(await readdir(at('linked-out'))).toEqual(['model.safetensors']);
    expectCleanError(await mal('assemble', ownPlan, '--out', '/dev/null'), '/dev/null', /character device/);
  });
});

describe('mal align publishes its two files as one set', () => {
  it('leaves one set and two fixed links after two runs, and a new run cleans a killed one', async () => {
    const out = at('aligned');
    for (let run = 0; run < 2; run++) {
      const aligned = await mal('align', at('base.safetensors'), at('target.safetensors'), '--out', out);
      expect(aligned.code, aligned.stderr).toBe(0);
    }
    // What a run killed before publishing leaves: a staged set of a process that is gone, a temporary link.
    await mkdir(join(out, '.mal-set-999999999-0123456789ab'));
    await writeFile(join(out, '.current.999999999-ignored'), 'not ours: kept');
    await symlink('x', join(out, '.maps.json.999999999.0123456789ab.tmp'));
    const again = await mal('align', at('base.safetensors'), at('target.safetensors'), '--out', out);
    expect(again.code, again.stderr).toBe(0);
    const names = (await readdir(out)).sort();
    expect(names.filter((n) => !n.startsWith('.mal-set-'))).toEqual([
      '.current.999999999-ignored',
      'aligned.safetensors',
      'current',
      'maps.json',
    ]);
    expect(names.filter((n) => n.startsWith('.mal-set-'))).toEqual([await readlink(join(out, 'current'))]);
    expect(await readlink(join(out, 'maps.json'))).toBe('current/maps.json');
    expect(JSON.parse(await readFile(join(out, 'maps.json'), 'utf8')).version).toBe(2);
  });
});
