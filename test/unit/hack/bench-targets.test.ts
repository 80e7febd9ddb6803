/** The burst all-Assigned target: 2 L + 1 s per scale set, one more L per extra 150-identity write ARM forces. */
import { describe, expect, it } from '@jest/globals';
import { perScaleSet, type ScenarioFigures } from '../../../hack/bench/runner.js';
import { burstAllAssigned } from '../../../hack/bench/scenarios.js';

const L = 40_000;

function figures(scaleSets: NonNullable<ScenarioFigures['scaleSets']>): ScenarioFigures {
  const all = Math.max(...scaleSets.map((s) => s.allAssignedRealMs));
  return { params: { lroLatencySeconds: L / 1000, timeScale: 1 }, allAssignedRealMs: all, allAssignedL: all / L, scaleSets } as unknown as ScenarioFigures;
}

describe('burst all-Assigned target', () => {
  it('holds every scale set that fits one PATCH to 2 L + 1 s', () => {
    expect(burstAllAssigned.check(figures([{ name: 'a', pods: 10, identities: 150, allAssignedRealMs: 2 * L + 1000 }])).pass).toBe(true);
    const late = burstAllAssigned.check(figures([
      { name: 'a', pods: 10, identities: 150, allAssignedRealMs: 2 * L + 1001 },
      { name: 'b', pods: 10, identities: 151, allAssignedRealMs: 2 * L + 1001 },
    ]));
    expect(late.pass).toBe(false);
    expect(late.detail).toContain('FAIL a');
    expect(late.detail).not.toContain('FAIL b');
  });

  it('allows one more L for each further write a scale set needs (⌈identities / 150⌉)', () => {
    expect(burstAllAssigned.check(figures([{ name: 'pool02', pods: 277, identities: 154, allAssignedRealMs: 3 * L + 1000 }])).pass).toBe(true);
    expect(burstAllAssigned.check(figures([{ name: 'pool02', pods: 277, identities: 154, allAssignedRealMs: 3 * L + 1001 }])).pass).toBe(false);
    expect(burstAllAssigned.check(figures([{ name: 'big', pods: 900, identities: 301, allAssignedRealMs: 4 * L + 1000 }])).detail).toContain('3 sequential writes');
  });

  it('fails a run where some pod was never Assigned', () => {
    expect(burstAllAssigned.check({ ...figures([{ name: 'a', pods: 1, identities: 1, allAssignedRealMs: 1 }]), allAssignedRealMs: undefined }).pass).toBe(false);
  });
});

describe('per scale set figures', () => {
  it('counts pods and distinct identities and takes the last Assigned of each set from the first pod created', () => {
    const node = (vmss: string) => ({ vmss }) as never;
    const pods = [
      { key: 'p1', node: node('b'), identity: 'x' },
      { key: 'p2', node: node('a'), identity: 'x' },
      { key: 'p3', node: node('a'), identity: 'y' },
      { key: 'p4', node: node('a'), identity: 'x' },
    ];
    const at: Record<string, number> = { p1: 1_500, p2: 1_200, p3: 3_000, p4: 1_100 };
    expect(perScaleSet(pods, (p) => at[p.key], 1_000)).toEqual([
      { name: 'a', pods: 3, identities: 2, allAssignedRealMs: 2_000 },
      { name: 'b', pods: 1, identities: 1, allAssignedRealMs: 500 },
    ]);
  });
});
