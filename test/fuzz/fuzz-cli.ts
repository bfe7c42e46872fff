/**
 * `npm run fuzz [-- --cases N --seed S --deadline MS --target NAME]`: the long fuzz run. Prints, per target, the
 * cases run, accepted, clean errors (MalError), crashes and hangs, with the first failures to replay; exits 1 on
 * any crash or hang.
 */
import { parseArgs } from 'node:util';
import { runFuzz } from './run-fuzz.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    deadline: { type: 'string', default: '10000' },
    target: { type: 'string', multiple: true },
  },
});
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got '${text}'`);
    process.exit(2);
  }
  return n;
};
const options = {
  cases: positive('cases', values.cases),
  seed: positive('seed', values.seed),
  deadlineMs: positive('deadline', values.deadline),
  ...(values.target === undefined ? {} : { targets: values.target }),
};
console.log(
  `fuzz: ${options.cases} cases per target, seed ${options.seed}, deadline ${options.deadlineMs} ms`,
);
const results = await runFuzz(options);
const rows = results.map((r) => [r.target, r.cases, r.accepted, r.clean, r.crashes, r.hangs].map(String));
const header = ['target', 'cases', 'accepted', 'clean errors', 'crashes', 'hangs'];
const widths = header.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
for (const row of [header, ...rows]) console.log(row.map((cell, k) => cell.padEnd(widths[k])).join('  '));
const failures = results.flatMap((r) => r.failures.map((f) => `${r.target}: ${f}`));
for (const failure of failures) console.log(failure);
process.exit(results.some((r) => r.crashes + r.hangs > 0) ? 1 : 0);
