/**
 * plan(): Kubernetes writes and per-target desired sets of one pass (upstream-mic.md §2.3–2.7, with
 * this project's ownership-based removal).
 */
import { describe, expect, it } from '@jest/globals';
import { NODENAME_LABEL, type AzureAssignedIdentity } from '../../../controller/api/types.js';
import { targetKey, type Target } from '../../../controller/cloud/provider.js';
import { plan, parseTargetKey, presence, type Plan, type PlanConfig } from '../../../controller/reconcile/plan.js';
import type { TargetState } from '../../../controller/reconcile/targets.js';
import {
  assigned,
  binding,
  canonicalUaiId,
  identity,
  node,
  pod,
  RG,
  servicePrincipal,
  snapshotOf,
  SUB,
  terminating,
  withBindingLabel,
  withClientId,
  withIdentityName,
  withNode,
  withProviderId,
  withResourceVersion,
  withSelector,
  withStatus,
  withVmProviderId,
  withVmssProviderId,
  type SnapshotSeed,
} from '../../support/builders.js';

// Nodes: n1, n2 in scale set ss1; n3 in ss2; vm-node is a standalone VM; bare has no providerID.
const nodes = [
  node('n1', withVmssProviderId(SUB, RG, 'ss1', '0')),
  node('n2', withVmssProviderId(SUB, RG, 'ss1', '1')),
  node('n3', withVmssProviderId(SUB, RG, 'ss2', '0')),
  node('vm-node', withVmProviderId(SUB, RG, 'vm-1')),
  node('bare'),
  node('virtual', withProviderId('virtual-kubelet://virtual')),
];
const SS1 = targetKey({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'ss1' });
const SS2 = targetKey({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'ss2' });
const VM1 = targetKey({ kind: 'vm', subscriptionId: SUB, resourceGroup: RG, name: 'vm-1' });
const BARE = targetKey({ kind: 'vm', subscriptionId: SUB, resourceGroup: RG, name: 'bare' });

const A = canonicalUaiId('id-a');
const B = canonicalUaiId('id-b');

const idA = identity('id-a');
const idB = identity('id-b');
const bA = binding('b-a', withIdentityName('id-a'), withSelector('sel-a'));
const bB = binding('b-b', withIdentityName('id-b'), withSelector('sel-b'));
const podA = (name: string, nodeName: string) => pod(name, withNode(nodeName), withBindingLabel('sel-a'));
const podB = (name: string, nodeName: string) => pod(name, withNode(nodeName), withBindingLabel('sel-b'));
const p1 = podA('p1', 'n1');
const p2 = podA('p2', 'n2');

const aaiKey = (podName: string, identityName = 'id-a'): string => `default/${podName}-default-${identityName}`;

const config: PlanConfig = {
  forceNamespaced: false,
  immutableClientIds: new Set(),
  defaults: { subscriptionId: SUB, resourceGroup: RG },
  unassignGraceMs: 0,
};

interface StateSeed {
  observed?: string[];
  owned?: string[];
  quarantined?: string[];
  target?: Target;
  /** false: no ownership record yet (first contact pending). */
  adopted?: boolean;
  /** When ARM last confirmed `observed`. */
  confirmedAt?: number;
  /** Identities a write in flight removes. */
  removing?: string[];
}

function statesOf(seed: Record<string, StateSeed>): Map<string, TargetState> {
  return new Map(
    Object.entries(seed).map(([key, s]) => [
      key,
      {
        target: s.target,
        adopted: s.adopted,
        observed: s.observed ? new Set(s.observed) : undefined,
        confirmedAt: s.confirmedAt,
        removing: s.removing ? new Set(s.removing) : undefined,
        owned: new Set(s.owned ?? []),
        quarantined: new Set(s.quarantined ?? []),
        undesiredSince: new Map(),
      },
    ]),
  );
}

const keyOf = (a: AzureAssignedIdentity): string => `${a.metadata.namespace ?? ''}/${a.metadata.name}`;

