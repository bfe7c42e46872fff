import type { Lineage } from '../assembly/lineage.js';
import { escapeMarkup } from './markup-escape.js';
import { formatLambda } from './number-format.js';
import { stepColor } from './report-palette.js';

export const TRANSPLANT_DIAGRAM_ID = 'transplant-diagram';

const BOX_HEIGHT = 26;
const ROW = 34;
const BASE = { x: 16, width: 230 };
const ZOO = { x: 470, width: 430 };
const TOP = 46;
/** Characters that fit in a box at 12px; longer names are cut and shown whole in the tooltip. */
const BASE_CHARS = 32;
const ZOO_CHARS = 62;

interface Transplant {
  readonly stepNumber: number;
  readonly model: string;
  readonly zooLayer: string;
  readonly baseLayer: string;
}

/**
 * Which base layer took which zoo layer at which step: the base network as a column of boxes in network order,
 * the zoo layers taken on the right grouped by step, and an arrow from each to the layer it was merged into, in
 * the step's colour.
 *
 * `baseLayers` is the base's layers in network order (from its spec). Without it, the column lists the layers the
 * candidates name, sorted with numbers compared as numbers, which is network order for names like fc1…fc4 or
 * layers.0…layers.11 but not for every scheme: pass the spec's order when it is at hand.
 */
