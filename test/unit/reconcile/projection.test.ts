/**
 * The informer projections (transforms): the cached form of each watched kind holds exactly what the
 * planner, the readiness gate and the Events read, and planning on projected AzureAssignedIdentities
 * gives the same plan as planning on whole ones.
 */
import { describe, expect, it } from '@jest/globals';
import { parseAzureAssignedIdentity, parseNodeInfo, parsePodInfo } from '../../../controller/api/guards.js';
import { IDENTITY_READY_CONDITION, type AzureAssignedIdentity } from '../../../controller/api/types.js';
import { targetKey } from '../../../controller/cloud/provider.js';
import { cachedAssignedIdentity, cachedPodInfo } from '../../../controller/reconcile/cluster-state.js';
import { Interner } from '../../../controller/reconcile/interner.js';
import { plan, type Plan, type PlanConfig } from '../../../controller/reconcile/plan.js';
import type { TargetState } from '../../../controller/reconcile/targets.js';
import {
  assigned,
  binding,
  identity,
  node,
  pod,
  RG,
  snapshotOf,
  SUB,
  withAssignedNode,
  withBindingLabel,
  withIdentityName,
  withNode,
  withResourceVersion,
  withSelector,
  withStatus,
  withVmssProviderId,
} from '../../support/builders.js';

const managedFields = [
  { manager: 'mic', operation: 'Update', apiVersion: 'aadpodidentity.k8s.io/v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:pod': {} } } },
];

/** A Pod as the API server sends it, with everything the controller does not read. */
const rawPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    uid: 'uid-web-1',
    resourceVersion: '42',
    creationTimestamp: '2024-01-01T00:00:00Z',
    labels: { aadpodidbinding: 'sel-a', app: 'web' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-uid', controller: true }],
    managedFields,
  },
  spec: {
    nodeName: 'n1',
    containers: [{ name: 'web', image: 'nginx', env: [{ name: 'A', value: 'b' }], resources: { limits: { cpu: '1' } } }],
    volumes: [{ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
    readinessGates: [{ conditionType: IDENTITY_READY_CONDITION }],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
  },
  status: {
    phase: 'Running',
    podIP: '10.0.0.7',
    conditions: [
      { type: 'Ready', status: 'False' },
      { type: IDENTITY_READY_CONDITION, status: 'False', reason: 'IdentityPending', message: 'waiting', lastTransitionTime: '2024-01-01T00:00:01Z' },
    ],
    containerStatuses: [{ name: 'web', ready: false, restartCount: 0, image: 'nginx', imageID: 'sha256:abc' }],
  },
};

/** A Node with the bulky parts real nodes carry (images, conditions, addresses). */
const rawNode = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1', uid: 'uid-n1', labels: { 'kubernetes.io/os': 'linux' }, managedFields },
  spec: { providerID: `azure:///subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/0`, podCIDR: '10.0.0.0/24' },
  status: {
    images: Array.from({ length: 50 }, (_, i) => ({ names: [`registry/image-${i}@sha256:${'a'.repeat(64)}`], sizeBytes: 1000 })),
    conditions: [{ type: 'Ready', status: 'True' }],
    addresses: [{ type: 'InternalIP', address: '10.240.0.4' }],
  },
};

describe('informer projections', () => {
  it('keeps of a Pod exactly what the planner, the readiness gate and the Events read', () => {
    expect(parsePodInfo(structuredClone(rawPod))).toStrictEqual({
      name: 'web-1',
      namespace: 'shop',
      uid: 'uid-web-1',
      nodeName: 'n1',
      labels: { aadpodidbinding: 'sel-a', app: 'web' },
      phase: 'Running',
      creationTimestamp: '2024-01-01T00:00:00Z',
      readinessGates: [IDENTITY_READY_CONDITION],
      identityReady: { status: 'False', reason: 'IdentityPending' },
    });
  });

  it('keeps of a Node its name and providerID only', () => {
    expect(parseNodeInfo(structuredClone(rawNode))).toStrictEqual({ name: 'n1', providerID: rawNode.spec.providerID });
  });

  it('keeps of an AzureAssignedIdentity its metadata without managedFields and slim embedded references', () => {
    const idA = identity('id-a');
    const bA = binding('b-a', withIdentityName('id-a'), withSelector('sel-a'));
    const full = fatten(assigned(pod('p1', withNode('n1'), withBindingLabel('sel-a')), idA, bA));
    const cached = cachedAssignedIdentity(structuredClone(full));
    expect(cached.metadata).not.toHaveProperty('managedFields');
    expect(cached.metadata).toStrictEqual(Object.fromEntries(Object.entries(full.metadata).filter(([k]) => k !== 'managedFields')));
    expect(cached.spec.azureIdentityRef).toStrictEqual({
      metadata: { name: 'id-a', namespace: 'default', uid: idA.metadata.uid, resourceVersion: idA.metadata.resourceVersion },
      spec: { type: idA.spec.type, resourceID: idA.spec.resourceID, clientID: idA.spec.clientID },
    });
    expect(cached.spec.azureBindingRef).toStrictEqual({
      metadata: { name: 'b-a', namespace: 'default', uid: bA.metadata.uid, resourceVersion: bA.metadata.resourceVersion },
      spec: { azureIdentity: 'id-a', selector: 'sel-a' },
    });
    expect({ ...cached.spec, azureIdentityRef: undefined, azureBindingRef: undefined }).toStrictEqual({
      ...full.spec,
      azureIdentityRef: undefined,
      azureBindingRef: undefined,
    });
    expect(cached.status).toStrictEqual(full.status);
  });
});