/** A readable digest of a plan. */
interface PlanSummary {
  create: string[];
  update: string[];
  assign: string[];
  remove: string[];
  pendingRemoval: string[];
  pendingAssignment: string[];
  /** `<aai> <why>` of Assigned objects set back to Created. */
  demote: string[];
  /** Targets asked for a fresh read before a new assignment is reported. */
  confirm: string[];
  targets: Record<string, { desired: string[]; waiting: number; adoptable: string[] }>;
  problems: string[];
  protectedIds: string[];
}

function summarize(p: Plan): PlanSummary {
  const targets: PlanSummary['targets'] = {};
  for (const [key, tp] of p.targets) targets[key] = { desired: [...tp.desired].sort(), waiting: tp.waiting, adoptable: [...tp.adoptable].sort() };
  return {
    create: p.kube.create.map((w) => `${keyOf(w.body)} ${w.body.status?.status ?? ''}`).sort(),
    update: p.kube.update.map((w) => `${keyOf(w.body)} ${w.body.status?.status ?? ''}`).sort(),
    assign: p.kube.assign.map((a) => keyOf(a.aai)).sort(),
    remove: p.kube.remove.map((r) => `${keyOf(r.aai)}${r.nodeGone ? ' nodeGone' : ''}`).sort(),
    pendingRemoval: p.kube.pendingRemoval.map(keyOf).sort(),
    pendingAssignment: p.kube.pendingAssignment.map((w) => keyOf(w.aai)).sort(),
    demote: p.kube.demote.map((w) => `${keyOf(w.aai)} ${w.why}`).sort(),
    confirm: [...p.targets.values()].filter((tp) => tp.confirm).map((tp) => tp.key).sort(),
    targets,
    problems: p.problems.map((x) => `${x.reason} ${x.object.kind} ${x.object.namespace ?? ''}/${x.object.name}`).sort(),
    protectedIds: [...p.protectedIds].sort(),
  };
}

const noKubeWork = { create: [], update: [], assign: [], remove: [], pendingRemoval: [], pendingAssignment: [] };

interface PlanCase {
  name: string;
  seed: SnapshotSeed;
  states?: Record<string, StateSeed>;
  config?: Partial<PlanConfig>;
  /** Planner clock (freshness of confirmations); omitted: freshness is not checked. */
  now?: number;
  /** AAIs (`namespace/name`) this controller wrote in this term. */
  writtenThisTerm?: string[];
  expected: Partial<PlanSummary>;
}

