/**
 * A short fixed-seed run of the randomized invariant suite (`make chaos` runs longer ones), plus the
 * oracle's own checks so a broken oracle cannot hide violations.
 */
import { describe, expect, it } from '@jest/globals';
import { formatReport, runChaos } from '../../hack/chaos/runner.js';
import { expectedAssignments, forbiddenRemovals, quiescenceProblems, type ClusterView } from '../../hack/chaos/oracle.js';
import { AssignedSampler, WriteLedger } from '../../hack/chaos/invariants.js';
import { OutOfBandActors, type ActorKind } from '../../hack/chaos/actors.js';
import { startAzureEmulator, vmssId } from '../../hack/emulators/azure/index.js';
import { Prng } from '../../hack/chaos/prng.js';
import { ACTOR_AGENTS, actorOfAgent, writerName } from '../../hack/chaos/writers.js';
import type { IdentityChange, IdentityWrite } from '../../hack/emulators/azure/index.js';

const VMSS = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/pool';
const ID = (n: string): string => `/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/${n}`;
const change = (op: 'add' | 'remove', identity: string, by: string, agent?: string): IdentityChange => ({ at: 0, resource: VMSS, identity, op, by, ...(agent ? { agent } : {}) });
const MIC_AGENT = 'aad-pod-identity/MIC chaos-replica/mic-0 azsdk-js-arm-compute/25.1.1';
type State = { system?: boolean; user: string[] };
/** One applied write: `who` is `mic`, an actor kind, or a control name. */
function write(at: number, who: string, before: State, after: State): IdentityWrite {
  const attribution = who === 'mic' ? { by: 'arm-client', agent: MIC_AGENT }
    : who in ACTOR_AGENTS ? { by: 'arm-client', agent: `${ACTOR_AGENTS[who as keyof typeof ACTOR_AGENTS]} azsdk-js` } : { by: `backdoor:${who}` };
  return {
    at, resource: VMSS, ...attribution, request: { type: 'x' },
    before: { systemAssigned: before.system ?? false, userAssigned: before.user }, after: { systemAssigned: after.system ?? false, userAssigned: after.user },
  };
}

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

  it('attributes writers by user agent: the controller, each actor, a control', () => {
    expect(writerName({ by: 'arm-client', agent: MIC_AGENT })).toBe('mic');
    expect(writerName({ by: 'arm-client' })).toBe('mic');
    expect(writerName({ by: 'arm-client', agent: `${ACTOR_AGENTS.human} azsdk-js-arm-compute/25.1.1` })).toBe('human');
    expect(writerName({ by: 'backdoor:drift' })).toBe('backdoor:drift');
    expect(actorOfAgent('AZURECLI/2.67.0 chaos-actor/nobody')).toBeUndefined();
    // An actor's addition is foreign to the controller: its removal by the controller is flagged.
    expect(forbiddenRemovals([change('add', ID('a'), 'arm-client', ACTOR_AGENTS.addon), change('remove', ID('a'), 'arm-client', MIC_AGENT)], new Set())).toHaveLength(1);
  });

  it('(a) flags controller writes that touch the system identity or identities it does not own', () => {
    const ledger = new WriteLedger({ immutable: new Set([ID('k')]), manageable: new Set([ID('m'), ID('k')]) });
    const problems = (...ws: IdentityWrite[]): string[] => ledger.apply(ws).flatMap((v) => v.problems);
    expect(problems(write(1, 'initial', { user: [] }, { user: [ID('k')] }))).toEqual([]);
    expect(problems(write(2, 'mic', { user: [ID('k')] }, { user: [ID('k'), ID('m')] }))).toEqual([]);
    expect(ledger.controllerOwned(VMSS)).toEqual([ID('m')]);
    // Out-of-band writers never violate (a), whatever they do.
    expect(problems(write(3, 'policy', { user: [ID('k'), ID('m')] }, { system: true, user: [ID('k'), ID('m')] }))).toEqual([]);
    expect(problems(write(4, 'addon', { system: true, user: [ID('k'), ID('m')] }, { system: true, user: [ID('k'), ID('m'), ID('a')] }))).toEqual([]);
    // A controller write planned from a stale type destroys the system identity and sweeps the add-on's.
    const stale = problems(write(5, 'mic', { system: true, user: [ID('k'), ID('m'), ID('a')] }, { user: [ID('k')] }));
    expect(stale).toEqual([
      'changed the system-assigned identity on → off (its principal and role assignments are gone)',
      'removed a, which it does not own (added by addon)',
    ]);
    expect(problems(write(6, 'mic', { user: [ID('k')] }, { user: [] }))).toEqual(['removed immutable identity k']);
    expect(problems(write(7, 'mic', { user: [] }, { user: [ID('f')] }))).toEqual(['added f, which no AzureIdentity names']);
    // Ownership follows the latest addition: a human removes m, the controller re-adds it and may remove it again.
    expect(problems(write(8, 'mic', { user: [ID('f')] }, { user: [ID('f'), ID('m')] }), write(9, 'human', { user: [ID('f'), ID('m')] }, { user: [ID('f')] }))).toEqual([]);
    expect(ledger.lastRemoval(VMSS, ID('m'))).toMatchObject({ at: 9, writer: 'human' });
    expect(problems(write(10, 'mic', { user: [ID('f')] }, { user: [ID('f'), ID('m')] }), write(11, 'mic', { user: [ID('f'), ID('m')] }, { user: [ID('f')] }))).toEqual([]);
    expect(ledger.controllerWrites).toBe(7);
  });

  it('(b) flags Assigned without the identity, with a window only after an out-of-band removal', () => {
    const aai = (status: string) => ({
      metadata: { name: 'p-a-id', namespace: 'default' },
      spec: { pod: 'p', podNamespace: 'a', nodename: 'n0', azureIdentityRef: { spec: { resourceID: ID('x') } } },
      status: { status },
    });
    const bounds = { newAssignMs: 1000, repairMs: 5000 };
    const ledgerWith = (...ws: IdentityWrite[]): WriteLedger => {
      const l = new WriteLedger({ immutable: new Set(), manageable: new Set([ID('x')]) });
      l.apply(ws);
      return l;
    };
    const added = write(0, 'mic', { user: [] }, { user: [ID('x')] });
    // Never on the target.
    expect(new AssignedSampler(bounds).sample(view({ assigned: [aai('Assigned')] }), ledgerWith(), 10)[0]?.message).toMatch(/never on the target/);
    // Present: fine; an AAI that is not wanted (pod gone) is not checked at all.
    const ok = new AssignedSampler(bounds);
    expect(ok.sample(view({ assigned: [aai('Assigned')] }), ledgerWith(added), 10)).toEqual([]);
    expect(ok.sample(view({ pods: [], assigned: [aai('Assigned')] }), ledgerWith(added), 20)).toEqual([]);
    expect(ok.observations).toBe(1);
    // Removed by the controller itself: no window.
    const byMic = ledgerWith(added, write(100, 'mic', { user: [ID('x')] }, { user: [] }));
    expect(new AssignedSampler(bounds).sample(view({ assigned: [aai('Assigned')] }), byMic, 101)[0]?.message).toMatch(/controller itself removed/);
    // Removed by a human while Assigned: allowed for repairMs, then flagged once.
    const byHuman = ledgerWith(added, write(100, 'human', { user: [ID('x')] }, { user: [] }));
    const s = new AssignedSampler(bounds);
    expect(s.sample(view({ assigned: [aai('Assigned')] }), ledgerWith(added), 50)).toEqual([]);
    expect(s.sample(view({ assigned: [aai('Assigned')] }), byHuman, 4000)).toEqual([]);
    expect(s.inWindow).toBe(1);
    expect(s.sample(view({ assigned: [aai('Assigned')] }), byHuman, 5200)[0]?.message).toMatch(/still Assigned 5\.1 s after x was removed by human/);
    expect(s.sample(view({ assigned: [aai('Assigned')] }), byHuman, 6000)).toEqual([]);
    // Becoming Assigned long after the removal (planned from a stale cache) is flagged at once.
    const late = new AssignedSampler(bounds);
    expect(late.sample(view({ assigned: [aai('Created')] }), byHuman, 1500)).toEqual([]);
    expect(late.sample(view({ assigned: [aai('Assigned')] }), byHuman, 1600)[0]?.message).toMatch(/became Assigned/);
    // Assigned all along but not wanted at the previous sample (namespaced-mode toggle): it did not become Assigned.
    const steady = new AssignedSampler(bounds);
    expect(steady.sample(view({ namespaced: true, assigned: [aai('Assigned')] }), byHuman, 1500)).toEqual([]);
    expect(steady.sample(view({ assigned: [aai('Assigned')] }), byHuman, 1600)).toEqual([]);
    expect(steady.inWindow).toBe(1);
    const early = new AssignedSampler(bounds);
    expect(early.sample(view({ assigned: [aai('Created')] }), byHuman, 900)).toEqual([]);
    expect(early.sample(view({ assigned: [aai('Assigned')] }), byHuman, 1000)).toEqual([]);
  });

  it('the PRNG replays from its seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    expect(Array.from({ length: 5 }, () => a.int(1000))).toEqual(Array.from({ length: 5 }, () => b.int(1000)));
  });
});

