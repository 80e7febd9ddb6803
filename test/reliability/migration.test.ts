/**
 * The short variant of `make migration` (hack/migration/scenario.ts): upstream MIC → mixed rollout →
 * this MIC only → rollback → forward again, with pod churn; no two leaders writing at once, no
 * identity lost or leaked, every live pod Assigned at the end.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { concurrentWriterViolations, type AttributedWrite } from '../../hack/migration/write-log.js';
import { formatMigration, runMigration, type MigrationResult } from '../../hack/migration/scenario.js';

const write = (actor: string, start: number, end: number): AttributedWrite => ({ actor, plane: 'kube', what: 'POST x', start, end, status: 201 });

describe('migration invariants (checker)', () => {
  it('flags overlapping writes, writes outside a term, and interleaving without a new term', () => {
    const terms = [{ actor: 'a', start: 0, end: 100 }, { actor: 'b', start: 90, end: 300 }];
    expect(concurrentWriterViolations([write('a', 10, 20), write('b', 150, 160)], terms)).toEqual([]);
    expect(concurrentWriterViolations([write('a', 10, 95), write('b', 92, 99)], terms)).toHaveLength(1);
    expect(concurrentWriterViolations([write('a', 10, 20), write('a', 200, 210)], terms)).toHaveLength(1);
    expect(concurrentWriterViolations([write('a', 10, 20), write('b', 91, 92), write('a', 93, 94)], terms)).toHaveLength(1);
  });
});

describe('migration and rollback (short)', () => {
  let result: MigrationResult;
  beforeAll(async () => {
    result = await runMigration({ stageSeconds: 3 });
  }, 180_000);

  /** Violations about the identity first used during the rollback (see the next test). */
  const aboutLateIdentity = (v: string): boolean => v.includes(result.lateIdentityId);

  it('keeps one writer at a time and converges with nothing lost or leaked', () => {
    const report = formatMigration(result).join('\n');
    expect({ violations: result.violations.filter((v) => !aboutLateIdentity(v)), report }).toEqual({ violations: [], report });
    expect(result.maxSimultaneousLeaders).toBe(1);
    expect(result.serverWrites.aai).toBeGreaterThan(20);
    expect(result.serverWrites.armPatches).toBeGreaterThan(5);
    expect(result.stages.map((s) => s.leader?.split('-')[0])).toEqual(['upstream', 'mic', 'mic', 'upstream', 'mic']);
    expect(result.podsCreated).toBeGreaterThan(10);
    expect(result.podsDeleted).toBeGreaterThan(3);
    expect(Object.keys(result.writesByActor).some((a) => a.startsWith('upstream'))).toBe(true);
    expect(Object.keys(result.writesByActor).some((a) => a.startsWith('mic'))).toBe(true);
  });

  // An identity upstream added during the rollback is adopted when this MIC leads again (adoption runs
  // at every leadership acquisition), so it is removed, not leaked, once no pod needs it.
  it('removes an identity upstream added during the rollback once no pod needs it', () => {
    expect(result.violations.filter(aboutLateIdentity)).toEqual([]);
  });

  it('catches two leaders writing at once when upstream and this MIC do not share the lock', async () => {
    const other = await runMigration({ stageSeconds: 1, upstreamLockName: 'not-the-same-lock', convergeTimeoutMs: 5_000 });
    expect(other.maxSimultaneousLeaders).toBe(2);
    expect(other.violations.length).toBeGreaterThan(0);
  }, 180_000);
});
