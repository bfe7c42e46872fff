/**
 * Writes the files generated from the plan and spec schemas: docs/schema/plan.schema.json,
 * docs/schema/spec.schema.json and docs/plan-format.md. Run after changing a schema:
 * `npx tsx scripts/generate-schemas.ts` (test/schema/generated-files.test.ts fails until you do).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generatedSchemaFiles } from '../src/schema/schema-files.js';

const root = join(import.meta.dirname, '..');
for (const [path, content] of generatedSchemaFiles()) {
  await writeFile(join(root, path), content);
  console.log(`wrote ${path}`);
}
