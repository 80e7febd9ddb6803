/**
 * `make docs`: regenerates the tables between `<!-- BEGIN GENERATED: name -->` and
 * `<!-- END GENERATED -->` in README.md and docs/*.md from the code (flag registry, metrics
 * registry, Event reasons, config/base RBAC, PrometheusRule). `--check` only reports stale files.
 *
 * CLI: node dist/hack/docs/generate.js [--check]
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAll } from './sections.js';

function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = resolve(here, '..', '..');
  return up.endsWith(`${'/'}dist`) ? dirname(up) : up;
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const root = repoRoot();
  let stale = 0;
  for (const f of renderAll(root)) {
    if (f.current === f.expected) continue;
    stale++;
    if (check) process.stderr.write(`${f.file}: generated sections are stale (run make docs)\n`);
    else {
      writeFileSync(join(root, f.file), f.expected);
      process.stdout.write(`updated ${f.file}\n`);
    }
  }
  if (!check && stale === 0) process.stdout.write('docs are up to date\n');
  return check && stale > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
