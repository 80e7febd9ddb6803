/**
 * Which generated section lives in which file, and how it is rendered. `make docs` rewrites them;
 * test/unit/docs/generated.test.ts fails when a file differs from what this renders.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAlertTable } from './alerts.js';
import { renderConditionTable, renderEventTable } from './events.js';
import { renderFlagTable, renderKlogTable, renderProjectFlagTable } from './flags.js';
import { findSections, replaceSections } from './markers.js';
import { renderMetricsTable } from './metrics.js';
import { baseDir, renderRbacTable } from './rbac.js';

/** Renderer of one named section, given the repository root. */
export type SectionRenderer = (root: string) => string;

/** Every section name and its renderer. */
export const RENDERERS: ReadonlyMap<string, SectionRenderer> = new Map<string, SectionRenderer>([
  ['flags', () => renderFlagTable()],
  ['klog-flags', () => renderKlogTable()],
  ['project-flags', () => renderProjectFlagTable()],
  ['metrics', () => renderMetricsTable()],
  ['event-reasons', () => renderEventTable()],
  ['condition-reasons', () => renderConditionTable()],
  ['rbac', (root) => renderRbacTable(baseDir(root))],
  ['alerts', (root) => renderAlertTable(root)],
]);

/** Files that carry generated sections, relative to the root. */
export const GENERATED_FILES: readonly string[] = ['README.md', 'docs/configuration.md', 'docs/troubleshooting.md', 'docs/deploy.md', 'docs/operations.md'];

/** Sections every build must contain somewhere (a deleted marker must not silently drop a table). */
export const REQUIRED_SECTIONS: readonly string[] = [...RENDERERS.keys()];

/** A file's current text and what `make docs` would make of it. */
export interface FileRender {
  file: string;
  current: string;
  expected: string;
  sections: string[];
}

/** Renders every generated file under `root`. */
export function renderAll(root: string): FileRender[] {
  const bodies = new Map<string, string>();
  const body = (name: string): string => {
    let b = bodies.get(name);
    if (b === undefined) {
      const r = RENDERERS.get(name);
      b = r ? r(root) : '';
      bodies.set(name, b);
    }
    return b;
  };
  return GENERATED_FILES.map((file) => {
    const current = readFileSync(join(root, file), 'utf8');
    const sections = findSections(current).map((s) => s.name);
    const map = new Map(sections.filter((n) => RENDERERS.has(n)).map((n) => [n, body(n)]));
    return { file, current, expected: replaceSections(current, map), sections };
  });
}
