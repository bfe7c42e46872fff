import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderStudyReport } from '../../src/report/study-report.js';
import { FIXTURE_MODELS, ODD_ARCH, ODD_ID, studyRowsFixture } from '../study/study-rows-fixture.js';

/** Debian's Chromium: the test drives the browser a reader would use, not a downloaded build. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface Size {
  readonly width: number;
  readonly height: number;
}

async function size(locator: Locator): Promise<Size> {
  const box = await locator.boundingBox();
  return { width: box?.width ?? 0, height: box?.height ?? 0 };
}

describe('the study report in a real browser', () => {
  it('renders with no console or page error, heat maps, legends, scatter and curves drawn', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install it with \`apt-get install chromium\` (CI installs it through scripts/install-debian-packages.sh test)`,
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'mal-study-report-browser-'));
    try {
      const file = join(dir, 'study.html');
      const rows = studyRowsFixture();
      await writeFile(
        file,
        renderStudyReport(rows, {
          title: 'Study',
          studyFile: 'study.yaml',
          models: FIXTURE_MODELS,
          excludedPairs: 0,
        }),
      );
      const pageUrl = pathToFileURL(file).href;
      const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const consoleErrors: string[] = [];
        const pageErrors: string[] = [];
        const requests: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') consoleErrors.push(message.text());
        });
        page.on('pageerror', (error) => pageErrors.push(error.message));
        page.on('request', (request) => requests.push(request.url()));
        await page.setViewportSize({ width: 1200, height: 900 });
        await page.goto(pageUrl, { waitUntil: 'load' });

        expect(consoleErrors, 'console errors').toEqual([]);
        expect(pageErrors, 'page errors').toEqual([]);
        expect(requests, 'the page loads nothing but itself').toEqual([pageUrl]);

        // 3 positions × 3 relations × aligned and naive, for mean-LMC loss and for λ*.
        const maps = await page.locator('svg.heat-map').all();
        expect(maps).toHaveLength(36);
        for (const map of maps) {
          const id = (await map.getAttribute('id')) ?? '';
          const box = await size(map);
          expect(box.width, `${id} width`).toBeGreaterThan(150);
          expect(box.height, `${id} height`).toBeGreaterThan(150);
          // 4 × 4 bins, each drawn with an area; the diagonal (same architecture, same data) is empty.
          const cells = await map.locator('rect.heat-cell').all();
          expect(cells, `${id} bins`).toHaveLength(16);
          const cellBox = await size(cells[1]);
          expect(cellBox.width * cellBox.height, `${id} bin area`).toBeGreaterThan(100);
        }
        // Every label inside its map: nothing cut off at the left or top edge.
        const clipped = await page.locator('svg.heat-map').evaluateAll(
          (
            svgs: {
              getBoundingClientRect(): { left: number; top: number };
              querySelectorAll(
                s: string,
              ): ArrayLike<{ getBoundingClientRect(): { left: number; top: number } }>;
            }[],
          ) =>
            svgs.flatMap((svg) => {
              const frame = svg.getBoundingClientRect();
              return Array.from(svg.querySelectorAll('text.row-label, text.column-label'))
                .map((t) => t.getBoundingClientRect())
                .filter((b) => b.left < frame.left - 0.5 || b.top < frame.top - 0.5);
            }).length,
        );
        expect(clipped, 'labels outside their heat map').toBe(0);

        for (const id of ['legend-loss', 'legend-threshold']) {
          const legend = page.locator(`svg#${id}`);
          expect(await legend.count(), id).toBe(1);
          const box = await size(legend);
          expect(box.width, `${id} width`).toBeGreaterThan(200);
          expect(box.height, `${id} height`).toBeGreaterThan(30);
        }

        const scatter = page.locator('svg#ratio-scatter');
        const scatterBox = await size(scatter);
        expect(scatterBox.width).toBeGreaterThan(400);
        expect(scatterBox.height).toBeGreaterThan(250);
        const sides = await Promise.all(
          ['rect.narrower-into-wider', 'rect.wider-into-narrower'].map((s) => size(scatter.locator(s))),
        );
        for (const side of sides) expect(side.width * side.height).toBeGreaterThan(1000);
        expect(await scatter.locator('circle.scatter-point.aligned').count()).toBeGreaterThan(0);
        expect(await scatter.locator('circle.scatter-point.naive').count()).toBeGreaterThan(0);

        const curves = page.locator('svg#median-curves');
        expect((await size(curves)).width).toBeGreaterThan(400);
        const curve = curves.locator('path.median-curve').first();
        const length = await curve.evaluate((element: { getTotalLength(): number }) =>
          element.getTotalLength(),
        );
        expect(length).toBeGreaterThan(50);

        // The rows are collapsed until opened, then all there.
        expect(await page.locator('#study-rows').isVisible()).toBe(false);
        await page.locator('#rows summary').click();
        expect(await page.locator('#study-rows').isVisible()).toBe(true);
        expect(await page.locator('#study-rows tbody tr').count()).toBe(rows.length);

        const text = (await page.locator('body').textContent()) ?? '';
        expect(text).toContain(ODD_ID);
        expect(text).toContain(ODD_ARCH);
        expect(text).not.toContain('&amp;');
        expect(await page.locator('ol.laws li').count()).toBe(6);
      } finally {
        await context.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