describe('out-of-band actors', () => {
  it('write through ARM REST under their own user agent, recompute the type from a fresh read, and retry a 409', async () => {
    const azure = await startAzureEmulator({ lroLatencyMs: 20 });
    try {
      const az = azure.controls;
      const [sub, rg] = ['00000000-0000-0000-0000-00000000a11e', 'rg'];
      az.addVmss(sub, rg, 'pool');
      const target = { kind: 'vmss' as const, name: 'pool', id: vmssId(sub, rg, 'pool').toLowerCase() };
      const [kubelet, managed, addon] = ['kubelet', 'managed', 'addon'].map((n) => az.addIdentity(sub, rg, n).toLowerCase()) as [string, string, string];
      az.setResourceIdentities(target.id, [kubelet, managed], 'initial');
      const actors = new OutOfBandActors({
        azure, subscriptionId: sub, resourceGroup: rg, addonIdentity: addon, aksManaged: new Set([kubelet, addon]), controllerOwned: () => [managed],
      });
      // The policy's first draw decides enable (< 0.5) or disable: pick a seed that enables.
      const enablingSeed = [1, 2, 3, 4, 5, 6, 7, 8].find((seed) => new Prng(seed).chance(0.5))!;
      const run = async (kind: ActorKind, seed = 1): Promise<void> => {
        expect(actors.start(kind, target, seed)).toBe(true);
        expect(actors.start(kind, target, seed)).toBe(false); // one action per actor at a time
        await actors.settle();
      };
      az.failNext({ method: 'PATCH', resource: /virtualMachineScaleSets/i, status: 409, code: 'OperationNotAllowed', message: 'busy' });
      await run('policy', enablingSeed);
      await run('addon');
      await run('human');
      expect(az.getResourceIdentities(target.id)).toEqual({ type: 'SystemAssigned, UserAssigned', userAssigned: [kubelet, addon] });
      az.setResourceIdentities(target.id, [kubelet, addon, managed], 'controller-stand-in');
      await run('upgrade');
      expect(az.getResourceIdentities(target.id)).toEqual({ type: 'SystemAssigned, UserAssigned', userAssigned: [kubelet, addon] });
      await run('human'); // nothing left that the controller owns
      const draws = new Prng(1);
      draws.next();
      const upgradeMode = draws.chance(0.4) ? 'all' : 'some'; // the upgrade's second draw
      expect(actors.records.map((r) => `${r.actor}:${r.outcome}:${r.what}`)).toEqual([
        'policy:written:system on', 'addon:written:add own', 'human:written:remove managed', `upgrade:written:drop 1/1 (${upgradeMode})`, 'human:nothing-to-do:nothing',
      ]);
      expect(actors.records[0]!.retries).toEqual({ 409: 1 });
      const writers = az.identityWrites(target.id).map((w) => writerName(w));
      expect(writers).toEqual(['backdoor:initial', 'policy', 'addon', 'human', 'backdoor:controller-stand-in', 'upgrade']);
      expect(az.identityWrites(target.id)[1]).toMatchObject({ request: { type: 'SystemAssigned, UserAssigned' }, before: { systemAssigned: false }, after: { systemAssigned: true } });
    } finally {
      await azure.stop();
    }
  }, 30_000);
});

describe('randomized invariant run (fixed seed)', () => {
  it('keeps every invariant through 60 steps of changes, drift, out-of-band writers and faults', async () => {
    const report = await runChaos({ seed: 20240611, steps: 60, quiesceEvery: 20, quiesceTimeoutMs: 40_000, actorRate: 3 });
    const summary = formatReport(report);
    expect(report.steps).toBe(60);
    expect(Object.values(report.faults).reduce((s, n) => s + n, 0)).toBeGreaterThan(5);
    expect(report.quiescencePoints).toBeGreaterThanOrEqual(3);
    expect(report.armWrites).toBeGreaterThan(0);
    // The out-of-band writers acted through ARM REST, and both invariants had something to check.
    const written = Object.entries(report.actors).filter(([k]) => k.endsWith('.written')).reduce((s, [, n]) => s + n, 0);
    expect(written).toBeGreaterThanOrEqual(3);
    expect(report.controllerWritesChecked).toBeGreaterThan(0);
    expect(report.assignedObservations).toBeGreaterThan(0);
    expect({ violations: report.violations, summary }).toEqual({ violations: [], summary });
  }, 120_000);
});
