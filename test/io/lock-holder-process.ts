/**
 * A second process for the lock tests (started with `node --import tsx`): it takes a lock, or writes an output set
 * under its folder's lock, reports each stage on a stdout line and waits for a line on stdin before going on, so
 * that the test decides when it lets go.
 *
 *   lock <lock file>           prints `taken` (then holds it until a stdin line, releases, prints `released`)
 *                              or `busy <holder pid>`
 *   write <folder> <text>      under withOutputFolderLock: cleans, stages model.bin holding <text>, prints
 *                              `staged`, waits for a stdin line, publishes, prints `published`; or prints
 *                              `busy <message>` and exits 3
 */
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tryFolderLock } from '../../src/io/folder-lock.js';
import { OutputFolderBusyError, withOutputFolderLock } from '../../src/io/output-folder-lock.js';
import { cleanOutputFolder, stageOutputSet } from '../../src/io/output-set.js';

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function nextLine(): Promise<void> {
  await lines.next();
}

const [command, path, text] = process.argv.slice(2);
if (command === 'lock') {
  const attempt = await tryFolderLock(path, { label: 'test lock', doing: 'take the test lock' });
  if (attempt.taken) {
    console.log('taken');
    await nextLine();
    await attempt.lock.release();
    console.log('released');
  } else {
    console.log(`busy ${attempt.holder}`);
  }
} else if (command === 'write') {
  try {
    await withOutputFolderLock(path, async () => {
      await cleanOutputFolder(path);
      const set = await stageOutputSet(path);
      await writeFile(set.path('model.bin'), text);
      console.log('staged');
      await nextLine();
      await set.publish(['model.bin']);
    });
    console.log('published');
  } catch (error) {
    if (!(error instanceof OutputFolderBusyError)) throw error;
    console.log(`busy ${error.message}`);
    process.exitCode = 3;
  }
} else {
  throw new Error(`unknown command ${command}`);
}
process.stdin.destroy();
