/**
 * diffAssignments: desired vs existing AzureAssignedIdentities (upstream-mic.md §2.3.4).
 */
import { describe, expect, it } from '@jest/globals';
import type { AzureAssignedIdentity } from '../../../controller/api/types.js';
import { computeDesired } from '../../../controller/reconcile/desired.js';
import { diffAssignments, type AssignmentDiff } from '../../../controller/reconcile/diff.js';
import {
  assigned,
  assignedInNamespace,
  inNamespace,
  namespacedBehavior,
  binding,
  identity,
  pod,
  snapshotOf,
  terminating,
  withAssignedNode,
  withBindingLabel,
  withIdentityName,
  withNode,
  withNodenameLabel,
  withResourceVersion,
  withSelector,
  withStatus,
  type SnapshotSeed,
} from '../../support/builders.js';

const P1 = 'default/p1-default-id1';
const P2 = 'default/p2-default-id1';

const id1 = identity('id1');
const b1 = binding('b1', withIdentityName('id1'), withSelector('sel'));
const p1 = pod('p1', withNode('n1'), withBindingLabel('sel'));
const p2 = pod('p2', withNode('n1'), withBindingLabel('sel'));

/** Keys per diff bucket, sorted. */
function summary(diff: AssignmentDiff): Record<keyof AssignmentDiff, string[]> {
  const key = (a: AzureAssignedIdentity): string => `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  return {
    create: diff.create.map((d) => d.key).sort(),
    update: diff.update.map((u) => u.desired.key).sort(),
    unchanged: diff.unchanged.map((u) => u.desired.key).sort(),
    remove: diff.remove.map(key).sort(),
  };
}

interface DiffCase {
  name: string;
  seed: SnapshotSeed;
  expected: Partial<Record<keyof AssignmentDiff, string[]>>;
}

const none = { create: [], update: [], unchanged: [], remove: [] };

const cases: DiffCase[] = [
  {
    name: 'desired with no existing object → create',
    seed: { pods: [p1], identities: [id1], bindings: [b1] },
    expected: { ...none, create: [P1] },
  },
  {
    name: 'existing object built from the same revisions → unchanged',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1)] },
    expected: { ...none, unchanged: [P1] },
  },
  {
    name: 'status does not take part in matching (Created stays unchanged)',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1, withStatus('Created'))] },
    expected: { ...none, unchanged: [P1] },
  },
  {
    name: 'AzureIdentity resourceVersion changed → update',
    seed: { pods: [p1], identities: [identity('id1', withResourceVersion('2'))], bindings: [b1], assigned: [assigned(p1, id1, b1)] },
    expected: { ...none, update: [P1] },
  },
  {
    name: 'AzureIdentityBinding resourceVersion changed → update',
    seed: {
      pods: [p1],
      identities: [id1],
      bindings: [binding('b1', withIdentityName('id1'), withSelector('sel'), withResourceVersion('7'))],
      assigned: [assigned(p1, id1, b1)],
    },
    expected: { ...none, update: [P1] },
  },
  {
    name: 'pod now on another node → update',
    seed: { pods: [pod('p1', withNode('n2'), withBindingLabel('sel'))], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1)] },
    expected: { ...none, update: [P1] },
  },
  {
    name: 'only the nodename label is stale → update',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1, withNodenameLabel('n9'))] },
    expected: { ...none, update: [P1] },
  },
  {
    name: 'same identity name through another binding → update',
    seed: {
      pods: [p1],
      identities: [id1],
      bindings: [binding('b0', withIdentityName('id1'), withSelector('sel'))],
      assigned: [assigned(p1, id1, b1)],
    },
    expected: { ...none, update: [P1] },
  },
  {
    name: 'existing object nobody wants → remove',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1), assigned(p2, id1, b1)] },
    expected: { ...none, unchanged: [P1], remove: [P2] },
  },
  {
    name: 'nothing desired → every existing object is removed, whatever its status',
    seed: {
      identities: [id1],
      bindings: [b1],
      assigned: [assigned(p1, id1, b1, withStatus('Created')), assigned(p2, id1, b1, withStatus('Unassigned'))],
    },
    expected: { ...none, remove: [P1, P2] },
  },
  {
    name: 'terminating object that is still desired → remove, and no create while it exists',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1, terminating())] },
    expected: { ...none, remove: [P1] },
  },
  {
    name: 'terminating object that is no longer desired → remove',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p2, id1, b1, terminating())] },
    expected: { ...none, create: [P1], remove: [P2] },
  },
  {
    name: 'stale terminating object on another node still blocks re-creation of the same name',
    seed: { pods: [p1], identities: [id1], bindings: [b1], assigned: [assigned(p1, id1, b1, withAssignedNode('n0'), terminating())] },
    expected: { ...none, remove: [P1] },
  },
];

describe('diffAssignments', () => {
  it.each(cases)('$name', ({ seed, expected }) => {
    const snapshot = snapshotOf(seed);
    const { desired } = computeDesired(snapshot, false);
    expect(summary(diffAssignments(desired, snapshot.assigned))).toEqual(expected);
  });

  it('pairs an update with the existing object it replaces', () => {
    const existing = assigned(p1, id1, b1);
    const snapshot = snapshotOf({ pods: [p1], identities: [identity('id1', withResourceVersion('2'))], bindings: [b1], assigned: [existing] });
    const diff = diffAssignments(computeDesired(snapshot, false).desired, snapshot.assigned);
    expect(diff.update).toHaveLength(1);
    expect(diff.update[0]?.existing).toBe(existing);
    expect(diff.update[0]?.desired.aai.spec.azureIdentityRef.metadata.resourceVersion).toBe('2');
  });
});

describe('diffAssignments matches existing objects by name (as upstream)', () => {
  it('toggling --forceNamespaced keeps the existing object instead of delete + create', () => {
    const nsId = identity('id1', inNamespace('team'));
    const nsBinding = binding('b1', withIdentityName('id1'), withSelector('sel'), inNamespace('team'));
    const nsPod = pod('p1', withNode('n1'), withBindingLabel('sel'), inNamespace('team'));
    const inDefault = assigned(nsPod, nsId, nsBinding); // written without --forceNamespaced: namespace default
    expect(inDefault.metadata.namespace).toBe('default');
    const snapshot = snapshotOf({ pods: [nsPod], identities: [nsId], bindings: [nsBinding], assigned: [inDefault] });
    const diff = diffAssignments(computeDesired(snapshot, true).desired, snapshot.assigned);
    expect(diff.create).toEqual([]);
    expect(diff.remove).toEqual([]);
    expect(diff.unchanged.map((u) => u.existing)).toEqual([inDefault]);
  });

  it('the namespaced Behavior annotation added later keeps the object too', () => {
    const before = identity('id1', inNamespace('team'));
    const after = identity('id1', inNamespace('team'), namespacedBehavior(), withResourceVersion('2'));
    const teamBinding = binding('b1', withIdentityName('id1'), withSelector('sel'), inNamespace('team'));
    const teamPod = pod('p1', withNode('n1'), withBindingLabel('sel'), inNamespace('team'));
    const existing = assigned(teamPod, before, teamBinding);
    const snapshot = snapshotOf({ pods: [teamPod], identities: [after], bindings: [teamBinding], assigned: [existing] });
    const { desired } = computeDesired(snapshot, false);
    expect([...desired.keys()]).toEqual(['team/p1-team-id1']);
    const diff = diffAssignments(desired, snapshot.assigned);
    expect(diff.create).toEqual([]);
    expect(diff.remove).toEqual([]);
    expect(diff.update.map((u) => u.existing)).toEqual([existing]);
  });

  it('of two live objects with one name, the one in the desired namespace is kept and the other removed', () => {
    const inDefault = assigned(p1, id1, b1);
    const elsewhere = assigned(p1, id1, b1, assignedInNamespace('other'));
    const snapshot = snapshotOf({ pods: [p1], identities: [id1], bindings: [b1], assigned: [elsewhere, inDefault] });
    const diff = diffAssignments(computeDesired(snapshot, false).desired, snapshot.assigned);
    expect(diff.unchanged.map((u) => u.existing)).toEqual([inDefault]);
    expect(diff.remove).toEqual([elsewhere]);
  });
});
