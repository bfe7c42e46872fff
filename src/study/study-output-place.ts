import { resolve } from 'node:path';
import { isInside } from '../zoo/zoo-paths.js';
import { StudyError } from './study-file.js';
import type { Study } from './study-schema.js';

/**
 * Refuses an output folder that is the zoo folder or lies inside it: a zoo holds models and its manifest, and a
 * study's cells, tables and report written there would travel with the zoo (copied, added, verified) as if they
 * were part of it. Checked before anything is written.
 */
export function checkStudyOutputPlace(study: Study, out: string): void {
  const zoo = resolve(study.zoo.folder);
  const folder = resolve(out);
  if (isInside(zoo, folder)) {
    throw new StudyError(
      `${study.file}: out: '${folder}' is inside the zoo folder '${zoo}'; write the study outside the zoo (give another out, or --out)`,
    );
  }
}
