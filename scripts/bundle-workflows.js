// Bundles the compiled workflows (dist/workflows/index.js) once at build time into dist/workflows/workflow-bundle.js,
// so a Temporal worker starts without bundling them itself (workers/temporal/workflow-code.ts uses it while it is
// newer than every compiled file). Run by `npm run build` after tsc.
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist', 'workflows', 'workflow-bundle.js');
const { code } = await bundleWorkflowCode({
  workflowsPath: join(root, 'dist', 'workflows', 'index.js'),
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
});
// Renamed into place: a worker starting meanwhile sees the old bundle or the whole new one.
await writeFile(`${target}.tmp`, code);
await rename(`${target}.tmp`, target);
