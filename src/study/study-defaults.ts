import type { AlignmentSettings } from '../assembly/assembly-plan.js';
import { alignmentSettingsSchema } from '../assembly/plan-schema.js';

/** The plan's alignment settings with every default: what a study aligns with unless its file says otherwise. */
export function defaultAlignmentSettings(): AlignmentSettings {
  return alignmentSettingsSchema.parse({});
}
