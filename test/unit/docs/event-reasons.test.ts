/**
 * Every Event / condition reason the controller can emit is in controller/observability/event-reasons.ts
 * (the source of the documented tables). Found by scanning controller/** for reason literals, so
 * call sites need not import the constants.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_REASONS } from '../../../controller/observability/event-reasons.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CONSTANTS = join(ROOT, 'controller/observability/event-reasons.ts');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** A reason-shaped string: `PascalCase` or upstream's lower-case phrases (`binding apply error`). */
const REASON_SHAPE = /^(?:[A-Z][a-z]+(?:[A-Z][a-z]*)+|[A-Z][a-z]+|[a-z]+(?: [a-z]+)+)$/u;

/** Reason literals in TypeScript source: record/#event arguments, `reason: '...'`, `...Reasons = { k: '...' }`. */
function reasonLiterals(source: string): string[] {
  const found = new Set<string>();
  for (const m of source.matchAll(/['"](?:Normal|Warning)['"]\s*,\s*['"]([^'"]+)['"]/gu)) found.add(m[1] ?? '');
  for (const m of source.matchAll(/\breason\??\s*:\s*['"]([^'"]+)['"]/gu)) if (REASON_SHAPE.test(m[1] ?? '')) found.add(m[1] ?? '');
  for (const m of source.matchAll(/\breason\??\s*:\s*((?:['"][^'"]+['"]\s*\|\s*)+['"][^'"]+['"])/gu)) {
    for (const v of (m[1] ?? '').matchAll(/['"]([^'"]+)['"]/gu)) if (REASON_SHAPE.test(v[1] ?? '')) found.add(v[1] ?? '');
  }
  for (const block of source.matchAll(/\b\w*Reasons\s*=\s*\{([^}]*)\}/gu)) {
    for (const v of (block[1] ?? '').matchAll(/:\s*['"]([^'"]+)['"]/gu)) found.add(v[1] ?? '');
  }
  return [...found];
}

describe('Event and condition reasons', () => {
  const known = new Set(ALL_REASONS.map((r) => r.reason));
  const emitted = new Map<string, string>();
  for (const file of tsFiles(join(ROOT, 'controller'))) {
    if (file === CONSTANTS) continue;
    for (const reason of reasonLiterals(readFileSync(file, 'utf8'))) emitted.set(reason, relative(ROOT, file));
  }

  it('finds the reasons the controller emits today', () => {
    expect([...emitted.keys()]).toEqual(expect.arrayContaining(['binding apply error', 'status update error', 'IdentityForbidden', 'CloudAuthFailed', 'InvalidIdentity', 'NodeNotFound', 'InvalidObject']));
  });

  it('has every emitted reason in event-reasons.ts (add it there with meaning and fix, then run make docs)', () => {
    const missing = [...emitted].filter(([r]) => !known.has(r)).map(([r, file]) => `${r} (${file})`);
    expect(missing).toEqual([]);
  });

  it('documents no reason the controller never emits', () => {
    expect([...known].filter((r) => !emitted.has(r))).toEqual([]);
  });

  it('gives every reason a meaning and a fix', () => {
    for (const r of ALL_REASONS) expect({ reason: r.reason, meaning: r.meaning.length > 10, fix: r.fix.length > 3 }).toEqual({ reason: r.reason, meaning: true, fix: true });
  });

  it('scans call sites of every shape', () => {
    expect(reasonLiterals(`this.#event(ref, 'Warning',\n  'NewReason', msg)`)).toEqual(['NewReason']);
    expect(reasonLiterals(`{ ok: false; reason: 'Aa' | 'BeeCee'; message }`).sort()).toEqual(['Aa', 'BeeCee']);
    expect(reasonLiterals(`export const XReasons = { a: 'Alpha', b: 'beta gamma' } as const;`)).toEqual(['Alpha', 'beta gamma']);
    expect(reasonLiterals(`{ reason: 'retry-after' }`)).toEqual([]);
  });
});
