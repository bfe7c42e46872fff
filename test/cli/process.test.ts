/**
 * What only a real process shows: exit codes as the shell sees them, and a reader that stops early. The process
 * is started as test/support/mal-cli.ts says (the sources, or under `npm test` the just-built bin/mal.js).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malArgv, root, spawnMal } from '../support/mal-cli.js';

const model = join(root, 'examples', 'models', 'mlp-base', 'model.safetensors');

describe('the mal process', () => {
  it('exits 0 on success, 2 on a usage error, 1 on a MalError, with one clean line on stderr', async () => {
    const ok = await spawnMal(['inspect', model, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).spec.family).toBe('mlp');

    const usage = await spawnMal(['inspect']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("mal inspect: missing required argument 'model'");

    const missing = await spawnMal(['inspect', 'absent.safetensors']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('absent.safetensors');
    expect(missing.stderr).not.toContain('    at ');

    const none = await spawnMal([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: mal <command>');
  });

  it('exits 0 without a stack when its reader goes away (EPIPE)', async () => {
    const child = spawn(process.execPath, [...malArgv, 'inspect', model], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Close the reading end before the program writes anything.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