export function renderTransplantDiagramSvg(lineage: Lineage, baseLayers?: readonly string[]): string {
  const transplants: Transplant[] = [];
  const stepGroups: {
    stepNumber: number;
    lambda: number;
    threshold: number;
    model: string;
    rows: Transplant[];
  }[] = [];
  lineage.steps.forEach((step, i) => {
    if (step.accepted === null) return;
    const { candidate } = step.accepted;
    const rows = candidate.layers.map((zooLayer, k) => ({
      stepNumber: i + 1,
      model: candidate.model,
      zooLayer,
      baseLayer: candidate.baseLayers[k] ?? '?',
    }));
    transplants.push(...rows);
    stepGroups.push({
      stepNumber: i + 1,
      lambda: step.accepted.lambda,
      threshold: step.accepted.threshold,
      model: candidate.model,
      rows,
    });
  });
  const layers = networkOrder(lineage, baseLayers, transplants);
  const baseY = new Map(layers.map((name, i) => [name, TOP + i * ROW]));

  const out: string[] = [];
  let y = TOP - 22;
  const zooRows: { t: Transplant; y: number }[] = [];
  for (const group of stepGroups) {
    const color = stepColor(group.stepNumber);
    out.push(
      `<text x="${ZOO.x}" y="${y + 15}" font-weight="600" fill="${color}">Step ${group.stepNumber} · λ ${formatLambda(group.lambda)} (λ* ${formatLambda(group.threshold)})</text>`,
    );
    y += 22;
    for (const t of group.rows) {
      zooRows.push({ t, y });
      y += ROW;
    }
    y += 8;
  }
  const height = Math.max(TOP + layers.length * ROW, y) + 10;
  const width = ZOO.x + ZOO.width + 16;

  const defs = stepGroups.map(
    (g) =>
      `<marker id="transplant-arrow-${g.stepNumber}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${stepColor(g.stepNumber)}"/></marker>`,
  );
  const header = [
    `<text x="${BASE.x}" y="16" font-size="13" font-weight="600">Base network</text>`,
    `<text x="${BASE.x}" y="32" fill="#6b7280">input at the top</text>`,
    `<text x="${ZOO.x}" y="16" font-size="13" font-weight="600">Zoo layers merged in</text>`,
  ];
  const baseBoxes = layers.map((name) => {
    const by = baseY.get(name)!;
    const steps = [...new Set(transplants.filter((t) => t.baseLayer === name).map((t) => t.stepNumber))];
    const badges = steps.map((n, k) => {
      const cx = BASE.x + BASE.width - 12 - k * 20;
      return `<circle cx="${cx}" cy="${by + BOX_HEIGHT / 2}" r="8" fill="${stepColor(n)}"/><text x="${cx}" y="${by + BOX_HEIGHT / 2 + 4}" text-anchor="middle" fill="white" font-size="10" font-weight="700">${n}</text>`;
    });
    const fill = steps.length > 0 ? '#f1f5fb' : '#ffffff';
    const room = BASE_CHARS - 3 * steps.length;
    return [
      `<g class="base-layer"><title>${escapeMarkup(name)}</title>`,
      `<rect x="${BASE.x}" y="${by}" width="${BASE.width}" height="${BOX_HEIGHT}" rx="4" fill="${fill}" stroke="#6b7280"/>`,
      `<text x="${BASE.x + 8}" y="${by + 17}" font-family="ui-monospace, monospace">${escapeMarkup(cut(name, room))}</text>`,
      ...badges,
      '</g>',
    ].join('');
  });
  const zooBoxes = zooRows.map(({ t, y: zy }) => {
    const color = stepColor(t.stepNumber);
    const label = `${t.model} / ${t.zooLayer}`;
    const targetY = (baseY.get(t.baseLayer) ?? TOP) + BOX_HEIGHT / 2;
    const startX = ZOO.x;
    const startY = zy + BOX_HEIGHT / 2;
    const endX = BASE.x + BASE.width + 2;
    const midX = (startX + endX) / 2;
    return [
      `<g class="transplant" data-step="${t.stepNumber}"><title>${escapeMarkup(`step ${t.stepNumber}: ${t.model} layer ${t.zooLayer} → base layer ${t.baseLayer}`)}</title>`,
      `<path d="M${startX},${startY} C${midX},${startY} ${midX},${targetY} ${endX},${targetY}" fill="none" stroke="${color}" stroke-width="2" marker-end="url(#transplant-arrow-${t.stepNumber})"/>`,
      `<rect x="${ZOO.x}" y="${zy}" width="${ZOO.width}" height="${BOX_HEIGHT}" rx="4" fill="white" stroke="${color}" stroke-width="1.5"/>`,
      `<rect x="${ZOO.x}" y="${zy}" width="6" height="${BOX_HEIGHT}" rx="2" fill="${color}"/>`,
      `<text x="${ZOO.x + 14}" y="${zy + 17}" font-family="ui-monospace, monospace">${escapeMarkup(cut(label, ZOO_CHARS))}</text>`,
      '</g>',
    ].join('');
  });
  const empty =
    stepGroups.length === 0
      ? [
          `<text x="${ZOO.x}" y="${TOP + 17}" fill="#6b7280">No step was accepted: the base is unchanged.</text>`,
        ]
      : [];
  return [
    `<svg id="${TRANSPLANT_DIAGRAM_ID}" class="transplant-diagram" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="system-ui, sans-serif" font-size="12">`,
    '<title>Which base layer took which zoo layer at which step</title>',
    `<defs>${defs.join('')}</defs>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...header,
    ...out,
    ...baseBoxes,
    ...zooBoxes,
    ...empty,
    '</svg>',
  ].join('\n');
}

function networkOrder(
  lineage: Lineage,
  baseLayers: readonly string[] | undefined,
  transplants: readonly Transplant[],
): string[] {
  const named = new Set<string>(baseLayers ?? []);
  if (baseLayers === undefined) {
    for (const step of lineage.steps) {
      const candidates = [
        ...step.scored.map((s) => s.candidate),
        ...step.pruned.map((p) => p.candidate),
        ...step.failed.map((f) => f.candidate),
      ];
      for (const c of candidates) for (const layer of c.baseLayers) named.add(layer);
    }
  }
  for (const t of transplants) named.add(t.baseLayer);
  const layers = [...named];
  return baseLayers === undefined ? layers.sort(naturalOrder) : layers;
}

/** Names compared with their numbers as numbers (fc2 before fc10, layers.2 before layers.10): network order for the usual naming schemes. */
function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function cut(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, Math.max(1, chars - 1))}…`;
}
