import { describe, expect, it } from 'vitest';
import { niceTicks, renderLineChartSvg } from '../../src/report/line-chart.js';

describe('niceTicks', () => {
  it('gives round steps of 1, 2 or 5 times a power of ten inside the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.27, 0.41, 5)).toEqual([0.3, 0.35, 0.4]);
    expect(niceTicks(-3, 7, 5)).toEqual([-2, 0, 2, 4, 6]);
  });
});

describe('renderLineChartSvg', () => {
  const svg = renderLineChartSvg({
    id: 'c<1>',
    description: 'a & b',
    panels: [
      {
        xLabel: 'x',
        yLabel: 'y',
        series: [
          {
            label: 's<1>',
            color: '#123456',
            points: [
              { x: 0, y: 1 },
              { x: 1, y: 2 },
              { x: 2, y: Number.NaN },
              { x: 3, y: 1.5 },
              { x: 4, y: 1 },
            ],
          },
          {
            label: 'far',
            color: '#999999',
            outsideRange: true,
            points: [
              { x: 0, y: 100 },
              { x: 4, y: 200 },
            ],
          },
        ],
        verticals: [{ at: 1, label: 'v', color: '#ff0000', dashed: true }],
      },
    ],
  });

  it('is inline SVG (no xmlns, no URL) with escaped text and an id', () => {
    expect(svg.startsWith('<svg id="c&lt;1&gt;" class="line-chart"')).toBe(true);
    expect(svg).not.toContain('http');
    expect(svg).toContain('role="img" aria-labelledby="c&lt;1&gt;-title"');
    expect(svg).toContain('<title id="c&lt;1&gt;-title">a &amp; b</title>');
    expect(svg).toContain('s&lt;1&gt;');
  });

  it('breaks a line at a non-finite value instead of drawing it', () => {
    const d = svg.match(/<path d="([^"]+)" fill="none" stroke="#123456"/)![1];
    expect(d.match(/M/g)).toHaveLength(2);
    expect(d.match(/L/g)).toHaveLength(2);
    expect(svg).not.toContain('NaN');
  });

  it('keeps an outside-range series out of the y axis and clips it to the plot', () => {
    // The y ticks cover the main series (1 to 2), not the far one (100 to 200).
    expect(svg).toContain('>2.0</text>');
    expect(svg).not.toContain('>100</text>');
    expect(svg).toContain('clip-path="url(#c&lt;1&gt;-clip-0)"');
  });
});
