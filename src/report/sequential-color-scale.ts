import { escapeMarkup } from './markup-escape.js';

/*
 * A sequential colour scale for the study's heat maps: viridis, which reads in order in grey print and to readers
 * with red-green colour blindness, sampled at nine stops and interpolated linearly between them.
 */

const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

export interface ColorScale {
  readonly min: number;
  readonly max: number;
}

/** A scale over the finite values, widened when they are all equal so the one colour is the middle one. */
export function colorScaleOver(values: readonly number[], fixed?: ColorScale): ColorScale {
  if (fixed !== undefined) return fixed;
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { min: 0, max: 1 };
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return max - min < 1e-12 ? { min: min - 0.5, max: max + 0.5 } : { min, max };
}

function rgbAt(scale: ColorScale, value: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, (value - scale.min) / (scale.max - scale.min)));
  const position = t * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(position));
  const f = position - i;
  return [0, 1, 2].map((c) => Math.round(VIRIDIS[i][c] + f * (VIRIDIS[i + 1][c] - VIRIDIS[i][c]))) as [
    number,
    number,
    number,
  ];
}

/** The fill for `value`, as #rrggbb; values outside the scale take its end colours. */
export function colorAt(scale: ColorScale, value: number): string {
  return `#${rgbAt(scale, value)
    .map((c) => c.toString(16).padStart(2, '0'))
    .join('')}`;
}

/** Black or white, whichever reads better on the colour `value` gets (by relative luminance). */
export function inkOn(scale: ColorScale, value: number): string {
  const [r, g, b] = rgbAt(scale, value).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.22 ? '#111111' : '#ffffff';
}

export interface ColorLegendOptions {
  readonly id: string;
  readonly label: string;
  readonly scale: ColorScale;
  readonly format: (value: number) => string;
  /** Shown beside the bar: which end is better. */
  readonly note?: string;
}

/** A horizontal bar of the scale with five labelled ticks and a swatch for empty bins. */
export function renderColorLegendSvg(options: ColorLegendOptions): string {
  const steps = 60;
  const bar = { x: 10, y: 22, width: 300, height: 14 };
  const width = bar.x + bar.width + 150;
  const height = 62;
  const { min, max } = options.scale;
  const parts = [
    `<svg id="${escapeMarkup(options.id)}" class="color-legend" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeMarkup(`${options.label}: colour scale from ${options.format(min)} to ${options.format(max)}`)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<text x="${bar.x}" y="14" font-weight="600">${escapeMarkup(options.label)}${options.note === undefined ? '' : `<tspan font-weight="400" fill="#6b7280"> · ${escapeMarkup(options.note)}</tspan>`}</text>`,
  ];
  for (let i = 0; i < steps; i++) {
    const value = min + ((i + 0.5) / steps) * (max - min);
    parts.push(
      `<rect x="${(bar.x + (i * bar.width) / steps).toFixed(1)}" y="${bar.y}" width="${(bar.width / steps + 0.4).toFixed(1)}" height="${bar.height}" fill="${colorAt(options.scale, value)}"/>`,
    );
  }
  parts.push(
    `<rect x="${bar.x}" y="${bar.y}" width="${bar.width}" height="${bar.height}" fill="none" stroke="#9aa0a6"/>`,
  );
  for (let k = 0; k <= 4; k++) {
    const x = bar.x + (k / 4) * bar.width;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${bar.y + bar.height}" y2="${bar.y + bar.height + 4}" stroke="#6b7280"/>`,
      `<text class="legend-tick" x="${x.toFixed(1)}" y="${bar.y + bar.height + 16}" text-anchor="middle">${escapeMarkup(options.format(min + (k / 4) * (max - min)))}</text>`,
    );
  }
  const sx = bar.x + bar.width + 24;
  parts.push(
    `<rect class="legend-empty" x="${sx}" y="${bar.y}" width="${bar.height}" height="${bar.height}" fill="${EMPTY_FILL}" stroke="#c4c9cf"/>`,
    `<text x="${sx + bar.height + 6}" y="${bar.y + 11}">no cells</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

/** The fill of a heat-map bin with no cells in it. */
export const EMPTY_FILL = '#f3f4f6';
