import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundle `npm run build` writes after tsc (scripts/bundle-workflows.js), relative to the compiled tree. */
export const WORKFLOW_BUNDLE = join('workflows', 'workflow-bundle.js');

/**
 * The workflow bundle's entry: the compiled file next to this one in dist/, or the TypeScript source when this
 * module itself runs from source (tests); the bundler resolves `.js` imports to `.ts` either way.
 */
export function workflowsEntry(): string {
  const compiled = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
  return existsSync(compiled)
    ? compiled
    : fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
}

/**
 * What a Temporal worker runs its workflows from: the prebuilt bundle when it is newer than every compiled file
 * of `tree`, else the entry, bundled at start-up (about 2.5 s on two cores, at every start and restart). A tree
 * compiled again after the bundle was written (`tsc` alone) falls back, so a stale bundle never runs.
 */
export function workflowCode(
  tree = fileURLToPath(new URL('../../', import.meta.url)),
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = join(tree, WORKFLOW_BUNDLE);
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestCompiledFile(tree, bundle)) {
    return { workflowBundle: { codePath: bundle } };
  }
  return { workflowsPath: workflowsEntry() };
}

/** The latest modification time of a `.js` file under `folder`, leaving out `except`. */
function newestCompiledFile(folder: string, except: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestCompiledFile(path, except));
    else if (entry.name.endsWith('.js') && path !== except) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
