import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderAssemblyReport } from '../../src/report/assembly-report.js';
import { lineageFixture, WIDE_ID } from './lineage-fixture.js';

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

interface RenderedChart {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Points in the longest path's `d`, and that path's rendered length. */
  readonly pathPoints: number;
  readonly pathLength: number;
}

interface PageFacts {
  readonly objectiveChart: RenderedChart | null;
  readonly lambdaCurves: (RenderedChart | null)[];
  readonly diagram: RenderedChart | null;
  readonly tableRows: number;
  readonly text: string;
}

/** A chart's rendered size and its longest path, or null when the page lacks it. */
async function measureChart(svg: Locator): Promise<RenderedChart | null> {
  if ((await svg.count()) !== 1) return null;
  const box = await svg.boundingBox();
  let pathPoints = 0;
  let pathLength = 0;
  for (const path of await svg.locator('path').all()) {
    const points = (await path.getAttribute('d'))?.match(/-?\d+(\.\d+)?,-?\d+(\.\d+)?/g)?.length ?? 0;
    if (points > pathPoints) {
      pathPoints = points;
      // Typed by hand: the project compiles without the DOM's types, and the function runs in the browser.
      pathLength = await path.evaluate((element: { getTotalLength(): number }) => element.getTotalLength());
    }
  }
  return {
    id: (await svg.getAttribute('id')) ?? '',
    width: box?.width ?? 0,
    height: box?.height ?? 0,
    pathPoints,
    pathLength,
  };
}

describe('the assembly report in a real browser', () => {
  it('renders in headless Chromium with no console or page error, and every chart drawn', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install it with \`apt-get install chromium\` (CI installs it through scripts/install-debian-packages.sh test)`,
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'mal-report-browser-'));
    try {
      const file = join(dir, 'report.html');
      await writeFile(file, renderAssemblyReport(lineageFixture));
      const pageUrl = pathToFileURL(file).href;
      // A fresh profile per run, so nothing a previous run left behind (or a user's profile) changes the result.
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

        const facts: PageFacts = {
          objectiveChart: await measureChart(page.locator('svg#objective-chart')),
          lambdaCurves: await Promise.all((await page.locator('svg.lambda-curve').all()).map(measureChart)),
          diagram: await measureChart(page.locator('svg#transplant-diagram')),
          tableRows: await page.locator('#lineage-table tbody tr').count(),
          text: (await page.locator('body').textContent()) ?? '',
        };

        expect(consoleErrors, 'console errors').toEqual([]);
        expect(pageErrors, 'page errors').toEqual([]);
        expect(requests, 'the page loads nothing but itself').toEqual([pageUrl]);

        expect(facts.objectiveChart, 'the objective chart').not.toBeNull();
        const accepted = lineageFixture.steps.filter((s) => s.accepted !== null).length;
        expect(facts.lambdaCurves.map((c) => c?.id)).toEqual(['lambda-curve-step-1', 'lambda-curve-step-2']);
        expect(facts.lambdaCurves).toHaveLength(accepted);
        expect(facts.diagram, 'the transplant diagram').not.toBeNull();
        for (const chart of [facts.objectiveChart!, ...facts.lambdaCurves.map((c) => c!), facts.diagram!]) {
          expect(chart.width, `${chart.id} width`).toBeGreaterThan(100);
          expect(chart.height, `${chart.id} height`).toBeGreaterThan(100);
          expect(chart.pathPoints, `${chart.id} has a path through points`).toBeGreaterThanOrEqual(2);
          expect(chart.pathLength, `${chart.id} path length`).toBeGreaterThan(0);
        }
        // The objective line passes through the base and every step.
        expect(facts.objectiveChart!.pathPoints).toBe(1 + lineageFixture.steps.length);
        expect(facts.tableRows).toBe(lineageFixture.steps.length);
        // Escaped once, not twice: the reader sees the id as it is.
        expect(facts.text).toContain(WIDE_ID);
        expect(facts.text).not.toContain('&amp;');
      } finally {
        await context.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
