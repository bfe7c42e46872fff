import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { CONFORMANCE_CASES, type Verdict } from './safetensors-conformance-cases.js';
import { type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeAll(async () => {
  scratch = await scratchFolder();
});
afterAll(async () => {
  await scratch.remove();
});

/** Our reader's verdict; an accepted file must also give every tensor's bytes, a refused one an InvalidFileError. */
async function judge(path: string): Promise<Verdict> {
  let reader: SafetensorsReader;
  try {
    reader = await SafetensorsReader.open(path);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFileError);
    expect((error as InvalidFileError).message).toContain(path);
    return 'refuse';
  }
  try {
    for (const name of reader.tensorNames()) {
      const { begin, end } = reader.entry(name);
      expect((await reader.read(name)).bytes.length).toBe(end - begin);
    }
  } finally {
    await reader.close();
  }
  return 'accept';
}

describe('SafetensorsReader agrees with the reference implementation', () => {
  it('has cases of both verdicts, each naming its source', () => {
    expect(CONFORMANCE_CASES.filter((c) => c.verdict === 'accept').length).toBeGreaterThan(20);
    expect(CONFORMANCE_CASES.filter((c) => c.verdict === 'refuse').length).toBeGreaterThan(20);
    for (const c of CONFORMANCE_CASES) expect(c.source).toMatch(/^(safetensors\/src|bindings\/python)/);
  });

  it.each(CONFORMANCE_CASES.map((c, i) => [c.name, c.source, i] as const))(
    '%s (%s)',
    async (_name, _source, index) => {
      const c = CONFORMANCE_CASES[index];
      const path = await scratch.write(`case-${index}.safetensors`, c.bytes);
      const ours = await judge(path);
      if (c.deviation === undefined) expect(ours).toBe(c.verdict);
      else expect(ours).not.toBe(c.verdict);
    },
  );
});
