import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends a run with the plain line `N passed, N failed[, N skipped]`, which CI reads whatever the test runner,
 * after a list of the skipped tests with their reasons, so that no skip goes unseen.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skips: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          const result = test.result();
          const note = result.state === 'skipped' ? result.note : undefined;
          skips.push(
            `skipped: ${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}${note === undefined ? '' : ` (${note})`}`,
          );
        }
      }
      if (module.state() === 'failed' && module.children.size === 0) failed++;
    }
    if (skips.length > 0) process.stdout.write(`\n${skips.join('\n')}\n`);
    process.stdout.write(
      `\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`,
    );
  }
}
