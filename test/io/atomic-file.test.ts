import { mkdir, readdir, readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withAtomicFile, writeFileAtomic } from '../../src/io/atomic-file.js';
import { type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

describe('writeFileAtomic', () => {
  it('writes strings as UTF-8 and bytes as they are', async () => {
    await writeFileAtomic(scratch.file('a.json'), '{"λ":0.5}');
    expect(await readFile(scratch.file('a.json'), 'utf8')).toBe('{"λ":0.5}');
    await writeFileAtomic(scratch.file('b.bin'), Uint8Array.of(0, 255, 1));
    expect(Array.from(await readFile(scratch.file('b.bin')))).toEqual([0, 255, 1]);
    expect((await readdir(scratch.path)).sort()).toEqual(['a.json', 'b.bin']);
  });

  it('replaces an existing file', async () => {
    const path = await scratch.write('r.json', 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('creates missing folders on the way to the file', async () => {
    await writeFileAtomic(scratch.file('no/such/folder/x.json'), 'x');
    expect(await readdir(scratch.file('no/such/folder'))).toEqual(['x.json']);
  });

  it('fails with the path named when the folder cannot be created, leaving nothing behind', async () => {
    await writeFileAtomic(scratch.file('plain'), 'p');
    await expect(writeFileAtomic(scratch.file('plain/x.json'), 'x')).rejects.toThrow(
      /plain\/x\.json.*cannot create its folder/,
    );
    expect(await readdir(scratch.path)).toEqual(['plain']);
  });

  it('fails when the final name is a folder, removing the temporary file', async () => {
    await writeFileAtomic(scratch.file('keep.txt'), 'k');
    await mkdir(scratch.file('dir'));
    await expect(writeFileAtomic(scratch.file('dir'), 'x')).rejects.toThrow(/is a folder/);
    expect((await readdir(scratch.path)).sort()).toEqual(['dir', 'keep.txt']);
  });
});

describe('withAtomicFile', () => {
  it('removes the temporary file and keeps the old file when the writer throws after writing', async () => {
    const path = await scratch.write('w.txt', 'old');
    await expect(
      withAtomicFile(path, async (handle) => {
        await handle.write('partial');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(scratch.path)).toEqual(['w.txt']);
  });

  it('returns what the writer returns', async () => {
    expect(await withAtomicFile(scratch.file('v.txt'), async () => 42)).toBe(42);
    expect(await readFile(scratch.file('v.txt'), 'utf8')).toBe('');
  });
});
