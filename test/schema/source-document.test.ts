import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/assembly/plan-error.js';
import { loadPlanFile, parsePlanFile } from '../../src/assembly/plan-file.js';
import { MAX_SOURCE_BYTES } from '../../src/schema/source-document.js';
import { runMal } from '../support/run-mal.js';

/** Nine levels of aliases, each a list of nine of the one before: 9^9 strings once expanded. */
const aliasBomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ...Array.from({ length: 8 }, (_, k) => {
    const name = String.fromCharCode(98 + k);
    const previous = String.fromCharCode(97 + k);
    return `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`;
  }),
].join('\n');

function failure(text: string, file = 'plan.yaml'): Error {
  try {
    parsePlanFile(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as Error;
  }
  throw new Error('accepted');
}

describe('YAML and JSON documents that would exhaust the parser are refused cleanly', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mal-source-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an alias bomb (yaml threw a ReferenceError: exit 70 with a stack)', async () => {
    expect(failure(aliasBomb).message).toBe(
      'plan.yaml: too many YAML aliases (their expansion passes 100 copies)',
    );
    const path = join(dir, 'bomb.yaml');
    await writeFile(path, aliasBomb);
    const run = await runMal(['plan', 'check', path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path}: too many YAML aliases`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('deep brackets (a million took seconds and gigabytes)', () => {
    const deep = `${'['.repeat(500_000)}${']'.repeat(500_000)}`;
    expect(failure(deep).message).toBe('plan.yaml:1: brackets nested more than 64 deep');
    expect(failure(deep, 'plan.json').message).toBe('plan.json:1: brackets nested more than 64 deep');
  });

  it('content far to the right (`? ? ? …` exhausted the heap in the lexer)', () => {
    expect(failure(`${'? '.repeat(100_000)}x`).message).toMatch(
      /^plan\.yaml:1: content starts beyond column 256/,
    );
    const stairs = Array.from({ length: 300 }, (_, k) => `${' '.repeat(k)}a:`).join('\n');
    expect(failure(stairs).message).toMatch(/^plan\.yaml:258: content starts beyond column 256/);
  });

  it('a file over the size limit, refused before it is read', async () => {
    const path = join(dir, 'huge.yaml');
    await writeFile(path, `# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`);
    await expect(loadPlanFile(path)).rejects.toThrow(
      `${path}: ${MAX_SOURCE_BYTES + 3} bytes, over the ${MAX_SOURCE_BYTES}-byte limit of a plan or spec file`,
    );
    await expect(loadPlanFile(dir)).rejects.toThrow(`${dir}: cannot read plan file: not a regular file`);
  });
});
