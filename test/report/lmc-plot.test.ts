import { describe, expect, it } from 'vitest';
import { renderLmcPlotSvg } from '../../src/report/lmc-plot.js';

describe('renderLmcPlotSvg', () => {
  const points = [0, 0.5, 1].map((lambda) => ({ lambda, loss: 1 + lambda, accuracy: 0.9 - lambda / 10 }));

  it('draws a loss panel and an accuracy panel with one line per series and λ* dashed', () => {
    const svg = renderLmcPlotSvg('a <b> & c', [
      { label: 'aligned', points, threshold: 0.5 },
      { label: 'naive', points },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('class="panel-loss"');
    expect(svg).toContain('class="panel-accuracy"');
    expect(svg.match(/<path /g)).toHaveLength(4);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg).toContain('aligned (λ* = 0.5)');
    expect(svg).not.toContain('NaN');
  });

  it('is an image with a title and a description for assistive technology', () => {
    const svg = renderLmcPlotSvg('a ← b', [{ label: 'aligned', points, threshold: 0.5 }]);
    expect(svg).toMatch(
      /^<svg [^>]*role="img" aria-labelledby="lmc-plot-title" aria-describedby="lmc-plot-desc"/,
    );
    expect(svg).toContain('<title id="lmc-plot-title">Linear mode connectivity: a ← b</title>');
    expect(svg).toMatch(
      /<desc id="lmc-plot-desc">Loss \(cross-entropy, lower is better\) and accuracy \(higher is better\).*aligned: loss 1\.000 at λ = 0 and 2\.000 at λ = 1, highest 2\.000 at λ = 1; accuracy 90\.0% and 80\.0%\. λ\* = 0\.5\.<\/desc>/,
    );
  });

  it('copes with a flat curve', () => {
    const flat = [0, 1].map((lambda) => ({ lambda, loss: 2, accuracy: 1 }));
    expect(renderLmcPlotSvg('flat', [{ label: 'x', points: flat }])).not.toContain('NaN');
  });
});
