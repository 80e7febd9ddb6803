/**
 * A short fixed-seed run of the randomized invariant suite (`make chaos` runs longer ones), plus the
 * oracle's own checks so a broken oracle cannot hide violations.
 */
import { describe, expect, it } from '@jest/globals';
import { formatReport, runChaos } from '../../hack/chaos/runner.js';
import { expectedAssignments, forbiddenRemovals, quiescenceProblems, type ClusterView } from '../../hack/chaos/oracle.js';
import { Prng } from '../../hack/chaos/prng.js';
import type { IdentityChange } from '../../hack/emulators/azure/index.js';

const VMSS = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/pool';
const ID = (n: string): string => `/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/${n}`;
const change = (op: 'add' | 'remove', identity: string, by: string): IdentityChange => ({ at: 0, resource: VMSS, identity, op, by });

function view(over: Partial<ClusterView> = {}): ClusterView {
  return {
    pods: [{ metadata: { name: 'p', namespace: 'a', labels: { aadpodidbinding: 'sel' } }, spec: { nodeName: 'n0' } }],
    nodes: [{ metadata: { name: 'n0' }, spec: { providerID: `azure://${VMSS}/virtualMachines/0` } }],
    identities: [{ metadata: { name: 'id', namespace: 'b' }, spec: { type: 0, resourceID: ID('x') } }],
    bindings: [{ metadata: { name: 'bind', namespace: 'b' }, spec: { azureIdentity: 'id', selector: 'sel' } }],
    assigned: [],
    events: [],
    namespaced: false,
    ...over,
  };
}

describe('chaos oracle', () => {
  it('matches across namespaces only outside namespaced mode', () => {
    expect([...expectedAssignments(view()).keys()]).toEqual(['default/p-a-id']);
    expect(expectedAssignments(view({ namespaced: true })).size).toBe(0);
  });

  it('flags removal of an identity the controller did not add, and of an immutable one', () => {
    expect(forbiddenRemovals([change('add', ID('x'), 'arm-client'), change('remove', ID('x'), 'arm-client')], new Set())).toEqual([]);
    expect(forbiddenRemovals([change('add', ID('f'), 'backdoor:initial'), change('remove', ID('f'), 'arm-client')], new Set())).toHaveLength(1);
    expect(forbiddenRemovals([change('add', ID('k'), 'arm-client'), change('remove', ID('k'), 'arm-client')], new Set([ID('k')]))).toHaveLength(1);
  });

  it('reports a missing desired identity, a stray one, and a stale AAI', () => {
    const problems = quiescenceProblems(
      view({ assigned: [{ metadata: { name: 'gone-a-id', namespace: 'default' }, spec: { pod: 'gone', podNamespace: 'a' }, status: { status: 'Assigned' } }] }),
      { targets: new Map([[VMSS, [ID('stray')]]]), changes: [], broken: new Set() },
    );
    expect(problems.some((p) => p.includes('desired identity') && p.includes('missing'))).toBe(true);
    expect(problems.some((p) => p.includes('neither desired nor foreign'))).toBe(true);
    expect(problems.some((p) => p.includes('missing pod a/gone'))).toBe(true);
    expect(problems.some((p) => p.includes('desired AAI default/p-a-id missing'))).toBe(true);
  });

  it('accepts Created for a broken identity only with a Warning Event', () => {
    const aai = { metadata: { name: 'p-a-id', namespace: 'default' }, spec: { pod: 'p', podNamespace: 'a', azureIdentityRef: { spec: { resourceID: ID('x') } } }, status: { status: 'Created' } };
    const az = { targets: new Map([[VMSS, []]]), changes: [], broken: new Set([ID('x')]) };
    expect(quiescenceProblems(view({ assigned: [aai] }), az)).toEqual(['AAI default/p-a-id stuck in Created without a Warning Event']);
    const warning = { type: 'Warning', involvedObject: { kind: 'Pod', namespace: 'a', name: 'p' } };
    expect(quiescenceProblems(view({ assigned: [aai], events: [warning] }), az)).toEqual([]);
  });

  it('the PRNG replays from its seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    expect(Array.from({ length: 5 }, () => a.int(1000))).toEqual(Array.from({ length: 5 }, () => b.int(1000)));
  });
});

describe('randomized invariant run (fixed seed)', () => {
  it('keeps every invariant through 60 steps of changes, drift and faults', async () => {
    const report = await runChaos({ seed: 20240611, steps: 60, quiesceEvery: 20, quiesceTimeoutMs: 40_000 });
    const summary = formatReport(report);
    expect(report.steps).toBe(60);
    expect(Object.values(report.faults).reduce((s, n) => s + n, 0)).toBeGreaterThan(5);
    expect(report.quiescencePoints).toBeGreaterThanOrEqual(3);
    expect(report.armWrites).toBeGreaterThan(0);
    expect({ violations: report.violations, summary }).toEqual({ violations: [], summary });
  }, 120_000);
});
