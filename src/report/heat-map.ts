import { escapeMarkup } from './markup-escape.js';
import type { ColorScale } from './sequential-color-scale.js';
import { colorAt, EMPTY_FILL, inkOn } from './sequential-color-scale.js';

/*
 * A hand-written SVG heat map: a matrix of bins, each coloured by its value on a shared scale, its value printed
 * when the bin is big enough to hold it, and an empty bin drawn as such rather than coloured like a value.
 */

export interface HeatMapBin {
  /** The bin's value; undefined when no cell (or no finite value) fell in it. */
  readonly value: number | undefined;
  /** How many cells fell in the bin. */
  readonly count: number;
  /** How many of them had a finite value: the value summarises these. */
  readonly finite: number;
}

export interface HeatMapOptions {
  /** Unique in the page. */
  readonly id: string;
  readonly className?: string;
  /** Drawn above the matrix. */
  readonly title: string;
  /** Read out by screen readers. */
  readonly description: string;
  readonly rowLabels: readonly string[];
  readonly columnLabels: readonly string[];
  /** bins[row][column]. */
  readonly bins: readonly (readonly HeatMapBin[])[];
  readonly scale: ColorScale;
  readonly format: (value: number) => string;
  /** Names the value in each bin's tooltip, e.g. "median mean-LMC loss". */
  readonly valueName: string;
}

/** Bins at least this wide print their value. */
const VALUE_MIN_CELL = 34;
/** Width of a character at 11px, generous for markup characters, to size the label margins without measuring. */
const CHAR = 7;
const LABEL_CHARS = 22;

export function renderHeatMapSvg(options: HeatMapOptions): string {
  const n = Math.max(options.rowLabels.length, options.columnLabels.length, 1);
  const cell = Math.max(18, Math.min(40, Math.floor(320 / n)));
  const rowLabels = options.rowLabels.map(shorten);
  const columnLabels = options.columnLabels.map(shorten);
  const longest = (labels: readonly string[]) => Math.max(4, ...labels.map((l) => l.length)) * CHAR;
  const left = 12 + longest(rowLabels);
  // Column labels are turned 45°: their height is their length times sin 45°.
  const top = 30 + longest(columnLabels) * Math.SQRT1_2 + 8;
  // The last column's label leans right, past the matrix, by about one cell.
  const width = Math.ceil(left + (options.columnLabels.length + 1) * cell + 8);
  const height = Math.ceil(top + options.rowLabels.length * cell + 10);
  const cls = ['heat-map', options.className ?? ''].join(' ').trim();
  const out = [
    `<svg id="${escapeMarkup(options.id)}" class="${escapeMarkup(cls)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${escapeMarkup(`${options.id}-title`)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title id="${escapeMarkup(`${options.id}-title`)}">${escapeMarkup(options.description)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${fmt(left)}" y="16" font-size="13" font-weight="600">${escapeMarkup(options.title)}</text>`,
  ];
  options.columnLabels.forEach((label, j) => {
    const x = left + (j + 0.5) * cell;
    out.push(
      `<text class="column-label" x="${fmt(x)}" y="${fmt(top - 6)}" transform="rotate(-45 ${fmt(x)} ${fmt(top - 6)})">${escapeMarkup(columnLabels[j])}<title>${escapeMarkup(label)}</title></text>`,
    );
  });
  options.rowLabels.forEach((label, i) => {
    const y = top + (i + 0.5) * cell + 4;
    out.push(
      `<text class="row-label" x="${fmt(left - 6)}" y="${fmt(y)}" text-anchor="end">${escapeMarkup(rowLabels[i])}<title>${escapeMarkup(label)}</title></text>`,
    );
  });
  options.rowLabels.forEach((rowLabel, i) => {
    options.columnLabels.forEach((columnLabel, j) => {
      const bin = options.bins[i]?.[j] ?? { value: undefined, count: 0, finite: 0 };
      const x = left + j * cell;
      const y = top + i * cell;
      const where = `${rowLabel} → ${columnLabel}`;
      if (bin.value === undefined) {
        const why =
          bin.count === 0 ? 'no cells' : `${bin.count} cell${bin.count === 1 ? '' : 's'}, none finite`;
        out.push(
          `<rect class="heat-cell empty" x="${fmt(x)}" y="${fmt(y)}" width="${cell}" height="${cell}" fill="${EMPTY_FILL}" stroke="white"><title>${escapeMarkup(`${where}: ${why}`)}</title></rect>`,
          `<line x1="${fmt(x + cell * 0.3)}" x2="${fmt(x + cell * 0.7)}" y1="${fmt(y + cell * 0.7)}" y2="${fmt(y + cell * 0.3)}" stroke="#c4c9cf"/>`,
        );
        return;
      }
      const text = options.format(bin.value);
      const over =
        bin.finite === bin.count
          ? `${bin.count} cell${bin.count === 1 ? '' : 's'}`
          : `${bin.finite} of ${bin.count} cells (${bin.count - bin.finite} not finite)`;
      out.push(
        `<rect class="heat-cell" x="${fmt(x)}" y="${fmt(y)}" width="${cell}" height="${cell}" fill="${colorAt(options.scale, bin.value)}" stroke="white"><title>${escapeMarkup(`${where}: ${options.valueName} ${text} over ${over}`)}</title></rect>`,
      );
      if (cell >= VALUE_MIN_CELL) {
        out.push(
          `<text class="heat-value" x="${fmt(x + cell / 2)}" y="${fmt(y + cell / 2 + 4)}" text-anchor="middle" fill="${inkOn(options.scale, bin.value)}" pointer-events="none">${escapeMarkup(text)}</text>`,
        );
      }
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

/** A long label cut to fit the margin; the whole label stays in its tooltip. */
function shorten(label: string): string {
  return label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label;
}

function fmt(v: number): string {
  return v.toFixed(1);
}
