import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORKFLOW_BUNDLE, workflowCode, workflowsEntry } from '../../workers/temporal/workflow-code.js';
import { malFromDist, root } from '../support/mal-cli.js';

let tree: string;

beforeEach(async () => {
  tree = await mkdtemp(join(tmpdir(), 'mal-workflow-code-'));
  await mkdir(join(tree, 'workflows'));
  await mkdir(join(tree, 'src', 'merge'), { recursive: true });
  await writeFile(join(tree, 'workflows', 'index.js'), '');
  await writeFile(join(tree, 'src', 'merge', 'deep.js'), '');
  await writeFile(join(tree, WORKFLOW_BUNDLE), '');
});

afterEach(async () => {
  await rm(tree, { recursive: true, force: true });
});

/** Sets a file's modification time `seconds` from now. */
async function touch(path: string, seconds: number): Promise<void> {
  const when = new Date(Date.now() + seconds * 1000);
  await utimes(path, when, when);
}

describe('workflowCode', () => {
  it('runs the prebuilt bundle while it is newer than every compiled file', async () => {
    await touch(join(tree, 'workflows', 'index.js'), -20);
    await touch(join(tree, 'src', 'merge', 'deep.js'), -20);
    expect(workflowCode(tree)).toEqual({ workflowBundle: { codePath: join(tree, WORKFLOW_BUNDLE) } });
  });

  it('bundles at start-up when any compiled file, however deep, is newer than the bundle', async () => {
    await touch(join(tree, 'workflows', 'index.js'), -20);
    await touch(join(tree, 'src', 'merge', 'deep.js'), 20);
    expect(workflowCode(tree)).toEqual({ workflowsPath: workflowsEntry() });
  });

  it('bundles at start-up when there is no bundle', async () => {
    await rm(join(tree, WORKFLOW_BUNDLE));
    expect(workflowCode(tree)).toEqual({ workflowsPath: workflowsEntry() });
  });

  it('finds the bundle npm run build has just written in dist/, newer than the rest', (context) => {
    if (!malFromDist) context.skip('runs under npm test, which builds dist/ just before the tests');
    const dist = join(root, 'dist');
    expect(workflowCode(dist)).toEqual({ workflowBundle: { codePath: join(dist, WORKFLOW_BUNDLE) } });
  });
});
