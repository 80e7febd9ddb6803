/**
 * The Azure SDK stays out of the controller's start-up module graph: it is loaded by a dynamic
 * `import()` on the first ARM call (controller/app/lazy-cloud.ts), so an idle or standby replica
 * never carries it. This walks the static (value) imports from the entry point and fails when a
 * module reachable at start-up imports an `@azure/` package (`import type` is fine: it is erased).
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve('controller');
const STATEMENT = /^\s*(?:import|export)\s+([\s\S]*?)\s+from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** True when an import clause brings in values (not only types). */
function importsValues(clause: string): boolean {
  const c = clause.trim();
  if (c.startsWith('type ')) return false;
  const braces = /^\{([\s\S]*)\}$/.exec(c);
  if (!braces) return true; // default, namespace or `*` import/export
  const names = braces[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  return names.some((n) => !n.startsWith('type '));
}

/** Static value imports of one source file: relative ones resolved to .ts paths, packages as named. */
function valueImports(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(STATEMENT)) {
    const spec = m[2] ?? m[3]!;
    if (m[1] !== undefined && !importsValues(m[1])) continue;
    if (spec.startsWith('.')) files.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    else packages.push(spec);
  }
  return { files, packages };
}

/** Every package imported (as a value) by a module reachable from `entry`, with the importing file. */
function reachablePackages(entry: string): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const { files, packages: pkgs } = valueImports(file);
    for (const p of pkgs) if (!packages.has(p)) packages.set(p, path.relative(ROOT, file));
    stack.push(...files);
  }
  return packages;
}

describe('start-up module graph', () => {
  it('reaches the controller, client-node and the logger but no @azure package', () => {
    const packages = reachablePackages(path.join(ROOT, 'main.ts'));
    expect(packages.has('@kubernetes/client-node')).toBe(true);
    expect(packages.has('winston')).toBe(true);
    const azure = [...packages].filter(([p]) => p.startsWith('@azure/')).map(([p, from]) => `${p} (from ${from})`);
    expect(azure).toEqual([]);
  });

  it('would notice an SDK import (the walk follows value imports only)', () => {
    expect(importsValues('{ isRestError }')).toBe(true);
    expect(importsValues('{ type RestError, isRestError }')).toBe(true);
    expect(importsValues('type { RestError }')).toBe(false);
    expect(importsValues('{ type RestError }')).toBe(false);
    const viaCloud = reachablePackages(path.join(ROOT, 'app', 'cloud.ts'));
    expect([...viaCloud.keys()].filter((p) => p.startsWith('@azure/')).sort()).toEqual(['@azure/arm-compute', '@azure/arm-msi', '@azure/identity', '@azure/logger']);
  });
});
