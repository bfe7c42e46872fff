import { describe, expect, it } from 'vitest';
import {
  colorAt,
  colorScaleOver,
  inkOn,
  renderColorLegendSvg,
} from '../../src/report/sequential-color-scale.js';

describe('the sequential colour scale', () => {
  const scale = { min: 0, max: 1 };

  it('runs from viridis’s dark purple to its yellow, and clamps outside the range', () => {
    expect(colorAt(scale, 0)).toBe('#440154');
    expect(colorAt(scale, 1)).toBe('#fde725');
    expect(colorAt(scale, 0.5)).toBe('#21908d');
    expect(colorAt(scale, -3)).toBe('#440154');
    expect(colorAt(scale, 7)).toBe('#fde725');
  });

  it('interpolates between stops: halfway from stop 0 to stop 1 of eight intervals', () => {
    // (68, 1, 84) and (71, 44, 122): halfway is (69.5, 22.5, 103), rounded to (70, 23, 103).
    expect(colorAt(scale, 1 / 16)).toBe('#461767');
  });

  it('writes white on the dark end and black on the light end', () => {
    expect(inkOn(scale, 0)).toBe('#ffffff');
    expect(inkOn(scale, 1)).toBe('#111111');
  });

  it('spans the finite values, and widens a single value so it sits mid-scale', () => {
    expect(colorScaleOver([0.4, Number.NaN, 0.9, 0.2])).toEqual({ min: 0.2, max: 0.9 });
    expect(colorScaleOver([0.3, 0.3])).toEqual({ min: -0.2, max: 0.8 });
    expect(colorScaleOver([])).toEqual({ min: 0, max: 1 });
    expect(colorScaleOver([5], { min: 0, max: 1 })).toEqual({ min: 0, max: 1 });
  });

  it('draws a legend with five ticks over the range and a swatch for empty bins', () => {
    const svg = renderColorLegendSvg({
      id: 'l',
      label: 'loss <x>',
      scale: { min: 0, max: 2 },
      format: (v) => v.toFixed(1),
    });
    expect([...svg.matchAll(/class="legend-tick"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual([
      '0.0',
      '0.5',
      '1.0',
      '1.5',
      '2.0',
    ]);
    expect(svg).toContain('loss &lt;x&gt;');
    expect(svg).toContain('class="legend-empty"');
  });
});
