import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStudy } from '../../src/study/run-study.js';
import { parseStudyFile, StudyError } from '../../src/study/study-file.js';
import { scratch } from './study-fixtures.js';

describe("a study's output folder", () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await scratch();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  const study = () =>
    parseStudyFile(
      `datasets: [{name: fmnist, train: fashion-mnist:train, eval: fashion-mnist:test}]
zoo: {folder: zoo}
`,
      join(dir.path, 'study.yaml'),
    );

  it.each([
    ['the zoo folder', 'zoo'],
    ['a folder inside the zoo', 'zoo/models/study'],
  ])('may not be %s: refused, naming both, before anything is written', async (_what, out) => {
    const path = join(dir.path, out);
    const run = runStudy(study(), { out: path, threads: 1, backend: 'cpu' });
    await expect(run).rejects.toThrow(StudyError);
    await expect(run).rejects.toThrow(
      `${join(dir.path, 'study.yaml')}: out: '${path}' is inside the zoo folder '${join(dir.path, 'zoo')}'`,
    );
    expect(existsSync(join(dir.path, 'zoo'))).toBe(false);
  });
});