const cases: PlanCase[] = [
  // ----- creating and assigning
  {
    name: 'new AAI is created Created when its identity is not observed on the target',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA] },
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Created`], targets: { [SS1]: { desired: [A], waiting: 1, adoptable: [] } } },
  },
  {
    name: 'new AAI is created Assigned when the identity is already on the target',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA] },
    states: { [SS1]: { observed: [A] } },
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Assigned`], targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [] } } },
  },
  {
    name: 'existing Created AAI is assigned once its identity is observed',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    states: { [SS1]: { observed: [A] } },
    expected: { ...noKubeWork, assign: [aaiKey('p1')] },
  },
  {
    name: 'existing Created AAI waits while its identity is not observed',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    states: { [SS1]: { observed: [] } },
    expected: { ...noKubeWork, pendingAssignment: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 1, adoptable: [A] } } },
  },
  {
    name: 'existing Assigned matching AAI needs nothing and is adoptable',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    expected: { ...noKubeWork, targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [A] } } },
  },
  {
    name: 'pre-1.5 AAI without status counts as Assigned',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus(undefined))] },
    expected: { ...noKubeWork, targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [A] } } },
  },
  {
    name: 'existing Unassigned AAI that is desired again is re-assigned when present',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Unassigned'))] },
    states: { [SS1]: { observed: [A] } },
    expected: { ...noKubeWork, assign: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [] } } },
  },
  {
    name: 'update whose identity is not yet observed goes back to Created',
    seed: { pods: [p1], nodes, identities: [identity('id-a', withResourceVersion('2'))], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    expected: { ...noKubeWork, update: [`${aaiKey('p1')} Created`], targets: { [SS1]: { desired: [A], waiting: 1, adoptable: [A] } } },
  },
  {
    name: 'update whose identity is observed stays Assigned',
    seed: { pods: [p1], nodes, identities: [identity('id-a', withResourceVersion('2'))], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A] } },
    expected: { ...noKubeWork, update: [`${aaiKey('p1')} Assigned`] },
  },
  {
    name: 'service-principal identity: AAI created Assigned at once, no identity on the target',
    seed: { pods: [p1], nodes, identities: [identity('id-a', servicePrincipal())], bindings: [bA] },
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Assigned`], targets: { [SS1]: { desired: [], waiting: 0, adoptable: [] } } },
  },

  // ----- targets
  {
    name: 'two nodes of one scale set share one target with the union of identities',
    seed: { pods: [podA('p1', 'n1'), podB('p2', 'n2')], nodes, identities: [idA, idB], bindings: [bA, bB] },
    expected: { targets: { [SS1]: { desired: [A, B], waiting: 2, adoptable: [] } } },
  },
  {
    name: 'nodes of different scale sets get separate targets',
    seed: { pods: [podA('p1', 'n1'), podA('p3', 'n3')], nodes, identities: [idA], bindings: [bA] },
    expected: { targets: { [SS1]: { desired: [A], waiting: 1, adoptable: [] }, [SS2]: { desired: [A], waiting: 1, adoptable: [] } } },
  },
  {
    name: 'VM node is its own target, named as in its providerID',
    seed: { pods: [podA('p1', 'vm-node')], nodes, identities: [idA], bindings: [bA] },
    expected: { targets: { [VM1]: { desired: [A], waiting: 1, adoptable: [] } } },
  },
  {
    name: 'node without providerID is a VM named after the node in the default subscription/RG',
    seed: { pods: [podA('p1', 'bare')], nodes, identities: [idA], bindings: [bA] },
    expected: { targets: { [BARE]: { desired: [A], waiting: 1, adoptable: [] } } },
  },
  {
    name: 'pod on a node missing from the cache: no AAI, NodeNotFound problem',
    seed: { pods: [podA('p1', 'gone')], nodes, identities: [idA], bindings: [bA] },
    expected: { ...noKubeWork, targets: {}, problems: ['NodeNotFound Pod default/p1'] },
  },
  {
    name: 'service-principal identity on a non-Azure node (virtual kubelet): AAI created Assigned, no problem (as upstream)',
    seed: { pods: [podA('p1', 'virtual')], nodes, identities: [identity('id-a', servicePrincipal())], bindings: [bA] },
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Assigned`], targets: {}, problems: [] },
  },
  {
    name: 'pod on a non-Azure node (virtual kubelet): no AAI, UnsupportedNode problem',
    seed: { pods: [podA('p1', 'virtual')], nodes, identities: [idA], bindings: [bA] },
    expected: { ...noKubeWork, targets: {}, problems: ['UnsupportedNode Pod default/p1'] },
  },
  {
    name: 'pod whose node vanished keeps its existing AAI untouched',
    seed: { pods: [podA('p1', 'gone')], nodes, identities: [idA], bindings: [bA], assigned: [assigned(podA('p1', 'gone'), idA, bA)] },
    expected: { ...noKubeWork, problems: ['NodeNotFound Pod default/p1'] },
  },

  // ----- removal
  {
    name: 'undesired Assigned AAI whose identity is owned and present → removed first; the target keeps the identity until the AAI is gone',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [A] } } },
  },
  {
    name: 'owned identity on a target not yet observed, undesired Assigned AAI → the AAI goes first, the identity stays',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [A] } } },
  },
  {
    name: 'identity still used by a pod on another node of the same scale set → removed at once, stays desired',
    seed: { pods: [p2], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA), assigned(p2, idA, bA)] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [A] } } },
  },
  {
    name: 'immutable client ID (matched case-insensitively) → removed at once, never pending',
    seed: { nodes, identities: [identity('id-a', withClientId('AbC-123'))], bindings: [bA], assigned: [assigned(p1, identity('id-a', withClientId('AbC-123')), bA)] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    config: { immutableClientIds: new Set(['abc-123']) },
    expected: { ...noKubeWork, remove: [aaiKey('p1')], protectedIds: [A] },
  },
  {
    name: 'immutable identity known only from the AAI (AzureIdentity deleted) → removed at once',
    seed: { nodes, assigned: [assigned(p1, identity('id-a', withClientId('ABC-123')), bA)] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    config: { immutableClientIds: new Set(['abc-123']) },
    expected: { ...noKubeWork, remove: [aaiKey('p1')], protectedIds: [A] },
  },
  {
    name: 'identity not owned by this controller → AAI removed at once (never waits on ARM)',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], owned: [] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'owned identity already gone from the target → AAI removed at once',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [B], owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'with an unassign grace period the AAI goes at once (the identity stays for the grace period)',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    config: { unassignGraceMs: 60_000 },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'service-principal AAI nobody wants → removed at once',
    seed: { nodes, assigned: [assigned(p1, identity('id-a', servicePrincipal()), bA)] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'node gone → AAI removed with nodeGone',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(podA('p1', 'gone'), idA, bA)] },
    expected: { ...noKubeWork, remove: [`${aaiKey('p1')} nodeGone`] },
  },
  {
    name: 'terminating AAI that is still desired → released now (no create until it is gone)',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, terminating())] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 0, adoptable: [A] } } },
  },
  {
    name: 'terminating undesired Assigned AAI whose identity is owned and present → removed first, the identity stays',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, terminating())] },
    states: { [SS1]: { observed: [A], owned: [A] } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'Created AAIs are adoptable too (a previous controller may have added the identity before marking them)',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    expected: { ...noKubeWork, pendingRemoval: [aaiKey('p1')], targets: { [SS1]: { desired: [], waiting: 1, adoptable: [A] } } },
  },

  // ----- adoption: a target without an ownership record keeps Assigned AAIs as evidence
  {
    name: 'target not yet adopted: undesired Assigned AAI waits for first contact (pending removal)',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], adopted: false } },
    expected: { ...noKubeWork, pendingRemoval: [aaiKey('p1')], targets: { [SS1]: { desired: [], waiting: 1, adoptable: [A] } } },
  },
  {
    name: 'target the worker never saw counts as not adopted',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus(undefined))] },
    expected: { ...noKubeWork, pendingRemoval: [aaiKey('p1')], targets: { [SS1]: { desired: [], waiting: 1, adoptable: [A] } } },
  },
  {
    name: 'a Created AAI this controller wrote in this term is no evidence: not adoptable, goes at once',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    states: { [SS1]: { observed: [A], adopted: false } },
    writtenThisTerm: [aaiKey('p1')],
    expected: { ...noKubeWork, remove: [aaiKey('p1')], targets: { [SS1]: { desired: [], waiting: 0, adoptable: [] } } },
  },
  {
    name: 'target not yet adopted: undesired Created AAI waits for first contact too',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    states: { [SS1]: { observed: [A], adopted: false } },
    expected: { ...noKubeWork, pendingRemoval: [aaiKey('p1')] },
  },
  {
    name: 'target adopted: undesired Created AAI whose identity is not owned goes at once',
    seed: { nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    states: { [SS1]: { observed: [A], adopted: true } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'target not yet adopted: identity still desired on the target → AAI goes at once',
    seed: { pods: [p2], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA), assigned(p2, idA, bA)] },
    states: { [SS1]: { observed: [A], adopted: false } },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },
  {
    name: 'target not yet adopted: immutable identity → AAI goes at once',
    seed: { nodes, identities: [identity('id-a', withClientId('abc'))], bindings: [bA], assigned: [assigned(p1, identity('id-a', withClientId('abc')), bA)] },
    states: { [SS1]: { observed: [A], adopted: false } },
    config: { immutableClientIds: new Set(['abc']) },
    expected: { ...noKubeWork, remove: [aaiKey('p1')] },
  },

  // ----- Assigned means present (issue 12)
  {
    name: 'Assigned AAI whose identity a read shows gone is demoted to Created (missing)',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [], adopted: true } },
    expected: { ...noKubeWork, demote: [`${aaiKey('p1')} missing`], pendingAssignment: [aaiKey('p1')], targets: { [SS1]: { desired: [A], waiting: 1, adoptable: [A] } } },
  },
  {
    name: 'Assigned AAI whose identity a write in flight removes is demoted (removing)',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], removing: [A], adopted: true } },
    expected: { ...noKubeWork, demote: [`${aaiKey('p1')} removing`], pendingAssignment: [aaiKey('p1')] },
  },
  {
    name: 'Assigned AAI on a target not read yet (unknown) is left alone',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { adopted: true } },
    expected: { ...noKubeWork, demote: [] },
  },
  {
    name: 'a pod arriving while its identity is being removed is created Created, not Assigned (web-0)',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA] },
    states: { [SS1]: { observed: [A], removing: [A], owned: [A], adopted: true } },
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Created`], targets: { [SS1]: { desired: [A], waiting: 1, adoptable: [] } } },
  },
  {
    name: 'an existing Created AAI stays Created while its identity is being removed',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA, withStatus('Created'))] },
    states: { [SS1]: { observed: [A], removing: [A], adopted: true } },
    expected: { ...noKubeWork, pendingAssignment: [aaiKey('p1')] },
  },
  {
    name: 'a new assignment on a target confirmed too long ago waits for a fresh read',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA] },
    states: { [SS1]: { observed: [A], confirmedAt: 0, adopted: true } },
    config: { confirmMaxAgeMs: 180_000 },
    now: 180_000,
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Created`], confirm: [SS1] },
  },
  {
    name: 'a new assignment on a recently confirmed target is Assigned at once',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA] },
    states: { [SS1]: { observed: [A], confirmedAt: 10_000, adopted: true } },
    config: { confirmMaxAgeMs: 180_000 },
    now: 189_999,
    expected: { ...noKubeWork, create: [`${aaiKey('p1')} Assigned`], confirm: [] },
  },
  {
    name: 'an existing Assigned AAI is not demoted just because the confirmation is old',
    seed: { pods: [p1], nodes, identities: [idA], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], confirmedAt: 0, adopted: true } },
    config: { confirmMaxAgeMs: 180_000 },
    now: 10_000_000,
    expected: { ...noKubeWork, demote: [], confirm: [] },
  },
  {
    name: 'an update of an Assigned AAI on a stale target stays Assigned while ARM showed it',
    seed: { pods: [p1], nodes, identities: [identity('id-a', withResourceVersion('2'))], bindings: [bA], assigned: [assigned(p1, idA, bA)] },
    states: { [SS1]: { observed: [A], confirmedAt: 0, adopted: true } },
    config: { confirmMaxAgeMs: 180_000 },
    now: 10_000_000,
    expected: { ...noKubeWork, update: [`${aaiKey('p1')} Assigned`], confirm: [] },
  },

  // ----- targets known only from ownership
  {
    name: 'target known only from ownership records still gets a plan (to remove what nobody needs)',
    seed: { nodes },
    states: { [SS2]: { owned: [A], target: { kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'ss2' } } },
    expected: { ...noKubeWork, targets: { [SS2]: { desired: [], waiting: 0, adoptable: [] } } },
  },
  {
    name: 'known target without ownership and without pods gets no plan',
    seed: { nodes },
    states: { [SS2]: { observed: [A] } },
    expected: { ...noKubeWork, targets: {} },
  },
];