/** Adds to an AAI what the API server stores but the planner never reads. */
function fatten(aai: AzureAssignedIdentity): AzureAssignedIdentity {
  const out = structuredClone(aai);
  out.metadata.managedFields = managedFields;
  out.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  out.metadata.generation = 3;
  const idRef = out.spec.azureIdentityRef;
  idRef.metadata = { ...idRef.metadata, managedFields, labels: { team: 'a' }, annotations: { note: 'x'.repeat(200) }, creationTimestamp: '2023-01-01T00:00:00Z' };
  idRef.spec = { ...idRef.spec, tenantID: 'tenant', adResourceID: 'res', adEndpoint: 'https://login', clientPassword: { name: 's', namespace: 'default' } };
  idRef.status = { availableReplicas: 1 };
  const bRef = out.spec.azureBindingRef;
  bRef.metadata = { ...bRef.metadata, managedFields, labels: { team: 'a' } };
  bRef.spec = { ...bRef.spec, weight: 1 };
  bRef.status = { availableReplicas: 1 };
  return out;
}

describe('sharing between cached objects (Interner)', () => {
  it('gives assignments of one identity and binding one frozen embedded reference and equal content', () => {
    const interner = new Interner();
    const idA = identity('id-a');
    const bA = binding('b-a', withIdentityName('id-a'), withSelector('sel-a'));
    const a1 = cachedAssignedIdentity(fatten(assigned(pod('p1', withNode('n1'), withBindingLabel('sel-a')), idA, bA)), interner);
    const a2 = cachedAssignedIdentity(fatten(assigned(pod('p2', withNode('n1'), withBindingLabel('sel-a')), idA, bA)), interner);
    expect(a2.spec.azureIdentityRef).toBe(a1.spec.azureIdentityRef);
    expect(a2.spec.azureBindingRef).toBe(a1.spec.azureBindingRef);
    expect(Object.isFrozen(a1.spec.azureIdentityRef.spec)).toBe(true);
    expect(() => {
      (a1.spec.azureIdentityRef.spec as { resourceID?: string }).resourceID = 'changed';
    }).toThrow(TypeError);
    // Same content as without sharing.
    expect(cachedAssignedIdentity(fatten(assigned(pod('p1', withNode('n1'), withBindingLabel('sel-a')), idA, bA)))).toStrictEqual(a1);
    // A changed identity (new resourceVersion) gets its own reference.
    const idA2 = { ...idA, metadata: { ...idA.metadata, resourceVersion: '99' } };
    const a3 = cachedAssignedIdentity(fatten(assigned(pod('p3', withNode('n1'), withBindingLabel('sel-a')), idA2, bA)), interner);
    expect(a3.spec.azureIdentityRef).not.toBe(a1.spec.azureIdentityRef);
    expect(a3.spec.azureIdentityRef.metadata.resourceVersion).toBe('99');
  });

  it('keeps pods equal to their unshared projection', () => {
    const interner = new Interner();
    expect(cachedPodInfo(structuredClone(rawPod), interner)).toStrictEqual(parsePodInfo(structuredClone(rawPod)));
  });

  it('starts over when the table is full', () => {
    const interner = new Interner(3);
    for (const s of ['a', 'b', 'c', 'd']) interner.string(s);
    expect(interner.size).toBe(1);
  });
});

