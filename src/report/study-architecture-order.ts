import type { StudyModelInfo, StudyRow } from '../study/study-row.js';

/**
 * The heat maps' axis order: architectures by width, then depth, then label, so neighbouring rows and columns
 * are neighbouring sizes and a width trend shows as a gradient rather than as alphabetical noise. An
 * architecture's width is the mean width of the spaces its transplants touched over all its cells (the labels are
 * free text, so the rows, not the names, say how wide a model is); one with no cells goes after those with some.
 */
export function architectureOrder(rows: readonly StudyRow[], models: readonly StudyModelInfo[]): string[] {
  const widths = new Map<string, { sum: number; count: number }>();
  const depths = new Map<string, number>();
  const addWidth = (arch: string, width: number) => {
    if (!Number.isFinite(width)) return;
    const w = widths.get(arch) ?? { sum: 0, count: 0 };
    w.sum += width;
    w.count++;
    widths.set(arch, w);
  };
  const addDepth = (arch: string, depth: number) => depths.set(arch, Math.max(depths.get(arch) ?? 0, depth));
  for (const row of rows) {
    addWidth(row.baseArch, row.baseWidth);
    addWidth(row.targetArch, row.targetWidth);
    addDepth(row.baseArch, row.baseDepth);
    addDepth(row.targetArch, row.targetDepth);
  }
  for (const model of models) addDepth(model.arch, model.depth);
  const width = (arch: string) => {
    const w = widths.get(arch);
    return w === undefined ? Number.POSITIVE_INFINITY : w.sum / w.count;
  };
  return [...depths.keys()].sort(
    (a, b) =>
      width(a) - width(b) ||
      // Two unknown widths: Infinity − Infinity is NaN, which `||` passes over to the depth.
      (depths.get(a) ?? 0) - (depths.get(b) ?? 0) ||
      (a < b ? -1 : a > b ? 1 : 0),
  );
}
