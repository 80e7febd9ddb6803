/**
 * The tables between `<!-- BEGIN GENERATED -->` markers in README.md and docs/*.md must be exactly
 * what `make docs` renders from the code, and `--help` must carry the same flag texts.
 */
import { describe, expect, it } from '@jest/globals';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS, usage } from '../../../controller/config/flags.js';
import { findSections, isMarkerError, replaceSections } from '../../../hack/docs/markers.js';
import { GENERATED_FILES, REQUIRED_SECTIONS, renderAll } from '../../../hack/docs/sections.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** First differing line, to make a stale table easy to spot. */
function firstDifference(current: string, expected: string): string {
  const a = current.split('\n');
  const b = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  file:      ${a[i] ?? '<end>'}\n  generated: ${b[i] ?? '<end>'}`;
  }
  return '';
}

describe('generated documentation sections', () => {
  const rendered = renderAll(ROOT);

  it.each(GENERATED_FILES)('%s is up to date', (file) => {
    const f = rendered.find((r) => r.file === file);
    if (!f) throw new Error(`${file} not rendered`);
    if (f.current !== f.expected) {
      throw new Error(`${file}: generated sections are stale: run make docs\n${firstDifference(f.current, f.expected)}`);
    }
  });

  it('contains every generated table somewhere', () => {
    const present = new Set(rendered.flatMap((r) => r.sections));
    expect(REQUIRED_SECTIONS.filter((s) => !present.has(s))).toEqual([]);
  });
});

describe('section markers', () => {
  const doc = 'intro\n<!-- BEGIN GENERATED: t (note) -->\nold\n<!-- END GENERATED -->\noutro\n';

  it('replaces only the text between the markers', () => {
    expect(replaceSections(doc, new Map([['t', 'new\n']]))).toBe('intro\n<!-- BEGIN GENERATED: t (note) -->\nnew\n<!-- END GENERATED -->\noutro\n');
  });

  it('rejects an unterminated section and an unknown one', () => {
    expect(isMarkerError(catchError(() => findSections('<!-- BEGIN GENERATED: t -->\nx\n')))).toBe(true);
    expect(isMarkerError(catchError(() => replaceSections(doc, new Map())))).toBe(true);
  });
});

describe('--help', () => {
  it('prints every listed flag with the description the docs table shows', () => {
    const text = usage().replace(/\s+/gu, ' ');
    for (const f of FLAGS.filter((x) => x.origin !== 'klog')) {
      expect({ flag: f.name, inHelp: text.includes(f.description.replace(/`/gu, '').replace(/\s+/gu, ' ')) }).toEqual({ flag: f.name, inHelp: true });
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