describe('planning on projected AzureAssignedIdentities', () => {
  const nodes = [node('n1', withVmssProviderId(SUB, RG, 'ss1', '0')), node('n2', withVmssProviderId(SUB, RG, 'ss1', '1')), node('n3', withVmssProviderId(SUB, RG, 'ss2', '0'))];
  const idA = identity('id-a');
  const idB = identity('id-b');
  const bA = binding('b-a', withIdentityName('id-a'), withSelector('sel-a'));
  const bB = binding('b-b', withIdentityName('id-b'), withSelector('sel-b'));
  const p1 = pod('p1', withNode('n1'), withBindingLabel('sel-a'));
  const p2 = pod('p2', withNode('n2'), withBindingLabel('sel-a'));
  const p3 = pod('p3', withNode('n3'), withBindingLabel('sel-b'));
  const gone = pod('gone', withNode('n1'), withBindingLabel('sel-a'));
  const p4 = pod('p4', withNode('n3'), withBindingLabel('sel-a'));
  const existing = [
    assigned(p1, idA, bA), // in place, Assigned
    assigned(p2, idA, bA, withStatus('Created')), // waiting for its identity
    assigned(p3, idB, { ...bB, metadata: { ...bB.metadata, resourceVersion: 'old' } }), // binding changed: update
    assigned(gone, idA, bA), // pod gone: remove
    assigned(p4, idA, bA, withAssignedNode('n1'), withResourceVersion('11')), // pod moved: update onto n3
  ];
  const SS1 = targetKey({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'ss1' });
  const SS2 = targetKey({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'ss2' });
  const state = (observed: string[]): TargetState => ({
    observed: new Set(observed),
    owned: new Set(observed),
    adopted: true,
    quarantined: new Set(),
    undesiredSince: new Map(),
  });
  const A = idA.spec.resourceID!.toLowerCase();
  const B = idB.spec.resourceID!.toLowerCase();
  const states = new Map([
    [SS1, state([A])],
    [SS2, state([B])],
  ]);
  const config: PlanConfig = { forceNamespaced: false, immutableClientIds: new Set(), defaults: { subscriptionId: SUB, resourceGroup: RG }, unassignGraceMs: 0 };
  const seed = { pods: [p1, p2, p3, p4], nodes, identities: [idA, idB], bindings: [bA, bB] };

  /** The plan with every AAI replaced by its key and `managedFields` dropped from write bodies. */
  function comparable(p: Plan): unknown {
    const key = (a: AzureAssignedIdentity): string => `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
    const body = (a: AzureAssignedIdentity): unknown => {
      const { managedFields: _m, ...metadata } = a.metadata;
      return { ...a, metadata };
    };
    return {
      desired: p.desired,
      targets: p.targets,
      protectedIds: p.protectedIds,
      problems: p.problems,
      create: p.kube.create.map((w) => ({ body: body(w.body), desired: w.desired })),
      update: p.kube.update.map((w) => ({ body: body(w.body), desired: w.desired, existing: w.existing && key(w.existing) })),
      assign: p.kube.assign.map((a) => ({ aai: key(a.aai), desired: a.desired })),
      remove: p.kube.remove.map((r) => ({ aai: key(r.aai), nodeGone: r.nodeGone })),
      pendingRemoval: p.kube.pendingRemoval.map(key),
      pendingAssignment: p.kube.pendingAssignment.map((x) => ({ aai: key(x.aai), desired: x.desired, targetKey: x.targetKey })),
    };
  }

  it('gives the same plan as whole objects', () => {
    const whole = existing.map((a) => parseAzureAssignedIdentity(fatten(a)));
    const projected = existing.map((a) => cachedAssignedIdentity(fatten(a)));
    const onWhole = plan(snapshotOf({ ...seed, assigned: whole }), states, config);
    const onProjected = plan(snapshotOf({ ...seed, assigned: projected }), states, config);
    const interner = new Interner();
    const shared = existing.map((a) => cachedAssignedIdentity(fatten(a), interner));
    const onShared = plan(snapshotOf({ ...seed, assigned: shared }), states, config);
    // The scenario exercises every kind of Kubernetes work.
    expect(onWhole.kube.update.length).toBeGreaterThanOrEqual(2);
    expect(onWhole.kube.remove.length + onWhole.kube.pendingRemoval.length).toBe(1);
    expect(onWhole.kube.pendingAssignment.length + onWhole.kube.assign.length).toBeGreaterThanOrEqual(1);
    expect(comparable(onProjected)).toStrictEqual(comparable(onWhole));
    expect(comparable(onShared)).toStrictEqual(comparable(onWhole));
  });
});