describe('plan', () => {
  it.each(cases)('$name', ({ seed, states, config: overrides, now, writtenThisTerm, expected }) => {
    const p = plan(snapshotOf(seed), statesOf(states ?? {}), { ...config, ...overrides }, { now, writtenThisTerm: new Set(writtenThisTerm ?? []) });
    // Compare exactly, but only the parts the case states.
    const summary = summarize(p);
    const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, summary[k as keyof PlanSummary]]));
    expect(picked).toEqual(expected);
  });

  it('an update moves the nodename label with the pod and keeps the existing metadata', () => {
    const existing = assigned(p1, idA, bA);
    const moved = podA('p1', 'n3');
    const adopted = new Map([[SS1, { owned: new Set<string>(), adopted: true, quarantined: new Set<string>(), undesiredSince: new Map<string, number>() }]]);
    const held = plan(snapshotOf({ pods: [moved], nodes, identities: [idA], bindings: [bA], assigned: [existing] }), new Map(), config);
    expect(held.kube.update).toHaveLength(0); // waits until the old scale set was adopted
    const p = plan(snapshotOf({ pods: [moved], nodes, identities: [idA], bindings: [bA], assigned: [existing] }), adopted, config);
    expect(p.kube.update).toHaveLength(1);
    const body = p.kube.update[0]!.body;
    expect(body.metadata.labels?.[NODENAME_LABEL]).toBe('n3');
    expect(body.spec.nodename).toBe('n3');
    expect(body.metadata.resourceVersion).toBe(existing.metadata.resourceVersion);
    expect(body.metadata.finalizers).toEqual(existing.metadata.finalizers);
    expect(body.metadata.uid).toBe(existing.metadata.uid);
    // The old scale set keeps a (now empty) plan so the worker can remove what this controller added.
    expect(summarize(p).targets).toEqual({
      [SS1]: { desired: [], waiting: 0, adoptable: [A] },
      [SS2]: { desired: [A], waiting: 1, adoptable: [] },
    });
  });

  it('a pod on a missing node is reported once per node', () => {
    const p = plan(snapshotOf({ pods: [podA('p1', 'gone'), podB('p1', 'gone')], nodes, identities: [idA, idB], bindings: [bA, bB] }), new Map(), config);
    expect(summarize(p).problems).toEqual(['NodeNotFound Pod default/p1']);
  });

  it('an ownership-only target without a stored Target is rebuilt from its key', () => {
    const p = plan(snapshotOf({ nodes }), statesOf({ [SS2]: { owned: [A] } }), config);
    expect(p.targets.get(SS2)?.target).toEqual(parseTargetKey(SS2));
    expect(targetKey(p.targets.get(SS2)!.target)).toBe(SS2);
  });

  it('one write per assignment: a Created write names its target (re-checked before sending), an Assigned one needs no second write', () => {
    const seed = { pods: [p1, podA('p3', 'n3')], nodes, identities: [idA], bindings: [bA] };
    const p = plan(snapshotOf(seed), statesOf({ [SS1]: { observed: [A], confirmedAt: 0, adopted: true }, [SS2]: { observed: [], confirmedAt: 0, adopted: true } }), { ...config, confirmMaxAgeMs: 1_000 }, { now: 500 });
    const byPod = new Map(p.kube.create.map((w) => [w.desired.pod.name, w]));
    expect(byPod.get('p1')?.body.status?.status).toBe('Assigned');
    expect(byPod.get('p1')?.targetKey).toBeUndefined();
    expect(byPod.get('p3')?.body.status?.status).toBe('Created');
    expect(byPod.get('p3')?.targetKey).toBe(SS2);
    expect(p.kube.assign).toEqual([]);
  });

  it('presence: the readiness rule (observed, not being removed, confirmed within the bound)', () => {
    const st = { observed: new Set([A]), confirmedAt: 1_000, removing: new Set<string>() };
    expect(presence(st, A, 1_500, 1_000)).toBe('present');
    expect(presence(st, A, 2_000, 1_000)).toBe('stale');
    expect(presence(st, A, undefined, 1_000)).toBe('present');
    expect(presence(st, B, 1_500, 1_000)).toBe('absent');
    expect(presence({ ...st, removing: new Set([A]) }, A, 1_500, 1_000)).toBe('absent');
    expect(presence(undefined, A, 1_500, 1_000)).toBe('absent');
    expect(presence({ observed: new Set([A]) }, A, 1_500, 1_000)).toBe('stale'); // never confirmed at a known time
  });

  it('parseTargetKey inverts targetKey and rejects garbage', () => {
    expect(parseTargetKey('vmss:sub/rg/name')).toEqual({ kind: 'vmss', subscriptionId: 'sub', resourceGroup: 'rg', name: 'name' });
    expect(() => parseTargetKey('disk:sub/rg/name')).toThrow();
  });
});
