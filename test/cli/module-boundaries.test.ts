/**
 * What the command line loads, read from the sources (the layering rules are in test/architecture/):
 * - `mal --help` and `mal <command> --help` load no npm package but commander: the process entry and every
 *   command definition the registries load import (statically) only light project modules. The heavy parts of
 *   a command live in its `*-run.ts` module, imported when it runs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../support/mal-cli.js';

interface ModuleImports {
  /** Imports that load the module: `import … from`, `export … from`, `import '…'` (type-only ones excluded). */
  readonly loaded: string[];
  /** Every specifier, type-only and dynamic `import()` included. */
  readonly all: string[];
}

function importsOf(file: string): ModuleImports {
  const text = readFileSync(file, 'utf8');
  const loaded: string[] = [];
  const all: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+([^;]*?)\s+from\s+'([^']+)'/gms)) {
    all.push(m[3]);
    const clause = m[2];
    if (/^type\s/.test(clause)) continue;
    const named = /^\{([^}]*)\}$/.exec(clause.trim());
    const onlyTypes = named?.[1]
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .every((s) => s.startsWith('type '));
    if (!onlyTypes) loaded.push(m[3]);
  }
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) {
    all.push(m[1]);
    loaded.push(m[1]);
  }
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) all.push(m[1]);
  return { loaded, all };
}

function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return resolve(dirname(from), specifier.replace(/\.js$/, '.ts'));
}

/** The project files and packages a module loads, transitively through static imports. */
function staticClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of importsOf(file).loaded) {
      const target = resolveSpecifier(file, specifier);
      if (target !== undefined) visit(target);
      else if (!specifier.startsWith('node:')) packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

/** The definition modules a registry file loads: its `import('./x.js')` calls. */
function loadedDefinitions(registry: string): string[] {
  const specifiers = importsOf(registry).all.filter((s) => s.startsWith('.'));
  return [...new Set(specifiers.map((s) => resolveSpecifier(registry, s) as string))];
}

describe('module boundaries', () => {
  it('`mal --help` loads the program, the registries and commander only', () => {
    const { files, packages } = staticClosure(join(root, 'workers', 'mal.ts'));
    expect([...packages]).toEqual(['commander']);
    expect([...files].map((f) => relative(root, f)).sort()).toEqual([
      'src/cli/command.ts',
      'src/cli/commands/index.ts',
      'src/cli/console-io.ts',
      'src/cli/package-version.ts',
      'src/cli/program.ts',
      'src/errors.ts',
      // Dependency-free: the program's last net for file-system errors no command caught.
      'src/io/file-system-error.ts',
      'workers/commands/index.ts',
      'workers/mal.ts',
    ]);
  });

  it('every command definition loads no npm package, so `mal <command> --help` stays fast', () => {
    const registries = [
      join(root, 'src', 'cli', 'commands', 'index.ts'),
      join(root, 'workers', 'commands', 'index.ts'),
    ];
    const definitions = registries.flatMap(loadedDefinitions);
    expect(definitions.length).toBeGreaterThanOrEqual(12);
    for (const definition of definitions) {
      expect(definition.endsWith('-run.ts'), definition).toBe(false);
      const { packages } = staticClosure(definition);
      expect([...packages], relative(root, definition)).toEqual([]);
    }
  });
});
