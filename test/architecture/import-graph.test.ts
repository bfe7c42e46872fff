/**
 * The layering rules of docs/architecture.md, checked on the source: the core (src/) never reaches into the
 * process shells (workers/) or the workflow code (workflows/), workflow code reaches only what the Temporal sandbox
 * can run, and no module imports itself through a cycle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, folder), { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.as.ts') && !entry.name.endsWith('.d.ts'))
      out.push(path);
  }
  return out;
}

/** Every relative module a file names: static imports and re-exports, `import type`, and dynamic `import()`. */
function relativeImports(text: string): string[] {
  const specifiers = [
    ...text.matchAll(/(?:^|[\s;}])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"`]([^'"`]+)['"`]\s*\)/g),
  ].map((m) => m[1]);
  return specifiers.filter((s) => s.startsWith('.'));
}

function graph(): Map<string, string[]> {
  const files = ['src', 'workers', 'workflows'].flatMap(sourceFiles);
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const targets = relativeImports(readFileSync(join(ROOT, file), 'utf8')).map((s) =>
      relative(ROOT, resolve(ROOT, dirname(file), s.replace(/\.js$/, '.ts'))),
    );
    edges.set(
      file,
      targets.filter((t) => known.has(t)),
    );
  }
  return edges;
}

/** Strongly connected components of more than one module (or a module importing itself): the import cycles. */
function cycles(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import graph', () => {
  const edges = graph();

  it('finds the imports of every kind', () => {
    expect(
      relativeImports(
        "import { a } from './a.js';\nimport type { B } from '../b.js';\nexport { c } from './c.js';\nimport './d.js';\nconst e = await import('./e.js');",
      ),
    ).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js']);
  });

  it('src/ never imports workers/ or workflows/', () => {
    const crossing = [...edges].flatMap(([file, targets]) =>
      file.startsWith('src/')
        ? targets
            .filter((t) => t.startsWith('workers/') || t.startsWith('workflows/'))
            .map((t) => `${file} → ${t}`)
        : [],
    );
    expect(crossing).toEqual([]);
  });

  it('workflows/ imports only workflow code and the dependency-free loop policy', () => {
    const allowed = (t: string) => t.startsWith('workflows/') || t === 'src/assembly/loop-policy.ts';
    const outside = [...edges].flatMap(([file, targets]) =>
      file.startsWith('workflows/') ? targets.filter((t) => !allowed(t)).map((t) => `${file} → ${t}`) : [],
    );
    expect(outside).toEqual([]);
    expect(readFileSync(join(ROOT, 'src/assembly/loop-policy.ts'), 'utf8')).not.toMatch(/^\s*import\s/m);
  });

  it('has no import cycle', () => {
    expect(cycles(edges)).toEqual([]);
  });
});
