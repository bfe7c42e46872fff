import { formatSeconds } from '../../src/cli/progress-bar.js';
import type { StudyProgress } from '../../workflows/study-types.js';

/** `measuring: cells 24/96, pairs 4/16, 1.8 cells/s, about 40s left`: a study run's progress in one line. */
export function describeStudyProgress(p: StudyProgress): string {
  const cells = `cells ${p.cellsDone}/${p.cells ?? '?'}`;
  const pairs = `pairs ${p.pairsDone}/${p.pairs ?? '?'}`;
  const rate = p.rate > 0 ? `, ${p.rate.toFixed(2)} cells/s` : '';
  const eta = p.etaSeconds === null ? '' : `, about ${formatSeconds(p.etaSeconds)} left`;
  const failed = p.failed > 0 ? `, ${p.failed} failed` : '';
  return `${p.phase}: ${cells}, ${pairs}${rate}${eta}${failed}`;
}
