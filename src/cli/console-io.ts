import type { CommandIO } from './command.js';

/** The process's own streams. A terminal gets a redrawn progress line; pipes and files get only the results. */
export function consoleIO(): CommandIO {
  // A reader that stops early (`mal inspect … | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const interactive = process.stderr.isTTY === true;
  let pending = false;
  const clear = (): void => {
    if (pending) process.stderr.write('\r\x1b[K');
    pending = false;
  };
  return {
    out: (line) => {
      clear();
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      clear();
      process.stderr.write(`${line}\n`);
    },
    progress: (line) => {
      if (!interactive) return;
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 100) - 1)}`);
      pending = true;
    },
  };
}
